"""The frame's own filters alone, each over a tiny WSGI app, built through its filter_factory."""

import json

from oslo_context import context as oslo_context
import pytest
import webob
import webob.exc
import webtest

from meterd.api.middleware import auth
from meterd.api.middleware import fault
from meterd.api import server
from meterd import exception
from meterd import storage
from tests import conftest


def _echo_context(environ, start_response):
    ctx = environ['meterd.context']
    body = json.dumps({'user': ctx.user_id, 'project': ctx.project_id, 'roles': ctx.roles,
                       'is_admin': ctx.is_admin, 'request_id': ctx.request_id}).encode()
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [body]


def _raising(error):
    def app(environ, start_response):
        raise error
    return app


def _with_fault(app):
    return webtest.TestApp(fault.filter_factory({})(app))


@pytest.mark.parametrize('error, status, message', [
    (exception.InvalidInput('Limit must be positive'), 400, 'Limit must be positive'),
    (exception.StorageUnavailable(), 503, 'The storage backend is unavailable; try again later.'),
    (webob.exc.HTTPNotFound(), 404, 'The resource could not be found.'),
    (RuntimeError('secret detail: password=x'), 500, 'Internal Server Error'),
])
def test_fault_renders_every_error_as_the_v2_body(error, status, message):
    resp = _with_fault(_raising(error)).get('/', status=status)
    assert resp.json == {'error_message': {
        'faultcode': 'Client' if status < 500 else 'Server', 'faultstring': message,
        'debuginfo': None}}


def test_fault_binds_the_request_id_to_the_log_context():
    seen = []

    def app(environ, start_response):
        seen.append(oslo_context.get_current().request_id)
        start_response('204 No Content', [])
        return []
    _with_fault(app).get('/', extra_environ={'openstack.request_id': 'req-abc'}, status=204)
    assert seen == ['req-abc']


def test_fault_names_the_method_of_a_405():
    def app(environ, start_response):
        return webob.exc.HTTPMethodNotAllowed(headers=[('Allow', 'GET')])(
            environ, start_response)
    resp = _with_fault(app).put('/', status=405)
    assert resp.json['error_message']['faultstring'] == \
        'The method PUT is not allowed for this resource.'
    assert resp.headers['Allow'] == 'GET'


def _writing(environ, start_response):
    write = start_response('200 OK', [('Content-Type', 'text/plain')])
    write(b'written ')
    return [b'returned']


def _late_start(status):
    def app(environ, start_response):
        start_response(status, [('Content-Type', 'text/plain')])
        yield b'late'
    return app


def _located(environ, start_response):
    start_response('201 Created', [('Location', '/v2/x'), ('Content-Length', '0')])
    return [b'']


@pytest.mark.parametrize('app, body', [(_writing, b'written returned'),
                                       (_late_start('200 OK'), b'late')])
def test_fault_passes_successful_answers_through(app, body):
    resp = _with_fault(app).get('/')
    assert resp.body == body and resp.content_type == 'text/plain'
    assert _with_fault(app).head('/').body == b''


def test_fault_makes_a_location_absolute_as_webob_does():
    resp = _with_fault(_located).get('/', status=201)
    assert resp.headers['Location'] == 'http://localhost/v2/x'


def test_fault_rerenders_an_error_started_late():
    resp = _with_fault(_late_start('404 Not Found')).get('/', status=404)
    assert resp.json['error_message']['faultstring'] == 'The resource could not be found.'


def test_noauth_builds_the_context_from_the_three_headers():
    app = webtest.TestApp(auth.noauth_factory({})(_echo_context))
    body = app.get('/', headers={'X-User-Id': 'u', 'X-Project-Id': 'p',
                                 'X-Roles': 'member, admin'}).json
    assert (body['user'], body['project'], body['roles']) == ('u', 'p', ['member', ' admin'])
    assert body['is_admin'] is False  # " admin" is not admin (spec §1)
    assert app.get('/', headers={'X-Roles': 'Member,admin'}).json['is_admin'] is True


def test_token_auth_replaces_forged_headers_with_the_token_identity(tmp_path):
    path = tmp_path / 'tokens.json'
    path.write_text(json.dumps({'t1': {'user_id': 'u1', 'project_id': 'p1',
                                       'roles': ['member']}}))
    app = webtest.TestApp(auth.TokenAuth(_echo_context, auth.TokenStore(str(path))))
    body = app.get('/', headers={'X-Auth-Token': 't1', 'X-Project-Id': 'p-other',
                                 'X-Roles': 'admin'},
                   extra_environ={'openstack.request_id': 'req-1'}).json
    assert body == {'user': 'u1', 'project': 'p1', 'roles': ['member'], 'is_admin': False,
                    'request_id': 'req-1'}


def test_token_store_refuses_everything_when_the_file_is_not_a_token_map(tmp_path):
    path = tmp_path / 'tokens.json'
    path.write_text('["not", "a", "map"]')
    assert auth.TokenStore(str(path)).lookup('not') is None


def test_identity_headers_are_stripped():
    environ = {'HTTP_X_USER_ID': 'u', 'HTTP_X_PROJECT_ID': 'p', 'HTTP_X_ROLES': 'admin',
               'HTTP_X_IDENTITY_STATUS': 'Confirmed', 'HTTP_X_SERVICE_ROLES': 'admin',
               'HTTP_X_TENANT_ID': 'p', 'HTTP_X_AUTH_TOKEN': 'keep', 'HTTP_ACCEPT': 'keep'}
    auth.strip_identity_headers(environ)
    assert environ == {'HTTP_X_AUTH_TOKEN': 'keep', 'HTTP_ACCEPT': 'keep'}


@pytest.mark.parametrize('host, allowed, refused', [
    ('127.0.0.1', False, False),
    ('::1', False, False),
    ('localhost', False, False),
    ('0.0.0.0', False, True),
    ('192.0.2.10', False, True),
    ('0.0.0.0', True, False),
])
def test_noauth_bind_check(tmp_path, host, allowed, refused):
    conf = conftest.make_conf(tmp_path, api={'auth_strategy': 'noauth', 'host': host,
                                             'noauth_allow_remote': allowed})
    if refused:
        with pytest.raises(exception.ConfigError) as exc:
            server.check_bind(conf)
        assert 'noauth_allow_remote' in exc.value.message
    else:
        server.check_bind(conf)


def test_other_strategies_bind_anywhere(tmp_path):
    server.check_bind(conftest.make_conf(tmp_path, api={'host': '0.0.0.0'}))


@pytest.mark.parametrize('url, masked', [
    ('postgresql://meterd:s3cret@db:5432/meterd', 'postgresql://meterd:***@db:5432/meterd'),
    ('sqlite:////var/lib/meterd/m.db', 'sqlite:////var/lib/meterd/m.db'),
    ('mongodb://u:p@h1,h2/db?replicaSet=rs', 'mongodb://u:***@h1,h2/db?replicaSet=rs'),
])
def test_mask_url_hides_passwords(url, masked):
    assert storage.mask_url(url) == masked
