"""The SQLite writer child of meterd-api: started with the first POST, replaced when it
dies, deaf to the signals meant for its parent, gone with the server."""

import os
import signal
import time

import psutil

from tests import servers
from tests.functional.hardening import conftest as hc


def _writers(server):
    return [p for p in psutil.Process(server.proc.pid).children()
            if any(part.endswith('writer_process.py') for part in p.cmdline())]


def _post(server, resource):
    return server.request('POST', '/v2/meters/cpu', json=[hc.sample('cpu', resource)],
                          headers=hc.ADMIN)


def _resources(server):
    resp = server.request('GET', '/v2/meters/cpu', headers=hc.ADMIN)
    assert resp.status_code == 200
    return sorted(s['resource_id'] for s in resp.json())


def test_the_writer_starts_with_the_first_post_and_ignores_group_signals(server_factory):
    server = server_factory()
    assert _writers(server) == []
    assert _post(server, 'r1').status_code == 201
    (writer,) = _writers(server)
    writer.send_signal(signal.SIGINT)
    writer.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    assert _post(server, 'r2').status_code == 201
    assert [p.pid for p in _writers(server)] == [writer.pid]
    assert _resources(server) == ['r1', 'r2']


def test_a_dead_writer_is_replaced_and_nothing_hangs(server_factory):
    server = server_factory()
    assert _post(server, 'r1').status_code == 201
    (first,) = _writers(server)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    # The POST racing the death may be answered 503; the next starts a new writer.
    statuses = [_post(server, 'r2').status_code]
    if statuses[0] != 201:
        statuses.append(_post(server, 'r2').status_code)
    assert statuses[-1] == 201 and set(statuses) <= {201, 503}
    (second,) = _writers(server)
    assert second.pid != first.pid
    assert _resources(server) == ['r1', 'r2']
    assert 'SQLite sample writer (pid %d) exited' % first.pid in server.log_text()


def test_the_writer_ends_with_the_server(server_factory):
    server = server_factory()
    assert _post(server, 'r1').status_code == 201
    (writer,) = _writers(server)
    assert server.stop() == 0
    servers.wait_until(lambda: not writer.is_running() or writer.status() == 'zombie',
                       'the writer to exit')
