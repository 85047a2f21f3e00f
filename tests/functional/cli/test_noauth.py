"""``meterd`` against a noauth server: identity options, project scoping, the console script."""

import http.server
import json
import os
import subprocess
import sys

import pytest

from meterd.cli import commands
from meterd.cli import connection
from meterd.cli import main as cli_main
from tests.functional.cli import conftest

BIN = os.path.join(os.path.dirname(sys.executable), 'meterd')


@pytest.fixture(scope='module')
def server(noauth_server):
    return noauth_server


def as_member(server, meterd, project, *argv):
    return meterd('--os-endpoint', server.endpoint, '--no-local-admin',
                  '--os-user-id', 'u-' + project, '--os-project-id', project,
                  '--os-roles', 'member', *argv)


def test_members_post_and_see_only_their_project(server, meterd):
    created = as_member(server, meterd, 'pa', 'sample-create', '-r', 'vm-a', '-m', 'ram',
                        '--meter-type', 'gauge', '--meter-unit', 'MB', '--sample-volume', '512',
                        '-f', 'json')
    assert created.code == 0, created
    assert (created.json()['project_id'], created.json()['source']) == ('pa', 'pa:openstack')
    mine = as_member(server, meterd, 'pa', 'sample-list', '-f', 'json').json()
    assert [s['resource_id'] for s in mine] == ['vm-a']
    assert as_member(server, meterd, 'pb', 'sample-list', '-f', 'json').json() == []
    denied = as_member(server, meterd, 'pb', 'meter-list', '-q', 'project_id=pa')
    assert denied.code == 1
    assert denied.err == ('meterd: error: HTTP 401 Unauthorized: Not Authorized to access '
                          'project pa\n')


def test_config_file_of_a_local_noauth_server_means_admin(server, meterd):
    as_member(server, meterd, 'pc', 'sample-create', '-r', 'vm-c', '-m', 'ram',
              '--meter-type', 'gauge', '--meter-unit', 'MB', '--sample-volume', '1')
    result = meterd('--config-file', server.conf_path, 'resource-list', '-f', 'csv')
    assert result.code == 0, result
    assert 'vm-c' in {line.split(',')[0] for line in result.out.splitlines()[1:]}


def run_script(*argv):
    env = {k: v for k, v in os.environ.items() if k not in ('METERD_URL', 'OS_TOKEN')}
    return subprocess.run([BIN, *map(str, argv)], capture_output=True, text=True, env=env,
                          timeout=120)


def test_console_script_runs_a_command(server):
    proc = run_script('--config-file', server.conf_path, 'capabilities', '-f', 'json')
    assert proc.returncode == 0, proc.stderr
    assert '"statistics:groupby": true' in proc.stdout


def test_console_script_connection_refused_is_one_line(server):
    port = conftest.free_port()
    proc = run_script('--os-endpoint', f'http://127.0.0.1:{port}', 'meter-list')
    assert proc.returncode == 1
    assert proc.stdout == ''
    assert proc.stderr == (f'meterd: error: cannot connect to http://127.0.0.1:{port}: '
                           'connection refused (is meterd-api running there? check '
                           '--os-endpoint / METERD_URL)\n')


def test_help_explains_every_command(meterd, capsys):
    proc = run_script('--help')
    assert proc.returncode == 0
    assert 'connection:' in proc.stdout and 'examples:' in proc.stdout
    for command in commands.COMMANDS:
        assert command.name in proc.stdout
        with pytest.raises(SystemExit) as done:
            meterd(command.name, '--help')
        assert done.value.code == 0
        text = capsys.readouterr().out
        assert 'example' in text and f'meterd {command.name}' in text


def test_usage_errors_exit_2_without_traceback():
    proc = run_script('statistics')
    assert proc.returncode == 2
    assert 'the following arguments are required: -m/--meter' in proc.stderr
    assert 'Traceback' not in proc.stderr


class KeystoneStub(http.server.BaseHTTPRequestHandler):
    """Answers a v3 password login with a token whose catalog names the meterd server."""

    metering_url = None
    logins = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        type(self).logins.append((self.path, body))
        token = {'token': {
            'methods': ['password'], 'expires_at': '2099-01-01T00:00:00.000000Z',
            'issued_at': '2026-01-01T00:00:00.000000Z',
            'user': {'id': 'u1', 'name': 'alice', 'domain': {'id': 'default', 'name': 'Default'}},
            'project': {'id': 'p1', 'name': 'demo', 'domain': {'id': 'default',
                                                               'name': 'Default'}},
            'roles': [{'id': 'r1', 'name': 'admin'}],
            'catalog': [{'type': 'metering', 'name': 'meterd', 'id': 's1', 'endpoints': [
                {'id': 'e1', 'interface': 'public', 'region': 'RegionOne',
                 'region_id': 'RegionOne', 'url': type(self).metering_url}]}]}}
        data = json.dumps(token).encode()
        self.send_response(201)
        self.send_header('X-Subject-Token', 'keystone-token')
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def keystone(server):
    KeystoneStub.metering_url = server.endpoint
    KeystoneStub.logins = []
    with conftest.serving(KeystoneStub) as url:
        yield url + '/v3'


def test_keystone_login_gives_token_and_catalog_endpoint(keystone, server, meterd, monkeypatch):
    monkeypatch.setenv('OS_PASSWORD', 'secret')
    argv = ['--os-auth-url', keystone, '--os-username', 'alice', '--os-project-name', 'demo',
            '--os-roles', 'admin']
    client = connection.build_client(cli_main.build_parser().parse_args(argv + ['meter-list']))
    assert (client.endpoint, client.headers['X-Auth-Token']) == (server.endpoint,
                                                                  'keystone-token')
    path, body = KeystoneStub.logins[0]
    assert path == '/v3/auth/tokens'
    assert body['auth']['identity']['password']['user'] == {
        'name': 'alice', 'password': 'secret', 'domain': {'name': 'Default'}}
    assert body['auth']['scope'] == {'project': {'name': 'demo', 'domain': {'name': 'Default'}}}
    result = meterd(*argv, 'capabilities', '-f', 'json')
    assert result.code == 0, result
    assert result.json()['storage'] == {'storage:production_ready': True}
