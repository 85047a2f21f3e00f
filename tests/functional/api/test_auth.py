"""Auth strategies over the shipped paste file: token, keystone (auth_token fixture), noauth."""

import json
import os
import stat
import uuid

from keystonemiddleware import fixture as ks_fixture
import pytest

from meterd.api import app as api_app
from tests import conftest


def _error(resp):
    return resp.json['error_message']


# -- token ------------------------------------------------------------------

@pytest.fixture
def token_app(make_app, tmp_path):
    """The token pipeline with a token file holding an admin and a member."""
    path = tmp_path / 'tokens.json'
    path.write_text(json.dumps({
        'admin-secret': {'user_id': 'u-admin', 'project_id': 'p-admin', 'roles': ['admin']},
        'member-secret': {'user_id': 'u-a', 'project_id': 'p-a', 'roles': ['member']},
    }))
    return lambda **groups: make_app(auth_strategy='token', api={'token_file': str(path)},
                                     **groups)


def test_token_mode_creates_a_private_token_file_with_one_admin_token(make_app, tmp_path,
                                                                      capsys):
    app = make_app(auth_strategy='token')
    logged = ''.join(capsys.readouterr())
    path = tmp_path / 'tokens.json'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    tokens = json.loads(path.read_text())
    ((token, identity),) = tokens.items()
    assert identity['roles'] == ['admin'] and len(token) >= 32
    assert str(path) in logged
    assert token not in logged
    assert app.get('/v2/capabilities', headers={'X-Auth-Token': token}).status_int == 200


def test_token_mode_keeps_an_existing_token_file(token_app, tmp_path):
    before = (tmp_path / 'tokens.json').read_text()
    token_app()
    assert (tmp_path / 'tokens.json').read_text() == before


@pytest.mark.parametrize('headers', [
    {},
    {'X-Auth-Token': 'not-a-token'},
    {'X-Roles': 'admin', 'X-User-Id': 'u', 'X-Project-Id': 'p'},
    {'X-Identity-Status': 'Confirmed', 'X-Roles': 'admin'},
])
def test_token_mode_without_a_known_token_is_401_json(token_app, headers):
    resp = token_app().get('/v2/capabilities', headers=headers, status=401)
    assert resp.content_type == 'application/json'
    assert _error(resp)['faultcode'] == 'Client'
    assert 'authentication' in _error(resp)['faultstring']
    assert resp.headers['x-openstack-request-id'].startswith('req-')


def test_token_mode_versions_need_a_token_too(token_app):
    # Spec §3.1: no anonymous routes (the probe path is the healthcheck filter's).
    token_app().get('/', status=401)


def test_token_mode_serves_a_known_token(token_app):
    resp = token_app().get('/v2/capabilities', headers={'X-Auth-Token': 'member-secret'})
    assert resp.json['api']['statistics:groupby'] is True


def test_token_mode_ignores_forged_identity_headers(token_app, tmp_path):
    # Only a caller in project p-forged may list meters: the member's forged
    # X-Project-Id / X-Roles must not get it past the rule.
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"telemetry:get_meters": "project_id:p-forged"\n')
    app = token_app(oslo_policy={'policy_file': str(policy_file)})
    forged = {'X-Auth-Token': 'member-secret', 'X-Project-Id': 'p-forged',
              'X-Tenant-Id': 'p-forged', 'X-Roles': 'admin', 'X-User-Id': 'u-admin'}
    resp = app.get('/v2/meters', headers=forged, status=403)
    assert _error(resp)['faultstring'] == 'RBAC Authorization Failed'


def test_token_file_edits_apply_without_restart(token_app, tmp_path):
    app = token_app()
    app.get('/v2/capabilities', headers={'X-Auth-Token': 'new-secret'}, status=401)
    path = tmp_path / 'tokens.json'
    tokens = json.loads(path.read_text())
    tokens['new-secret'] = {'user_id': 'u-b', 'project_id': 'p-b', 'roles': ['member']}
    path.write_text(json.dumps(tokens, indent=1))
    app.get('/v2/capabilities', headers={'X-Auth-Token': 'new-secret'}, status=200)


# -- policy -----------------------------------------------------------------

def test_policy_file_override_denies_a_rule_with_403_json(make_app, tmp_path):
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"telemetry:get_meters": "!"\n')
    app = make_app(oslo_policy={'policy_file': str(policy_file)})
    resp = app.get('/v2/meters', headers=conftest.ADMIN, status=403)
    assert resp.json == {'error_message': {
        'faultcode': 'Client', 'faultstring': 'RBAC Authorization Failed', 'debuginfo': None}}


def test_policy_file_edits_apply_within_the_reload_interval(make_app, tmp_path, monkeypatch):
    from meterd.api import policy
    clock = [1000.0]
    monkeypatch.setattr(policy.time, 'monotonic', lambda: clock[0])
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"telemetry:get_meters": "!"\n')
    app = make_app(oslo_policy={'policy_file': str(policy_file)})
    app.get('/v2/meters', headers=conftest.ADMIN, status=403)
    policy_file.write_text('"telemetry:get_meters": ""\n')
    later = os.stat(policy_file).st_mtime + 10  # oslo.policy re-reads a newer file
    os.utime(policy_file, (later, later))
    # Looked at once per interval only: the edit is not seen yet...
    app.get('/v2/meters', headers=conftest.ADMIN, status=403)
    clock[0] += policy.RELOAD_INTERVAL
    # ...and is once the interval has passed.
    app.get('/v2/meters', headers=conftest.ADMIN, status=200)


def test_policy_file_created_after_start_applies_within_the_interval(make_app, tmp_path,
                                                                    monkeypatch):
    from meterd.api import policy
    clock = [1000.0]
    monkeypatch.setattr(policy.time, 'monotonic', lambda: clock[0])
    policy_file = tmp_path / 'late-policy.yaml'
    app = make_app(oslo_policy={'policy_file': str(policy_file)})
    app.get('/v2/meters', headers=conftest.ADMIN, status=200)
    policy_file.write_text('"telemetry:get_meters": "!"\n')
    clock[0] += policy.RELOAD_INTERVAL
    app.get('/v2/meters', headers=conftest.ADMIN, status=403)


def test_policy_sample_generator_lists_the_telemetry_rules(tmp_path):
    import subprocess
    import sys
    out = tmp_path / 'policy.yaml'
    tool = os.path.join(os.path.dirname(sys.executable), 'oslopolicy-sample-generator')
    subprocess.run([tool, '--namespace', 'meterd', '--output-file', str(out)], check=True,
                   capture_output=True, timeout=120)
    text = out.read_text()
    for rule in ('context_is_admin', 'segregation', 'telemetry:get_meters',
                 'telemetry:create_samples', 'telemetry:query_sample'):
        assert f'"{rule}"' in text


# -- keystone ---------------------------------------------------------------

@pytest.fixture
def keystone():
    fix = ks_fixture.AuthTokenFixture()
    fix.setUp()
    yield fix
    fix.cleanUp()


@pytest.fixture
def keystone_app(make_app, keystone):
    return lambda **groups: make_app(
        auth_strategy='keystone',
        keystone_authtoken={'www_authenticate_uri': 'https://keystone.example.com/v3'},
        **groups)


def _keystone_token(keystone, roles):
    token = uuid.uuid4().hex
    keystone.add_token_data(token_id=token, user_id='u-a', project_id='p-a', role_list=roles)
    return token


def test_keystone_mode_accepts_a_valid_token(keystone_app, keystone):
    token = _keystone_token(keystone, ['member'])
    resp = keystone_app().get('/v2/capabilities', headers={'X-Auth-Token': token})
    assert resp.status_int == 200 and resp.json['api']['meters:query:simple'] is True


@pytest.mark.parametrize('headers', [
    {},
    {'X-Auth-Token': 'unknown-token'},
    {'X-Roles': 'admin', 'X-User-Id': 'u', 'X-Project-Id': 'p',
     'X-Identity-Status': 'Confirmed'},
])
def test_keystone_mode_without_a_valid_token_is_401_json(keystone_app, headers):
    resp = keystone_app().get('/v2/capabilities', headers=headers, status=401)
    assert _error(resp)['faultcode'] == 'Client'
    assert resp.headers['WWW-Authenticate'].startswith('Keystone uri=')
    assert resp.headers['x-openstack-request-id'].startswith('req-')


def test_keystone_mode_roles_come_from_the_token_only(keystone_app, keystone, tmp_path):
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"telemetry:get_meters": "role:admin"\n')
    app = keystone_app(oslo_policy={'policy_file': str(policy_file)})
    token = _keystone_token(keystone, ['member'])
    app.get('/v2/meters', headers={'X-Auth-Token': token, 'X-Roles': 'admin'}, status=403)


# -- noauth -----------------------------------------------------------------

def test_noauth_needs_no_headers_for_versions_and_capabilities(app):
    assert app.get('/').status_int == 200
    assert app.get('/v2/capabilities').status_int == 200


def test_noauth_trusts_identity_headers(make_app, tmp_path):
    policy_file = tmp_path / 'policy.yaml'
    policy_file.write_text('"telemetry:get_meters": "project_id:p-x"\n')
    app = make_app(oslo_policy={'policy_file': str(policy_file)})
    app.get('/v2/meters', headers=conftest.member_headers(project='p-y'), status=403)


def test_pipeline_needs_load_app(tmp_path):
    with pytest.raises(Exception) as exc:
        api_app.conf_from({})
    assert 'load_app' in str(exc.value)
