"""The paste file is the operator's: filters are added and removed by editing a copy of it."""

import re

from oslo_config import cfg
from oslo_middleware import sizelimit
import pytest
import webtest

from meterd.api import app as api_app
from meterd import exception
from tests import conftest


def _edited_copy(tmp_path, pipeline, extra_sections=''):
    """The shipped etc/api-paste.ini with the noauth pipeline replaced."""
    with open(conftest.PASTE_FILE) as f:
        text = f.read()
    text = re.sub(r'^noauth = .*$', f'noauth = {pipeline}', text, count=1, flags=re.M)
    path = tmp_path / 'api-paste.ini'
    path.write_text(text + '\n' + extra_sections)
    return str(path)


OPERATOR_FILTERS = '''
[filter:cors]
use = egg:oslo.middleware#cors
allowed_origin = https://dashboard.example.com

[filter:http_proxy_to_wsgi]
use = egg:oslo.middleware#http_proxy_to_wsgi
enable_proxy_headers_parsing = true

[filter:small_sizelimit]
use = egg:oslo.middleware#sizelimit
max_request_body_size = 1024
'''


@pytest.fixture
def operator_app(make_app, tmp_path):
    """cors and http_proxy_to_wsgi added; healthcheck and the shipped sizelimit removed."""
    paste = _edited_copy(tmp_path, 'cors http_proxy_to_wsgi request_id fault '
                                   'small_sizelimit noauth v2', OPERATOR_FILTERS)
    return make_app(paste_file=paste)


def test_added_cors_answers_the_allowed_origin(operator_app):
    resp = operator_app.get('/v2', headers={'Origin': 'https://dashboard.example.com'})
    assert resp.headers['Access-Control-Allow-Origin'] == 'https://dashboard.example.com'
    other = operator_app.get('/v2', headers={'Origin': 'https://evil.example.com'})
    assert 'Access-Control-Allow-Origin' not in other.headers


def test_added_http_proxy_to_wsgi_makes_links_use_the_public_scheme(operator_app):
    resp = operator_app.get('/', headers={'Host': 'telemetry.example.com',
                                          'X-Forwarded-Proto': 'https'})
    links = resp.json['versions']['values'][0]['links']
    assert links[0]['href'] == 'https://telemetry.example.com/v2'


def test_removed_healthcheck_is_an_ordinary_unknown_path(operator_app):
    resp = operator_app.get('/healthcheck', status=404)
    assert resp.json['error_message']['faultcode'] == 'Client'


def test_sizelimit_answers_413_with_the_json_body(operator_app):
    resp = operator_app.post('/v2/query/samples', params='x' * 2048,
                             headers=dict(conftest.ADMIN, **{'Content-Type': 'application/json'}),
                             status=413)
    assert resp.json['error_message']['faultcode'] == 'Client'
    assert resp.headers['x-openstack-request-id'].startswith('req-')


def _filters(app):
    """The middleware objects of a loaded pipeline, outermost first."""
    found, node = [], app.app  # webtest.TestApp -> the WSGI app
    while node is not None:
        found.append(node)
        node = getattr(node, 'application', None) or getattr(node, 'app', None)
    return found


def test_oslo_middleware_filters_do_not_use_the_global_conf(make_app, tmp_path):
    conf_file = tmp_path / 'meterd.conf'
    conf_file.write_text('[oslo_middleware]\nmax_request_body_size = 512\n')
    paste = _edited_copy(tmp_path, 'request_id fault sizelimit_from_conf noauth v2',
                         '[filter:sizelimit_from_conf]\nuse = egg:oslo.middleware#sizelimit\n')
    conf = conftest.make_conf(tmp_path, api={'auth_strategy': 'noauth'},
                              database={'connection': f'sqlite:///{tmp_path}/m.db'})
    conf.set_override('config_file', [str(conf_file)])
    app = webtest.TestApp(api_app.load_app(conf, paste_file=paste))
    limiter = next(f for f in _filters(app) if isinstance(f, sizelimit.RequestBodySizeLimiter))
    assert limiter.oslo_conf is not cfg.CONF
    app.post('/v2/query/samples', params='x' * 600,
             headers=dict(conftest.ADMIN, **{'Content-Type': 'application/json'}), status=413)


def test_shipped_pipeline_starts_with_request_id_then_fault(app):
    names = [type(f).__name__ for f in _filters(app)[:2]]
    assert names == ['RequestId', 'FaultMiddleware']


def test_wrong_method_names_the_method_and_keeps_allow(app):
    resp = app.delete('/v2/meters', status=405)
    assert resp.headers['Allow'] == 'GET'
    assert resp.json == {'error_message': {
        'faultcode': 'Client', 'debuginfo': None,
        'faultstring': 'The method DELETE is not allowed for this resource.'}}


def test_a_strategy_without_a_pipeline_is_a_config_error(make_app, tmp_path):
    with open(conftest.PASTE_FILE) as f:
        text = f.read()
    path = tmp_path / 'api-paste.ini'
    path.write_text(re.sub(r'^token = .*\n', '', text, count=1, flags=re.M))
    with pytest.raises(exception.ConfigError) as exc:
        make_app(auth_strategy='token', paste_file=str(path))
    assert "no pipeline 'token'" in exc.value.message


def test_unknown_storage_scheme_lists_the_choices(make_app):
    with pytest.raises(exception.ConfigError) as exc:
        make_app(connection='cassandra://db.example.com/meterd')
    message = exc.value.message
    assert message.startswith("[database] connection: no storage driver for scheme 'cassandra'")
    assert '(choices: mongodb, postgresql, sqlite)' in message


def test_missing_paste_file_is_a_config_error(tmp_path):
    conf = conftest.make_conf(tmp_path, api={'paste_config': 'nowhere.ini'})
    with pytest.raises(exception.ConfigError) as exc:
        api_app.load_app(conf)
    assert 'paste_config' in exc.value.message
