"""Hygiene: the anonymous health probe, server-made request ids, no secrets in logs or bodies."""

import json
import os
import re
import uuid

import pytest

from meterd import exception
from tests.functional.hardening import conftest as hc

REQUEST_ID = re.compile(r'^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')


def test_healthcheck_answers_ok_without_a_token(make_app):
    app = make_app(auth_strategy='token')
    resp = app.get('/healthcheck')
    assert (resp.status_int, resp.body, resp.content_type) == (200, b'OK', 'text/plain')
    assert REQUEST_ID.match(resp.headers['x-openstack-request-id'])
    assert app.head('/healthcheck').status_int == 204


def test_healthcheck_is_terse_even_when_json_is_asked_for(make_app):
    resp = make_app(auth_strategy='token').get('/healthcheck',
                                              headers={'Accept': 'application/json'})
    assert resp.json == {'detailed': False, 'reasons': ['OK']}


def test_healthcheck_answers_503_while_the_disable_file_exists(make_app, tmp_path):
    app = make_app(auth_strategy='token')
    (tmp_path / 'healthcheck_disable').write_text('')
    resp = app.get('/healthcheck', status=503)
    assert resp.json['error_message']['faultcode'] == 'Server'
    assert app.head('/healthcheck', status=503)
    (tmp_path / 'healthcheck_disable').unlink()
    assert app.get('/healthcheck').status_int == 200


@pytest.mark.parametrize('method, path', [
    ('GET', '/healthcheck/'), ('GET', '/healthcheck/../v2/meters'), ('POST', '/healthcheck'),
    ('GET', '/healthcheckx'), ('GET', '/v2/healthcheck'), ('GET', '/HEALTHCHECK')])
def test_only_the_exact_probe_skips_authentication(make_app, method, path):
    app = make_app(auth_strategy='token')
    resp = app.request(path, method=method, status='*')
    assert resp.status_int == 401
    assert resp.json['error_message']['faultcode'] == 'Client'


def test_healthcheck_detailed_view_is_refused(make_app, tmp_path):
    paste = (tmp_path / 'api-paste.ini')
    paste.write_text(open(hc.root.PASTE_FILE).read().replace(
        'backends = disable_by_file', 'backends = disable_by_file\ndetailed = True'))
    with pytest.raises(exception.ConfigError, match='detailed'):
        make_app(paste_file=str(paste))


def test_request_id_is_made_by_the_server_not_taken_from_the_client(app):
    client_id = f'req-{uuid.uuid4()}'
    seen = set()
    for header in ('X-Openstack-Request-Id', 'X-Request-Id', 'X-Compute-Request-Id',
                   'X-Global-Request-Id'):
        for path, status in (('/', 200), ('/nope', 404)):
            resp = app.get(path, headers={header: client_id}, status=status)
            ids = resp.headers.getall('x-openstack-request-id')
            assert len(ids) == 1
            assert ids[0] != client_id and REQUEST_ID.match(ids[0])
            assert client_id not in resp.text
            seen.add(ids[0])
    assert len(seen) == 8


def test_request_ids_in_the_log_are_the_servers(server):
    client_id = f'req-{uuid.uuid4()}'
    resp = server.request('GET', '/v2/capabilities', headers={'X-Openstack-Request-Id': client_id})
    assert resp.status_code == 200
    server_id = resp.headers['x-openstack-request-id']
    assert server_id != client_id
    server.stop()
    log = server.log_text()
    assert server_id in log
    assert client_id not in log


def _with_password(url, password):
    scheme, rest = url.split('://', 1)
    hostpart = rest.rsplit('@', 1)[-1]
    user = rest.rsplit('@', 1)[0].split(':', 1)[0] if '@' in rest else 'postgres'
    return f'{scheme}://{user}:{password}@{hostpart}'


def _exercise(srv, headers_list, token_in_path):
    bodies = []
    for headers in headers_list:
        for method, path, body in (('GET', '/v2/meters', None), ('GET', '/nope', None),
                                   ('GET', f'/v2/samples/{token_in_path}', None),
                                   ('POST', '/v2/meters/m', b'{bad json'),
                                   ('GET', '/v2/meters?limit=abc', None)):
            resp = srv.request(method, path, data=body, headers=dict(
                headers, **{'Content-Type': 'application/json'}))
            assert resp.status_code < 500, resp.text
            bodies.append(resp.text)
    return bodies


def test_tokens_never_reach_logs_or_error_bodies(server_factory, tmp_path):
    token = 'tok-' + uuid.uuid4().hex
    wrong = 'wrong-' + uuid.uuid4().hex
    tokens = tmp_path / 'tokens.json'
    tokens.write_text(json.dumps({token: {'user_id': 'u', 'project_id': 'p',
                                          'roles': ['admin']}}))
    srv = server_factory(DEFAULT={'debug': 'true'},
                         api={'auth_strategy': 'token', 'token_file': str(tokens)})
    bodies = _exercise(srv, ({'X-Auth-Token': token}, {'X-Auth-Token': wrong}, {}), 'x')
    srv.stop()
    log = srv.log_text()
    assert 'GET /v2/meters' in log
    for secret in (token, wrong):
        assert secret not in log
        assert not any(secret in body for body in bodies)


def test_database_password_stays_out_of_the_log_when_the_database_is_down(tmp_path):
    password = 'S3cret-' + uuid.uuid4().hex
    srv = hc.ServerProcess(str(tmp_path), {
        'DEFAULT': {'debug': 'true'},
        'database': {'connection': f'postgresql://meterd:{password}@127.0.0.1:{hc.free_port()}/m',
                     'max_retries': 1, 'retry_interval': 0.1}})
    with pytest.raises(AssertionError, match='exited'):
        srv.start()
    log = srv.log_text()
    assert 'meterd:***@127.0.0.1' in log
    assert password not in log


@pytest.mark.skipif(not os.environ.get('METERD_TEST_POSTGRESQL_URL'),
                    reason='METERD_TEST_POSTGRESQL_URL is not set')
def test_database_password_never_reaches_logs_or_error_bodies(server_factory):
    password = 'S3cret-' + uuid.uuid4().hex
    url = _with_password(os.environ['METERD_TEST_POSTGRESQL_URL'], password)
    srv = server_factory(DEFAULT={'debug': 'true'}, database={'connection': url})
    bodies = _exercise(srv, (hc.ADMIN, hc.member_headers()), 'x')
    srv.stop()
    log = srv.log_text()
    assert ':***@' in log
    assert password not in log
    assert not any(password in body.replace(f'Sample {password}', '') for body in bodies)
