"""The OpenAPI document is served, valid, and true: real responses validate against it."""

import json
import re
import urllib.parse

import jsonschema
import pytest
import referencing
import referencing.jsonschema

from meterd.api.controllers import openapi
from tests.functional.hardening import conftest as hc

with open(openapi.DOCUMENT, encoding='utf-8') as _f:
    DOC = json.load(_f)
_URI = 'urn:meterd:openapi'
_REGISTRY = referencing.Registry().with_resource(
    _URI, referencing.Resource.from_contents(
        DOC, default_specification=referencing.jsonschema.DRAFT202012))


def _template(path):
    """The documented path template matching a concrete path."""
    for template in DOC['paths']:
        pattern = '^' + re.sub(r'\{[^}]+\}', '[^/]+', template) + '$'
        if re.match(pattern, path):
            return template
    raise AssertionError(f'{path} is not documented')


def _response_pointer(method, path, status):
    template = _template(path.split('?', 1)[0])
    responses = DOC['paths'][template][method.lower()]['responses']
    key = str(status) if str(status) in responses else 'default'
    assert key in responses, f'{method} {template} {status} is not documented'
    response = responses[key]
    if '$ref' in response:
        name = response['$ref'].rsplit('/', 1)[1]
        return f'/components/responses/{name}', DOC['components']['responses'][name]
    escaped = template.replace('~', '~0').replace('/', '~1')
    return f'/paths/{escaped}/{method.lower()}/responses/{key}', response


def assert_documented(resp, method, path):
    """Validate a webtest response's status, content type and JSON body against the document."""
    pointer, response = _response_pointer(method, path, resp.status_int)
    media = resp.content_type
    assert media in response.get('content', {}), f'{media} not documented for {method} {path}'
    if media != 'application/json':
        return
    schema = {'$ref': f'{_URI}#{pointer}/content/application~1json/schema'}
    validator = jsonschema.Draft202012Validator(schema, registry=_REGISTRY)
    errors = sorted(validator.iter_errors(resp.json), key=lambda e: e.path)
    assert not errors, [f'{list(e.path)}: {e.message}' for e in errors[:5]]


def test_every_component_schema_is_valid_json_schema():
    assert DOC['openapi'] == '3.1.0'
    for schema in DOC['components']['schemas'].values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_document_is_served_at_v2_openapi_json(app):
    resp = app.get('/v2/openapi.json', headers=hc.ADMIN)
    assert resp.json == DOC
    assert_documented(resp, 'GET', '/v2/openapi.json')


def test_document_needs_authentication_like_the_rest(make_app):
    resp = make_app(auth_strategy='token').get('/v2/openapi.json', status=401)
    assert resp.json['error_message']['faultcode'] == 'Client'


@pytest.fixture
def seeded(app):
    posts = [
        ('cpu', [hc.sample('cpu', 'vm-1', project='proj-a', user_id='u1', volume=1.5,
                           timestamp='2024-05-01T10:00:00',
                           resource_metadata={'flavor': {'name': 'm1'}, 'a.b': 1, 'ok': True}),
                 hc.sample('cpu', 'vm-2', project='proj-b', volume=3,
                           timestamp='2024-05-01T11:00:00+02:00')]),
        ('disk.read.bytes', [hc.sample('disk.read.bytes', 'vm-1', project='proj-a',
                                       counter_type='cumulative')]),
        ('métrique-é', [hc.sample('métrique-é', 'ресурс-😀', project='proj-a')]),
    ]
    for name, body in posts:
        path = '/v2/meters/' + urllib.parse.quote(name)
        resp = app.post_json(path, body, headers=hc.ADMIN)
        assert_documented(resp, 'POST', path)
    return app


REQUESTS = [
    ('GET', '/'), ('GET', '/v2'), ('GET', '/v2/capabilities'), ('GET', '/v2/meters'),
    ('GET', '/v2/meters?unique=true'), ('GET', '/v2/meters?limit=1'),
    ('GET', '/v2/meters/cpu'), ('GET', '/v2/meters/nope'),
    ('GET', '/v2/meters/cpu?q.field=metadata.flavor.name&q.op=eq&q.value=m1'),
    ('GET', '/v2/meters/cpu/statistics'),
    ('GET', '/v2/meters/cpu/statistics?groupby=project_id&groupby=resource_metadata.flavor.name'),
    ('GET', '/v2/meters/cpu/statistics?period=600'),
    ('GET', '/v2/meters/cpu/statistics?aggregate.func=stddev&aggregate.func=cardinality'
            '&aggregate.param=&aggregate.param=resource_id'),
    ('GET', '/v2/meters/cpu/statistics?aggregate.func=max'),
    ('GET', '/v2/samples'), ('GET', '/v2/samples?limit=2'),
    ('GET', '/v2/resources'), ('GET', '/v2/resources?meter_links=0'),
    ('GET', '/v2/resources/vm-1'), ('GET', '/v2/resources/nope'),
    ('GET', '/v2/samples/nope'),
    ('GET', '/v2/meters?limit=0'), ('GET', '/v2/meters?limit=abc'),
    ('GET', '/v2/samples?q.field=bogus&q.value=1'), ('GET', '/v2/alarms'),
    ('GET', '/healthcheck'),
]


@pytest.mark.parametrize('method, path', REQUESTS)
def test_responses_match_the_document(seeded, method, path):
    resp = seeded.request(path, method=method, headers=hc.ADMIN, status='*')
    assert resp.status_int < 500
    assert_documented(resp, method, path)


@pytest.mark.parametrize('headers', [hc.ADMIN, hc.member_headers('proj-a')])
def test_sample_and_complex_query_responses_match(seeded, headers):
    sample_id = seeded.get('/v2/samples', headers=hc.ADMIN).json[0]['id']
    resp = seeded.get(f'/v2/samples/{sample_id}', headers=headers, status='*')
    assert_documented(resp, 'GET', f'/v2/samples/{sample_id}')
    for body in ({}, {'filter': json.dumps({'=': {'meter': 'cpu'}}),
                      'orderby': json.dumps([{'volume': 'asc'}]), 'limit': 5},
                 {'filter': '{bad'}, {'limit': 0}):
        resp = seeded.post_json('/v2/query/samples', body, headers=headers, status='*')
        assert resp.status_int < 500
        assert_documented(resp, 'POST', '/v2/query/samples')


def test_post_errors_match_the_document(seeded):
    for body in ([], [{'counter_name': 'x'}], [hc.sample('cpu', 'r', counter_type='bad')], {}):
        resp = seeded.post_json('/v2/meters/cpu', body, headers=hc.ADMIN, status=400)
        assert_documented(resp, 'POST', '/v2/meters/cpu')
    resp = seeded.post('/v2/meters/cpu', params=b'{"bad', content_type='application/json',
                       headers=hc.ADMIN, status=400)
    assert_documented(resp, 'POST', '/v2/meters/cpu')
