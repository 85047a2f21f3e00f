"""Where the client connects and which credentials it sends."""

import json

import pytest

from meterd.cli import connection
from meterd.cli import main


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ('METERD_URL', 'OS_TOKEN', 'METERD_CONFIG_FILE', 'OS_AUTH_URL', 'OS_PROJECT_ID',
                 'OS_USER_ID', 'OS_ROLES', 'OS_USERNAME', 'OS_PASSWORD', 'OS_PROJECT_NAME'):
        monkeypatch.delenv(name, raising=False)


def client_for(*argv):
    args = main.build_parser().parse_args(list(argv) + ['capabilities'])
    return connection.build_client(args)


def write_conf(tmp_path, strategy='token', host='127.0.0.1', extra=''):
    path = tmp_path / 'meterd.conf'
    path.write_text(f'[DEFAULT]\nstate_path = {tmp_path}\n\n[api]\nhost = {host}\nport = 9999\n'
                    f'auth_strategy = {strategy}\n{extra}')
    return str(path)


def write_tokens(path, tokens):
    path.write_text(json.dumps(tokens))


@pytest.mark.parametrize('endpoint, local', [
    ('http://127.0.0.1:1', True), ('http://localhost:1', True), ('http://[::1]:1', True),
    ('http://127.8.0.1', True), ('http://10.0.0.1:8777', False),
    ('https://cloud.example', False)])
def test_local_endpoints(endpoint, local):
    assert connection.is_local(endpoint) is local


def test_admin_token_is_read_from_state_path_tokens_json(tmp_path):
    write_tokens(tmp_path / 'tokens.json', {
        'member-token': {'user_id': 'u', 'project_id': 'p', 'roles': ['member']},
        'admin-token': {'user_id': 'admin', 'project_id': 'admin', 'roles': ['admin']}})
    client = client_for('--config-file', write_conf(tmp_path))
    assert client.endpoint == 'http://127.0.0.1:9999'
    assert client.headers == {'X-Auth-Token': 'admin-token'}


def test_token_file_option_wins_and_wildcard_bind_means_this_machine(tmp_path):
    other = tmp_path / 'elsewhere.json'
    write_tokens(other, {'t2': {'roles': ['admin']}})
    client = client_for('--config-file',
                        write_conf(tmp_path, host='0.0.0.0', extra=f'token_file = {other}\n'))
    assert client.endpoint == 'http://127.0.0.1:9999'
    assert client.headers == {'X-Auth-Token': 't2'}


def test_explicit_token_and_endpoint_win_over_the_config(tmp_path, monkeypatch):
    write_tokens(tmp_path / 'tokens.json', {'file-token': {'roles': ['admin']}})
    monkeypatch.setenv('METERD_URL', 'http://127.0.0.1:1234/v2')
    monkeypatch.setenv('OS_TOKEN', 'env-token')
    client = client_for('--config-file', write_conf(tmp_path))
    assert (client.endpoint, client.headers) == ('http://127.0.0.1:1234',
                                                 {'X-Auth-Token': 'env-token'})
    client = client_for('--config-file', write_conf(tmp_path), '--os-token', 'arg-token')
    assert client.headers == {'X-Auth-Token': 'arg-token'}


def test_remote_servers_never_get_the_local_token(tmp_path):
    write_tokens(tmp_path / 'tokens.json', {'file-token': {'roles': ['admin']}})
    client = client_for('--config-file', write_conf(tmp_path),
                        '--os-endpoint', 'http://10.1.2.3:8777')
    assert client.headers == {}
    assert 'no token given' in client.auth_hint


def test_missing_token_file_leaves_a_hint_for_the_401(tmp_path):
    client = client_for('--config-file', write_conf(tmp_path))
    assert client.headers == {}
    assert client.auth_hint == f'no token given, and no token file {tmp_path}/tokens.json'


def test_local_noauth_server_gets_the_admin_identity_unless_one_is_given(tmp_path):
    conf = write_conf(tmp_path, strategy='noauth')
    assert client_for('--config-file', conf).headers == {
        'X-User-Id': 'admin', 'X-Project-Id': 'admin', 'X-Roles': 'admin'}
    assert client_for('--config-file', conf, '--os-roles', 'member', '--os-project-id',
                      'p1').headers == {'X-Project-Id': 'p1', 'X-Roles': 'member'}
    assert client_for('--config-file', conf, '--no-local-admin').headers == {}


def test_missing_config_file_is_one_clear_error(tmp_path):
    with pytest.raises(connection.http.CommandError, match='does not exist'):
        client_for('--config-file', str(tmp_path / 'nope.conf'))


def test_keystone_options_need_user_and_password():
    with pytest.raises(connection.http.CommandError,
                       match='also needs --os-username, --os-password'):
        client_for('--os-auth-url', 'http://127.0.0.1:5000/v3')
