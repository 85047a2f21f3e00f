"""Regressions found by a black-box audit against the behavioural spec.

Each test pins one discrepancy the audit found (and fixed), through the
shipped paste pipeline on every store.
"""

import json

import pytest

from tests.conftest import ADMIN
from tests.functional.api.sampledata import error, post, sample

JSON_HEADERS = dict(ADMIN, **{'Content-Type': 'application/json'})


@pytest.fixture
def seeded(app):
    post(app, sample(resource='r1', timestamp='2020-01-01T10:00:00'),
         sample(resource='r2', timestamp='2020-01-01T11:00:00'),
         sample(resource='r3', timestamp='2020-01-01T12:00:00'))
    return app


def _get_with_body(app, path, body, status=200):
    return app.request(path, method='GET', body=json.dumps(body).encode(),
                       headers=JSON_HEADERS, status=status)


# -- §6.5: a JSON body of a GET combines with the query string -----------------


def test_query_string_and_json_body_of_a_get_combine(seeded):
    resp = _get_with_body(seeded, '/v2/samples?limit=1',
                          {'q': [{'field': 'timestamp', 'op': 'lt',
                                  'value': '2020-01-01T11:30:00'}]})
    assert [s['resource_id'] for s in resp.json] == ['r2']
    resp = _get_with_body(seeded, '/v2/samples?q.field=resource&q.value=r1', {'limit': 5})
    assert [s['resource_id'] for s in resp.json] == ['r1']
    # An empty object body leaves the query string in force.
    resp = _get_with_body(seeded, '/v2/samples?q.field=resource&q.value=r3', {})
    assert [s['resource_id'] for s in resp.json] == ['r3']


def test_argument_in_query_string_and_json_body_is_400(seeded):
    resp = _get_with_body(seeded, '/v2/samples?limit=1', {'limit': 2}, status=400)
    assert error(resp) == 'Parameter limit was given several times'
    resp = _get_with_body(seeded, '/v2/samples?q.field=resource&q.value=r1',
                          {'q': [{'field': 'resource', 'value': 'r2'}]}, status=400)
    assert error(resp) == 'Parameter q was given several times'


# -- §7.4: search_offset is converted after every term is validated --------------


def test_unknown_field_is_reported_before_a_bad_search_offset_value(seeded):
    resp = seeded.get('/v2/samples?q.field=timestamp&q.op=gt&q.value=2020-01-01T00:00:00'
                      '&q.field=search_offset&q.value=abc&q.field=bogus&q.value=1',
                      headers=ADMIN, status=400)
    assert error(resp).startswith('Unknown argument: "bogus": unrecognized field in query: '
                                  "[<Query 'timestamp' gt '2020-01-01T00:00:00' Unset>, "
                                  "<Query 'search_offset' eq 'abc' Unset>, "
                                  "<Query 'bogus' eq '1' Unset>], valid keys: [")
    resp = seeded.get('/v2/samples?q.field=timestamp&q.op=gt&q.value=2020-01-01T00:00:00'
                      '&q.field=search_offset&q.op=eq&q.value=abc&q.field=metadata.x&q.op=ne'
                      '&q.value=1', headers=ADMIN, status=400)
    assert error(resp) == ("Invalid input for field/attribute op. Value: 'ne'. "
                           "unimplemented operator for metadata.x")
    # Alone, the bad offset is still a 400 naming it.
    resp = seeded.get('/v2/samples?q.field=timestamp&q.op=gt&q.value=2020-01-01T00:00:00'
                      '&q.field=search_offset&q.value=abc', headers=ADMIN, status=400)
    assert error(resp) == ("Invalid input for field/attribute search_offset. Value: 'abc'. "
                           "unable to convert to int")


# -- §5.4: 406 and 415 say what went wrong (not WebOb's generic 400 text) ---------


@pytest.mark.parametrize('accept', ['text/plain', 'text/plain, application/binary;q=0.8'])
def test_not_acceptable_explains_itself(app, accept):
    resp = app.get('/v2/meters', headers=dict(ADMIN, Accept=accept), status=406)
    assert resp.content_type == 'application/json'
    assert error(resp) == ('The server answers application/json (errors also '
                           'application/xml); the Accept header admits neither.')


def test_unsupported_media_type_explains_itself(app):
    resp = app.post('/v2/meters/cpu', b'abc', status=415,
                    headers=dict(ADMIN, **{'Content-Type': 'text/plain'}))
    assert error(resp) == ('The request body media type is not supported; '
                           'send application/json.')
    resp = app.post('/v2/meters/cpu', b'abc', status=415, headers=dict(
        ADMIN, **{'Content-Type': 'text/plain', 'Accept': 'application/xml'}))
    assert resp.content_type == 'application/xml'
    assert b'<faultstring>The request body media type is not supported' in resp.body


# -- §5.3: the observed negotiation cases, pinned -----------------------------------


@pytest.mark.parametrize('accept', [
    None, 'application/json', 'application/json,application/xml',
    'application/xml;q=0.8, application/json', 'text/html,*/*'])
def test_error_body_is_json_for_the_observed_json_cases(app, accept):
    headers = dict(ADMIN, **({'Accept': accept} if accept else {}))
    resp = app.get('/v2/meters?limit=0', headers=headers, status=400)
    assert resp.content_type == 'application/json'
    assert resp.json == {'error_message': {
        'faultcode': 'Client', 'faultstring': 'Limit must be positive', 'debuginfo': None}}


@pytest.mark.parametrize('accept', ['application/xml,*/*',
                                    'application/json;q=0.8,application/xml'])
def test_error_body_is_xml_for_the_observed_xml_cases(app, accept):
    headers = dict(ADMIN, Accept=accept)
    resp = app.get('/v2/meters?limit=0', headers=headers, status=400)
    assert resp.content_type == 'application/xml'
    assert resp.body.split(b'?>', 1)[-1].strip() == (
        b'<error_message><error><faultcode>Client</faultcode><faultstring>Limit must be '
        b'positive</faultstring><debuginfo /></error></error_message>')
    # Framework errors (unknown path, wrong method) take the same shape.
    for method, path, status in (('GET', '/v2/nope', 404), ('DELETE', '/v2/meters', 405)):
        resp = app.request(path, method=method, headers=headers, status=status)
        assert resp.content_type == 'application/xml'
        assert resp.body.split(b'?>', 1)[-1].strip().startswith(
            b'<error_message><error><faultcode>Client</faultcode><faultstring>')
