"""Slow and many clients: trickling headers, idle connections and long queries starve no one."""

import json
import statistics
import threading
import time

from tests.functional.hardening import conftest as hc

SLOW_CONNECTIONS = 30


def _latencies(server, count=20, path='/v2/capabilities'):
    result = []
    for _ in range(count):
        started = time.monotonic()
        resp = server.request('GET', path, headers=hc.ADMIN, timeout=30)
        result.append(time.monotonic() - started)
        assert resp.status_code == 200
    return result


def test_clients_trickling_headers_do_not_slow_the_others(server):
    baseline = statistics.median(_latencies(server))
    request = (f'GET /v2/meters HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n'
               'X-Roles: admin\r\nX-Project-Id: p\r\n\r\n').encode()
    sockets = [server.connect() for _ in range(SLOW_CONNECTIONS)]
    stop = threading.Event()

    def trickle():
        # One byte a second on every connection, for at most len(request) seconds.
        for i in range(len(request) - 4):
            if stop.wait(1.0):
                return
            for sock in sockets:
                try:
                    sock.send(request[i:i + 1])
                except OSError:
                    pass

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        time.sleep(1.5)
        loaded = _latencies(server)
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in sockets:
            sock.close()
    assert statistics.median(loaded) < max(10 * baseline, baseline + 0.25)
    assert max(loaded) < max(50 * baseline, baseline + 1.0)


def test_idle_connections_are_closed_after_client_socket_timeout(server_factory):
    server = server_factory(api={'client_socket_timeout': 2})
    with server.connect(timeout=15) as sock:
        started = time.monotonic()
        assert sock.recv(1024) == b''
        waited = time.monotonic() - started
    assert 1.0 < waited < 15
    with server.connect(timeout=15) as sock:
        # Half a request, then silence: closed too, without an answer.
        sock.send(b'GET / HTTP/1.1\r\nHost: x\r\n')
        started = time.monotonic()
        assert sock.recv(1024) == b''
        assert time.monotonic() - started < 15
    assert server.request('GET', '/healthcheck').status_code == 200


def test_a_long_statistics_query_does_not_freeze_other_requests(server):
    batch_size, batches = 5000, 12
    for b in range(batches):
        body = [hc.sample('busy', f'r{i % 500}', volume=float(i), project_id=f'p{i % 7}',
                          timestamp=f'2024-01-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:'
                                    f'{i % 60:02d}', resource_metadata={'i': i % 100})
                for i in range(b * batch_size, (b + 1) * batch_size)]
        resp = server.request('POST', '/v2/meters/busy', data=json.dumps(body), headers=dict(
            hc.ADMIN, **{'Content-Type': 'application/json'}), timeout=120)
        assert resp.status_code == 201
    stats_path = ('/v2/meters/busy/statistics?groupby=resource_id&groupby=project_id'
                  '&groupby=resource_metadata.i&period=60&aggregate.func=stddev'
                  '&aggregate.func=cardinality&aggregate.param=&aggregate.param=user_id')
    started = time.monotonic()
    assert server.request('GET', stats_path, headers=hc.ADMIN, timeout=120).status_code == 200
    alone = time.monotonic() - started
    baseline = statistics.median(_latencies(server, 10))

    pings, done = [], threading.Event()

    def long_query():
        server_session = hc.requests.Session()
        server_session.get(server.base + stats_path, headers=hc.ADMIN, timeout=120)
        done.set()

    thread = threading.Thread(target=long_query)
    thread.start()
    time.sleep(min(0.2, alone / 4))
    while not done.is_set() and len(pings) < 200:
        pings += _latencies(server, 1)
    thread.join(timeout=120)
    # Pings during the query must not each wait for the whole query.
    assert len(pings) >= 3, (alone, pings)
    assert max(pings) < max(alone / 2, 20 * baseline), (alone, baseline, max(pings))
