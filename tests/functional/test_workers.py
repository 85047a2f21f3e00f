"""Several worker processes share one SQLite store: every acknowledged sample is read back once."""

import concurrent.futures
import json
import urllib.request

from tests.functional import test_server

start = test_server.start


def _post(port, i):
    body = json.dumps([{'counter_name': 'w', 'counter_type': 'gauge', 'counter_unit': 'x',
                        'counter_volume': i, 'resource_id': f'r{i % 7}',
                        'project_id': 'p', 'user_id': 'u'}]).encode()
    req = urllib.request.Request(
        f'http://127.0.0.1:{port}/v2/meters/w', data=body, method='POST',
        headers={'Content-Type': 'application/json', 'X-Roles': 'admin',
                 'X-Project-Id': 'p', 'X-User-Id': 'u', 'Connection': 'close'})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.load(resp)[0]['message_id']


def test_two_workers_write_and_read_the_same_store(start):
    server = start(workers=2)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: _post(server.port, i), range(80)))
    assert {status for status, _ in results} == {201}
    acknowledged = sorted(message_id for _, message_id in results)
    req = urllib.request.Request(
        f'http://127.0.0.1:{server.port}/v2/samples?limit=1000',
        headers={'X-Roles': 'admin', 'X-Project-Id': 'p', 'X-User-Id': 'u'})
    with urllib.request.urlopen(req, timeout=30) as resp:
        stored = sorted(s['id'] for s in json.load(resp))
    assert stored == acknowledged
    assert server.stop() == 0
