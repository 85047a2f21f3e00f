"""The q language, limits and argument binding through the shipped pipeline (§6, §7, §8)."""

import json

import pytest

from tests.conftest import ADMIN
from tests.functional.api.sampledata import error, post, sample

LIST_PATHS = ('/v2/meters', '/v2/meters/cpu', '/v2/samples', '/v2/resources')


def get(app, query, status=200, path='/v2/samples'):
    return app.get(path + '?' + query, headers=ADMIN, status=status)


@pytest.fixture
def seeded(app):
    post(app, sample(resource='r1', user_id='u1', timestamp='2020-01-01T10:00:00'))
    # An admin without user and project headers stores null owners.
    post(app, sample(resource='r2', timestamp='2020-01-01T11:00:00'),
         headers={'X-Roles': 'admin'})
    return app


def test_positional_binding_attaches_ops_to_the_first_items(seeded):
    # One q.op for two items: it belongs to the first; the second defaults to eq.
    resp = get(seeded, 'q.field=timestamp&q.field=resource&q.op=ge'
                       '&q.value=2020-01-01T10:30:00&q.value=r2')
    assert [s['resource_id'] for s in resp.json] == ['r2']
    # Swapped: the timestamp term gets the default eq, checked before other terms.
    resp = get(seeded, 'q.field=resource&q.field=timestamp&q.op=ge'
                       '&q.value=r2&q.value=2020-01-01T10:30:00', status=400)
    assert error(resp) == ("Invalid input for field/attribute op. Value: 'eq'. "
                           "unimplemented operator for timestamp")


def test_empty_op_and_type_mean_not_given(seeded):
    resp = get(seeded, 'q.field=resource&q.op=&q.value=r1&q.type=')
    assert [s['resource_id'] for s in resp.json] == ['r1']


def test_unknown_field_lists_the_query_and_valid_keys(seeded):
    resp = get(seeded, 'q.field=non_valid&q.op=gt&q.value=3&q.type=', status=400)
    assert error(resp) == (
        "Unknown argument: \"non_valid\": unrecognized field in query: "
        "[<Query 'non_valid' gt '3' ''>], valid keys: ['message_id', 'meter', 'project', "
        "'resource', 'search_offset', 'source', 'timestamp', 'user']")
    for field in ('limit', 'metaquery', 'metadata'):
        resp = get(seeded, f'q.field={field}&q.value=1', status=400)
        assert error(resp).startswith(f'Unknown argument: "{field}": unrecognized field')


def test_unknown_field_is_reported_before_a_bad_operator_of_a_later_term(seeded):
    resp = get(seeded, 'q.field=bogus&q.op=eq&q.value=1'
                       '&q.field=resource&q.op=ne&q.value=r1', status=400)
    assert error(resp).startswith('Unknown argument: "bogus"')
    resp = get(seeded, 'q.field=resource&q.op=ne&q.value=r1'
                       '&q.field=bogus&q.op=eq&q.value=1', status=400)
    assert 'unimplemented operator for resource' in error(resp)


@pytest.mark.parametrize('op', ['ne', 'gt', 'whats-up'])
def test_non_eq_operator_on_plain_and_metadata_fields(seeded, op):
    for field in ('user', 'metadata.x'):
        resp = get(seeded, f'q.field={field}&q.op={op}&q.value=1', status=400)
        assert error(resp) == (f"Invalid input for field/attribute op. Value: '{op}'. "
                               f"unimplemented operator for {field}")


def test_timestamp_operator_checks(seeded):
    resp = get(seeded, 'q.field=timestamp&q.op=eq&q.value=2020-01-01', status=400)
    assert error(resp) == ("Invalid input for field/attribute op. Value: 'eq'. "
                           "unimplemented operator for timestamp")
    # Only the first timestamp term's operator is checked; later ones are ignored.
    resp = get(seeded, 'q.field=timestamp&q.op=gt&q.value=2020-01-01T10:30:00'
                       '&q.field=timestamp&q.op=eq&q.value=garbage')
    assert [s['resource_id'] for s in resp.json] == ['r2']


def test_later_timestamp_term_of_the_same_side_overrides(seeded):
    resp = get(seeded, 'q.field=timestamp&q.op=gt&q.value=2020-01-01T10:30:00'
                       '&q.field=timestamp&q.op=ge&q.value=2019-01-01')
    assert len(resp.json) == 2


def test_invalid_timestamp(seeded):
    resp = get(seeded, 'q.field=timestamp&q.op=gt&q.value=yesterday', status=400)
    assert error(resp) == ("Invalid input for field/attribute timestamp. Value: 'yesterday'. "
                           "invalid timestamp format")


def test_search_offset_rules(seeded):
    resp = get(seeded, 'q.field=search_offset&q.value=5', status=400)
    assert error(resp) == ("Invalid input for field/attribute field. Value: 'search_offset'. "
                           "search_offset cannot be used without timestamp")
    resp = get(seeded, 'q.field=timestamp&q.op=gt&q.value=2020-01-01'
                       '&q.field=search_offset&q.op=gt&q.value=5', status=400)
    assert error(resp) == ("Invalid input for field/attribute op. Value: 'gt'. "
                           "unimplemented operator for search_offset")
    resp = get(seeded, 'q.field=timestamp&q.op=gt&q.value=2020-01-01'
                       '&q.field=search_offset&q.value=ten', status=400)
    assert error(resp).startswith('Invalid input for field/attribute search_offset.')


def test_timestamp_checks_come_before_field_checks(seeded):
    resp = get(seeded, 'q.field=bogus&q.value=1&q.field=timestamp&q.op=eq&q.value=x',
               status=400)
    assert 'unimplemented operator for timestamp' in error(resp)


@pytest.mark.parametrize('kind,value,message', [
    ('integer', '45.765', 'Unable to convert the value 45.765 to the expected data type '
                          'integer.'),
    ('float', 'abc', 'Unable to convert the value abc to the expected data type float.'),
    ('float', 'nan', 'Unable to convert the value nan to the expected data type float.'),
    ('boolean', 'maybe', 'Unable to convert the value maybe to the expected data type '
                         'boolean.'),
    ('datetime', 'soon', 'Unable to convert the value soon to the expected data type '
                         'datetime.'),
    ('complex', '1', "The data type complex is not supported. The supported data type list "
                     "is: ['integer', 'float', 'string', 'boolean', 'datetime']"),
])
def test_metadata_type_conversion_errors(seeded, kind, value, message):
    resp = get(seeded, f'q.field=metadata.x&q.value={value}&q.type={kind}', status=400)
    assert error(resp) == message


def test_metadata_values_are_never_evaluated(app):
    post(app, sample(resource_metadata={'expr': "{'$ne': 1}", 'calc': '1+1'}))
    got = app.get('/v2/samples', params={'q.field': 'metadata.expr', 'q.value': "{'$ne': 1}"},
                  headers=ADMIN).json
    assert len(got) == 1
    got = app.get('/v2/samples', params={'q.field': 'metadata.calc', 'q.value': '1+1'},
                  headers=ADMIN).json
    assert len(got) == 1
    got = app.get('/v2/samples', params={'q.field': 'metadata.calc', 'q.value': '2'},
                  headers=ADMIN).json
    assert got == []


def test_none_matches_a_null_owner(seeded):
    for field in ('user', 'project_id'):
        resp = get(seeded, f'q.field={field}&q.value=None')
        assert [s['resource_id'] for s in resp.json] == ['r2']


@pytest.mark.parametrize('path', LIST_PATHS)
def test_limit_rules_on_every_list(seeded, path):
    assert error(get(seeded, 'limit=0', 400, path)) == 'Limit must be positive'
    assert error(get(seeded, 'limit=-1', 400, path)) == 'Limit must be positive'
    assert error(get(seeded, 'limit=abc', 400, path)) == (
        "Invalid input for field/attribute limit. Value: 'abc'. unable to convert to int")
    assert error(get(seeded, 'limit=1&limit=1', 400, path)).startswith(
        'Invalid input for field/attribute limit.')
    assert len(get(seeded, 'limit=1', path=path).json) == 1


def test_limit_above_the_maximum_names_the_option(make_app):
    app = make_app(api={'max_api_return_limit': 50})
    resp = app.get('/v2/samples?limit=51', headers=ADMIN, status=400)
    assert 'max_api_return_limit' in error(resp)
    app.get('/v2/samples?limit=50', headers=ADMIN, status=200)


def test_default_limit_is_100_and_configurable(app, make_app):
    post(app, *[sample(resource=f'r{i}') for i in range(105)])
    assert len(app.get('/v2/samples', headers=ADMIN).json) == 100
    assert len(app.get('/v2/resources', headers=ADMIN).json) == 100
    assert len(app.get('/v2/meters', headers=ADMIN).json) == 100
    small = make_app(api={'default_api_return_limit': 7})
    assert len(small.get('/v2/samples', headers=ADMIN).json) == 7


@pytest.mark.parametrize('path', LIST_PATHS)
def test_unknown_arguments(seeded, path):
    assert error(get(seeded, 'bad_Stuff_here=1', 400, path)) == \
        'Unknown argument: "bad_Stuff_here"'
    assert error(get(seeded, 'q=1', 400, path)) == 'Unknown argument: "q"'
    assert error(get(seeded, 'q.colour=1', 400, path)) == 'Unknown argument: "q.colour"'


def test_arguments_in_a_json_body_of_a_get(seeded):
    body = {'q': [{'field': 'resource', 'value': 'r2'}], 'limit': 5}
    resp = seeded.request('/v2/samples', method='GET', body=json.dumps(body).encode(),
                          headers=dict(ADMIN, **{'Content-Type': 'application/json'}))
    assert [s['resource_id'] for s in resp.json] == ['r2']
    body = {'q': [{'field': 'timestamp', 'op': 'gt', 'value': '2020-01-01T10:30:00'},
                  {'field': 'user', 'value': 'None'}]}
    resp = seeded.request('/v2/samples', method='GET', body=json.dumps(body).encode(),
                          headers=dict(ADMIN, **{'Content-Type': 'application/json'}))
    assert [s['resource_id'] for s in resp.json] == ['r2']


def test_json_body_of_a_get_must_be_an_object_of_json(seeded):
    resp = seeded.request('/v2/samples', method='GET', body=b'[1]', status=400,
                          headers=dict(ADMIN, **{'Content-Type': 'application/json'}))
    assert error(resp)
    seeded.request('/v2/samples', method='GET', body=b'limit=1', status=415,
                   headers=dict(ADMIN, **{'Content-Type': 'text/plain'}))


def test_too_many_terms_is_a_client_error(seeded):
    terms = '&'.join(f'q.field=metadata.k{i}&q.value=v' for i in range(201))
    assert error(get(seeded, terms, 400)) == 'Too many query terms: 201 (at most [api] max_query_terms = 200)'
    terms = '&'.join(f'q.field=metadata.k{i}&q.value=v' for i in range(200))
    for path in LIST_PATHS:
        assert get(seeded, terms, path=path).json == []
