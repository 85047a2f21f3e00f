"""``meterd`` against a noauth server: identity options, project scoping, the console script."""

import os
import subprocess
import sys

import pytest

from meterd.cli import commands

BIN = os.path.join(os.path.dirname(sys.executable), 'meterd')


@pytest.fixture(scope='module')
def server(noauth_server):
    return noauth_server


def as_member(server, meterd, project, *argv):
    return meterd('--os-endpoint', server.endpoint, '--no-local-admin', '--os-user-id', 'u-' + project,
                  '--os-project-id', project, '--os-roles', 'member', *argv)


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
    assert {line.split(',')[0] for line in result.out.splitlines()[1:]} >= {'vm-a', 'vm-c'}


def run_script(*argv):
    env = {k: v for k, v in os.environ.items() if k not in ('METERD_URL', 'OS_TOKEN')}
    return subprocess.run([BIN, *map(str, argv)], capture_output=True, text=True, env=env,
                          timeout=120)


def test_console_script_runs_a_command(server):
    proc = run_script('--config-file', server.conf_path, 'capabilities', '-f', 'json')
    assert proc.returncode == 0, proc.stderr
    assert '"statistics:groupby": true' in proc.stdout


def test_console_script_connection_refused_is_one_line(server):
    from tests.functional.cli import conftest

    port = conftest.free_port()
    proc = run_script('--os-endpoint', f'http://127.0.0.1:{port}', 'meter-list')
    assert proc.returncode == 1
    assert proc.stdout == ''
    assert proc.stderr == (f'meterd: error: cannot connect to http://127.0.0.1:{port}: '
                           'connection refused (is meterd-api running there? check '
                           '--os-endpoint / METERD_URL)\n')


def test_help_explains_every_command():
    proc = run_script('--help')
    assert proc.returncode == 0
    for command in commands.COMMANDS:
        assert command.name in proc.stdout
        sub = run_script(command.name, '--help')
        assert sub.returncode == 0, sub.stderr
        assert 'example' in sub.stdout and f'meterd {command.name}' in sub.stdout


def test_usage_errors_exit_2_without_traceback():
    proc = run_script('statistics')
    assert proc.returncode == 2
    assert 'the following arguments are required: -m/--meter' in proc.stderr
    assert 'Traceback' not in proc.stderr
