"""meterd-api as an operator runs it: a subprocess on a free port, spoken to over HTTP.

The config holds only what the conformance harness writes (spec §3.4). A
request is held "in flight" without any test hook: it is sent with
``Expect: 100-continue`` and its body is withheld until the server asks for it
(the application is then running), SIGTERM is sent, and only then the body.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from meterd.api import server as api_server
from tests import conftest
from tests import servers

BIN = servers.BIN
WAIT = servers.WAIT
_wait_until = servers.wait_until


class Running(servers.MeterdServer):
    """A meterd-api in a session of its own, so that its workers can be killed with it."""

    def __init__(self, directory, port=None, **extra_api):
        super().__init__(directory, {'api': extra_api}, port=port, start_new_session=True)

    def refuses_connections(self):
        try:
            socket.create_connection(('127.0.0.1', self.port), timeout=5).close()
        except ConnectionRefusedError:
            return True
        return False


@pytest.fixture
def start(tmp_path):
    started = []

    def _start(**extra_api):
        server = Running(tmp_path, **extra_api)
        started.append(server)
        server.start()
        server.wait_ready()
        return server
    yield _start
    for server in started:
        server.kill()


def _hold_request_in_flight(port, body):
    """Send headers only, and return once the application has asked for the body."""
    sock = socket.create_connection(('127.0.0.1', port), timeout=WAIT)
    sock.sendall((f'POST /v2/alarms/held HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n'
                  'Content-Type: application/json\r\nExpect: 100-continue\r\n'
                  f'Content-Length: {len(body)}\r\n\r\n').encode())
    interim = sock.recv(4096)
    assert interim.startswith(b'HTTP/1.1 100 Continue'), interim
    return sock


def _read_response(sock):
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    return resp.status, json.loads(resp.read())


@pytest.mark.parametrize('workers', [1, 2])
def test_sigterm_lets_the_request_in_flight_finish_and_exits_0(start, workers):
    server = start(workers=workers)
    body = json.dumps({'name': 'x' * 100000}).encode()
    sock = _hold_request_in_flight(server.port, body)

    server.proc.send_signal(signal.SIGTERM)
    _wait_until(server.refuses_connections, 'the listening socket to close')
    assert server.proc.poll() is None  # still busy with the request in flight

    sock.sendall(body)
    status, answer = _read_response(sock)
    sock.close()
    assert status == 410
    assert answer['error_message']['faultcode'] == 'Client'
    assert server.proc.wait(WAIT) == 0  # on its own: SIGTERM was already sent
    assert 'Traceback' not in server.log_text()


def test_request_outliving_graceful_shutdown_timeout_is_cut_off(start):
    server = start(graceful_shutdown_timeout=1)
    sock = _hold_request_in_flight(server.port, b'{}')
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(WAIT) == 0  # the body never came
    assert sock.recv(4096) == b''
    sock.close()
    assert 'still running after graceful_shutdown_timeout; exiting' in server.log_text()


def test_answers_versions_and_logs_one_access_line_with_the_request_id(start):
    server = start()
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=WAIT)
    conn.request('GET', '/v2/capabilities')
    resp = conn.getresponse()
    body = json.loads(resp.read())
    request_id = resp.getheader('x-openstack-request-id')
    assert resp.status == 200 and body['api']['statistics:groupby'] is True
    assert server.stop() == 0
    lines = [line for line in server.log_text().splitlines() if request_id in line]
    access = [line for line in lines if 'meterd.api.access' in line]
    assert len(access) == 1, lines
    assert '"GET /v2/capabilities HTTP/1.1" status: 200' in access[0]


def test_keep_alive_connection_serves_sequential_requests(start):
    server = start()
    conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=WAIT)
    conn.request('GET', '/')
    first = conn.getresponse()
    first.read()
    sock = conn.sock
    conn.request('GET', '/v2')
    second = conn.getresponse()
    assert json.loads(second.read())['version']['id'] == 'v2'
    assert first.status == second.status == 200
    assert conn.sock is sock  # same TCP connection, not a reconnect
    assert first.getheader('Connection') != 'close'


def test_workers_share_one_port(start):
    server = start(workers=2)
    for _ in range(4):
        conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=WAIT)
        conn.request('GET', '/v2', headers={'Connection': 'close'})
        assert conn.getresponse().status == 200
    assert server.stop() == 0
    assert server.log_text().count('Started worker') == 2


def test_worker_stops_when_its_parent_is_killed(start):
    server = start(workers=2)
    workers = [int(pid) for pid in subprocess.run(
        ['pgrep', '-P', str(server.proc.pid)], capture_output=True, text=True).stdout.split()]
    assert len(workers) == 2
    server.proc.kill()
    server.proc.wait(WAIT)

    def _gone(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # Reparented to init (or a subreaper): a zombie counts as gone.
        with open(f'/proc/{pid}/stat') as f:
            return f.read().split(') ', 1)[1].startswith('Z')
    _wait_until(lambda: all(_gone(pid) for pid in workers), 'orphaned workers to stop')


def test_second_server_on_a_busy_port_fails_instead_of_sharing_it(start, tmp_path):
    server = start()
    other = tmp_path / 'other'
    other.mkdir()
    conf_path = Running(other, port=server.port).conf_path
    result = subprocess.run([BIN, '--config-file', str(conf_path)],
                            capture_output=True, text=True, timeout=WAIT)
    assert result.returncode == 1
    assert 'Address already in use' in result.stdout + result.stderr


def test_creates_the_sqlite_database_on_first_start(start, tmp_path):
    assert not (tmp_path / 'meterd.db').exists()
    start()
    assert (tmp_path / 'meterd.db').exists()


def _run(tmp_path, text):
    path = tmp_path / 'meterd.conf'
    path.write_text(text)
    return subprocess.run([BIN, '--config-file', str(path)], capture_output=True, text=True,
                          timeout=WAIT, cwd=str(tmp_path))


@pytest.mark.parametrize('section, line, option', [
    ('api', 'port = eighty', 'port'),
    ('api', 'workers = 0', 'workers'),
    ('api', 'auth_strategy = basic', 'auth_strategy'),
    ('database', 'metering_time_to_live = soon', 'metering_time_to_live'),
])
def test_bad_value_fails_start_naming_the_option(tmp_path, section, line, option):
    result = _run(tmp_path, f'[{section}]\n{line}\n')
    assert result.returncode != 0
    assert f'[{section}] {option}' in result.stderr
    assert 'Traceback' not in result.stderr + result.stdout


def test_missing_config_file_fails_start_naming_it(tmp_path):
    result = subprocess.run([BIN, '--config-file', str(tmp_path / 'nope.conf')],
                            capture_output=True, text=True, timeout=WAIT)
    assert result.returncode != 0
    assert 'nope.conf' in result.stderr and 'Traceback' not in result.stderr


def test_noauth_refuses_a_non_loopback_host(tmp_path):
    port = servers.free_port()
    result = _run(tmp_path, f'[api]\nhost = 0.0.0.0\nport = {port}\nauth_strategy = noauth\n'
                            f'[database]\nconnection = sqlite:///{tmp_path}/m.db\n')
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert 'noauth_allow_remote' in output
    assert 'WARNING' in output and 'trusted as sent' in output
    assert 'Traceback' not in output


def test_unknown_storage_scheme_fails_start_listing_the_choices(tmp_path):
    result = _run(tmp_path, '[api]\nauth_strategy = noauth\n'
                            '[database]\nconnection = cassandra://db/meterd\n')
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "no storage driver for scheme 'cassandra'" in output
    assert 'postgresql' in output and 'sqlite' in output
    assert 'Traceback' not in output


def test_listener_sets_tcp_nodelay_inherited_by_accepted_connections(tmp_path):
    conf = conftest.make_conf(tmp_path, api={'port': 0})
    listener = api_server.listen(conf)
    try:
        client = socket.create_connection(listener.getsockname()[:2])
        accepted, _ = listener.accept()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        accepted.close()
        client.close()
    finally:
        listener.close()


def test_a_bad_keystone_authtoken_value_fails_start_in_keystone_mode(tmp_path):
    result = _run(tmp_path, '[api]\nauth_strategy = keystone\n'
                            '[keystone_authtoken]\nhttp_connect_timeout = soon\n')
    assert result.returncode != 0
    assert '[keystone_authtoken] http_connect_timeout' in result.stderr
    assert 'Traceback' not in result.stderr + result.stdout


def test_a_noauth_sqlite_process_imports_neither_keystonemiddleware_nor_pymongo(tmp_path):
    """Each weighs megabytes in every API process; only keystone mode and MongoDB need them."""
    (tmp_path / 'meterd.conf').write_text(
        f'[api]\nauth_strategy = noauth\n[database]\nconnection = sqlite:///{tmp_path}/m.db\n')
    code = ('import sys; from meterd import service; from meterd.api import app; '
            f'app.load_app(service.prepare_service(["--config-file", "{tmp_path}/meterd.conf"])); '
            'print(sorted(m for m in ("keystonemiddleware", "pymongo") if m in sys.modules))')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=WAIT, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == '[]'


@pytest.mark.parametrize('setting, loaded', [(None, False), ('no', True)])
def test_meterd_api_leaves_eventlets_green_resolver_off_unless_asked(tmp_path, setting,
                                                                     loaded):
    """dnspython (behind eventlet's green resolver) costs ~7 MB in every API process."""
    env = {k: v for k, v in os.environ.items() if k != 'EVENTLET_NO_GREENDNS'}
    if setting is not None:
        env['EVENTLET_NO_GREENDNS'] = setting
    code = 'import sys; import meterd.cmd.api; print("dns" in sys.modules)'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=WAIT, cwd=str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(loaded)


def test_settle_heap_freezes_what_start_up_built(tmp_path):
    """Full collections must not walk the loaded pipeline again on every ingest burst."""
    (tmp_path / 'meterd.conf').write_text(
        f'[api]\nauth_strategy = noauth\n[database]\nconnection = sqlite:///{tmp_path}/m.db\n')
    code = ('import gc; from meterd import service; from meterd.api import app, server; '
            'app.load_app(service.prepare_service('
            f'["--config-file", "{tmp_path}/meterd.conf"])); server.settle_heap(); '
            'print(gc.get_freeze_count(), len(gc.get_objects(generation=2)))')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            timeout=WAIT, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    frozen, oldest = result.stdout.split()[-2:]
    assert int(frozen) > 10_000
    assert int(oldest) < 100  # what was old at start-up is frozen, not in generation 2


_TURNS_SCRIPT = '''
import eventlet
eventlet.monkey_patch()
from oslo_config import cfg
from meterd.api import server

blocking_sleep = eventlet.patcher.original('time').sleep
conf = cfg.ConfigOpts()
server.register_opts(conf)
conf([])
sock = eventlet.listen(('127.0.0.1', 0))
print(sock.getsockname()[1], flush=True)

def app(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/hold':
        print('holding', flush=True)
        blocking_sleep(0.5)  # the hub stands still: what arrives meanwhile queues
    elif path != '/warm':
        print(path, flush=True)
    start_response('200 OK', [('Content-Length', '0')])
    return [b'']

server.Server(conf, app, sock).run()
'''


def test_keep_alive_connections_take_turns(tmp_path):
    """A client with its next request already buffered must not overtake one waiting."""
    proc = subprocess.Popen([sys.executable, '-c', _TURNS_SCRIPT], stdout=subprocess.PIPE,
                            text=True, cwd=str(tmp_path))
    try:
        port = int(proc.stdout.readline())
        conns = {name: http.client.HTTPConnection('127.0.0.1', port, timeout=WAIT)
                 for name in ('hold', 'a', 'b')}
        for conn in conns.values():  # accepted, each green thread waiting for a request
            conn.request('GET', '/warm')
            conn.getresponse().read()
        conns['hold'].request('GET', '/hold')
        assert proc.stdout.readline().strip() == 'holding'
        host = f'Host: 127.0.0.1:{port}\r\n\r\n'
        # While the hub is held, two pipelined requests on each of a and b.
        for name in ('a', 'b'):
            conns[name].sock.sendall(f'GET /{name}1 HTTP/1.1\r\n{host}'
                                     f'GET /{name}2 HTTP/1.1\r\n{host}'.encode())
        order = [proc.stdout.readline().strip() for _ in range(4)]
        for conn in conns.values():
            conn.close()
    finally:
        proc.kill()
        proc.wait(WAIT)
    # Either may go first, but each serves one request before the other's next.
    assert sorted(order[:2]) == ['/a1', '/b1'], order
