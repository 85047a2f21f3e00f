"""POST /v2/query/samples through the shipped pipeline on SQLite (spec §9.8)."""

import json
import time

import pytest

from tests.conftest import ADMIN
from tests.conftest import member_headers

DAY = '2013-03-01T'


def post(app, name, samples):
    body = []
    for s in samples:
        body.append({'counter_name': name, 'counter_type': s.get('type', 'gauge'),
                     'counter_unit': s.get('unit', 'B'), 'counter_volume': s['volume'],
                     'resource_id': s['resource'], 'project_id': s['project'],
                     'user_id': s.get('user', 'u1'), 'timestamp': s['timestamp'],
                     'resource_metadata': s.get('metadata', {})})
    app.post_json(f'/v2/meters/{name}', body, headers=ADMIN, status=201)


@pytest.fixture
def data(app):
    """Six samples of two meters over three resources and two projects."""
    post(app, 'cpu_util', [
        {'volume': 10, 'resource': 'resource-id1-x', 'project': 'p1', 'user': 'u1',
         'timestamp': DAY + '10:00:00', 'metadata': {'util': '0.25', 'size': 1}},
        {'volume': 20, 'resource': 'resource-id2-x', 'project': 'p1', 'user': 'u2',
         'timestamp': DAY + '10:01:00', 'metadata': {'util': '0.75', 'size': 2.5}},
        {'volume': 30, 'resource': 'resource-id3-x', 'project': 'p2', 'user': 'u3',
         'timestamp': DAY + '10:02:00', 'metadata': {'util': '0.95', 'size': 3,
                                                     'flavor': {'name': 'm1.tiny'}}},
    ])
    post(app, 'disk.read.bytes', [
        {'volume': 1, 'resource': 'resource-id1-x', 'project': 'p1', 'user': 'u1',
         'timestamp': DAY + '09:00:00', 'type': 'cumulative'},
        {'volume': 2, 'resource': 'resource-id2-x', 'project': 'p1', 'user': 'u2',
         'timestamp': DAY + '11:00:00', 'type': 'cumulative'},
        {'volume': 3, 'resource': 'resource-id3-x', 'project': 'p2', 'user': 'u3',
         'timestamp': DAY + '12:00:00', 'type': 'cumulative'},
    ])
    return app


def query(app, filter_=None, orderby=None, limit=None, headers=ADMIN, status=200, raw=None):
    body = {}
    if filter_ is not None:
        body['filter'] = filter_ if isinstance(filter_, str) else json.dumps(filter_)
    if orderby is not None:
        body['orderby'] = orderby if isinstance(orderby, str) else json.dumps(orderby)
    if limit is not None:
        body['limit'] = limit
    return app.post_json('/v2/query/samples', body if raw is None else raw,
                         headers=headers, status=status).json


def volumes(result):
    return [s['volume'] for s in result]


def error(app, status=400, **kwargs):
    body = query(app, status=status, **kwargs)
    assert body['error_message']['faultcode'] == 'Client'
    return body['error_message']['faultstring']


# -- results and ordering ---------------------------------------------------------


def test_empty_body_returns_every_sample_newest_first(data):
    got = query(data)
    assert volumes(got) == [3.0, 2.0, 30.0, 20.0, 10.0, 1.0]
    assert set(got[0]) == {'id', 'meter', 'type', 'unit', 'volume', 'user_id', 'project_id',
                           'resource_id', 'source', 'timestamp', 'recorded_at', 'metadata'}
    assert got[0]['meter'] == 'disk.read.bytes'
    assert got[0]['type'] == 'cumulative'
    assert got[0]['timestamp'] == DAY + '12:00:00'
    assert got[0]['source'] == 'p2:openstack'


def test_no_body_at_all_is_the_empty_query(data):
    resp = data.post('/v2/query/samples', headers=ADMIN)
    assert len(resp.json) == 6


def test_the_client_form_with_json_texts_and_a_string_limit(data):
    got = query(data, raw={'filter': '{"=": {"meter": "cpu_util"}}',
                           'orderby': '[{"timestamp": "DESC"}]', 'limit': '2'})
    assert volumes(got) == [30.0, 20.0]


def test_orderby_alias_and_case_insensitive_direction(data):
    assert volumes(query(data, orderby=[{'volume': 'aSc'}])) == [1.0, 2.0, 3.0, 10.0, 20.0,
                                                                30.0]
    assert volumes(query(data, orderby=[{'counter_volume': 'DeSc'}]))[0] == 30.0


def test_orderby_several_fields_first_is_primary(data):
    got = query(data, orderby=[{'user': 'desc'}, {'meter': 'asc'}])
    assert [(s['user_id'], s['meter']) for s in got] == [
        ('u3', 'cpu_util'), ('u3', 'disk.read.bytes'), ('u2', 'cpu_util'),
        ('u2', 'disk.read.bytes'), ('u1', 'cpu_util'), ('u1', 'disk.read.bytes')]


def test_limit_applies_after_ordering(data):
    assert volumes(query(data, orderby=[{'volume': 'asc'}], limit=2)) == [1.0, 2.0]


# -- operators ------------------------------------------------------------------------


@pytest.mark.parametrize('op,value,expected', [
    ('=', 20, [20.0]), ('!=', 20, [3.0, 2.0, 30.0, 10.0, 1.0]),
    ('<', 10, [3.0, 2.0, 1.0]), ('<=', 10, [3.0, 2.0, 10.0, 1.0]),
    ('=<', 10, [3.0, 2.0, 10.0, 1.0]), ('>', 10, [30.0, 20.0]),
    ('>=', 10, [30.0, 20.0, 10.0]), ('=>', 10, [30.0, 20.0, 10.0]),
])
def test_comparison_operators_on_volume(data, op, value, expected):
    assert volumes(query(data, {op: {'volume': value}})) == expected


def test_string_volume_is_compared_as_a_number(data):
    assert volumes(query(data, {'>': {'counter_volume': '25'}})) == [30.0]


def test_equality_on_each_alias_and_model_field(data):
    assert volumes(query(data, {'=': {'meter': 'disk.read.bytes'}})) == [3.0, 2.0, 1.0]
    assert volumes(query(data, {'=': {'counter_name': 'cpu_util'}})) == [30.0, 20.0, 10.0]
    assert volumes(query(data, {'=': {'type': 'cumulative'}})) == [3.0, 2.0, 1.0]
    assert volumes(query(data, {'=': {'unit': 'B'}})) == [3.0, 2.0, 30.0, 20.0, 10.0, 1.0]
    assert volumes(query(data, {'=': {'user': 'u2'}})) == [2.0, 20.0]
    assert volumes(query(data, {'=': {'project_id': 'p2'}})) == [3.0, 30.0]
    assert volumes(query(data, {'=': {'resource': 'resource-id1-x'}})) == [10.0, 1.0]
    assert volumes(query(data, {'=': {'source': 'p1:openstack'}})) == [2.0, 20.0, 10.0, 1.0]


def test_message_id_equality(data):
    first = query(data)[0]
    assert query(data, {'=': {'message_id': first['id']}}) == [first]


def test_timestamp_comparisons(data):
    assert volumes(query(data, {'and': [{'>=': {'timestamp': DAY + '10:00:00'}},
                                        {'<': {'timestamp': DAY + '11:00:00'}}]})) == [
        30.0, 20.0, 10.0]
    assert volumes(query(data, {'>': {'timestamp': '2013-03-01T11:30:00+01:00'}})) == [
        3.0, 2.0]


def test_in_and_case_insensitive_keywords(data):
    assert volumes(query(data, {'In': {'resource': ['resource-id1-x', 'resource-id3-x']}})
                   ) == [3.0, 30.0, 10.0, 1.0]
    assert volumes(query(data, {'AND': [{'=': {'meter': 'cpu_util'}},
                                        {'Or': [{'=': {'volume': 10}},
                                                {'=': {'volume': 30}}]}]})) == [30.0, 10.0]
    assert volumes(query(data, {'NOT': {'=': {'meter': 'cpu_util'}}})) == [3.0, 2.0, 1.0]


def test_not_of_not_and_de_morgan(data):
    assert volumes(query(data, {'not': {'not': {'=': {'volume': 20}}}})) == [20.0]
    assert volumes(query(data, {'not': {'or': [{'=': {'meter': 'cpu_util'}},
                                               {'<': {'volume': 2}}]}})) == [3.0, 2.0]


def test_regex_is_searched_anywhere_with_anchors(data):
    assert volumes(query(data, {'=~': {'resource': '^resource-id[23]-x$'}})) == [
        3.0, 2.0, 30.0, 20.0]
    assert volumes(query(data, {'=~': {'meter': 'read'}})) == [3.0, 2.0, 1.0]
    assert volumes(query(data, {'not': {'=~': {'resource': 'id1'}}})) == [
        3.0, 2.0, 30.0, 20.0]


# -- metadata -----------------------------------------------------------------------------


def test_string_metadata_compares_as_text(data):
    assert volumes(query(data, {'>=': {'metadata.util': '0.5'}})) == [30.0, 20.0]
    assert volumes(query(data, {'not': {'>=': {'metadata.util': '0.5'}}})) == [
        3.0, 2.0, 10.0, 1.0]


def test_numeric_metadata_compares_numerically_for_int_and_float(data):
    assert volumes(query(data, {'>': {'metadata.size': 2}})) == [30.0, 20.0]
    assert volumes(query(data, {'<=': {'resource_metadata.size': 2.5}})) == [20.0, 10.0]
    assert volumes(query(data, {'=': {'metadata.size': 3.0}})) == [30.0]


def test_a_string_never_equals_a_stored_number(data):
    assert query(data, {'=': {'metadata.size': '1'}}) == []


def test_not_on_a_missing_metadata_key_matches(data):
    # MongoDB semantics (§9.8 [rec]): a missing key never satisfies the inner condition.
    assert volumes(query(data, {'not': {'=': {'metadata.flavor.name': 'm1.tiny'}}})) == [
        3.0, 2.0, 20.0, 10.0, 1.0]
    assert volumes(query(data, {'!=': {'metadata.util': '0.25'}})) == [
        3.0, 2.0, 30.0, 20.0, 1.0]


def test_in_and_regex_on_metadata(data):
    assert volumes(query(data, {'in': {'metadata.util': ['0.25', '0.95']}})) == [30.0, 10.0]
    assert volumes(query(data, {'in': {'metadata.size': [1, 3]}})) == [30.0, 10.0]
    assert volumes(query(data, {'=~': {'metadata.flavor.name': '^m1\\.'}})) == [30.0]
    assert volumes(query(data, {'not': {'in': {'metadata.size': [1, 3]}}})) == [
        3.0, 2.0, 20.0, 1.0]


# -- non-admin scoping ---------------------------------------------------------------------


def test_member_is_confined_to_its_project(data):
    got = query(data, headers=member_headers(project='p2'))
    assert volumes(got) == [3.0, 30.0]
    assert volumes(query(data, {'=': {'meter': 'cpu_util'}},
                         headers=member_headers(project='p1'))) == [20.0, 10.0]
    assert volumes(query(data, {'=': {'project': 'p1'}},
                         headers=member_headers(project='p1'))) == [2.0, 20.0, 10.0, 1.0]


@pytest.mark.parametrize('filter_,named', [
    ({'=': {'project_id': 'p2'}}, 'p2'),
    ({'=': {'project': 'p2'}}, 'p2'),
    ({'!=': {'project': 'p2'}}, 'p2'),
    ({'=~': {'project': 'p.*'}}, 'p.*'),
    ({'in': {'project': ['p1']}}, "['p1']"),
    ({'or': [{'=': {'meter': 'cpu_util'}}, {'=': {'project': 'p2'}}]}, 'p2'),
    ({'not': {'=': {'project_id': 'p2'}}}, 'p2'),
    ({'and': [{'=': {'volume': 1}}, {'not': {'<': {'project': 'zzz'}}}]}, 'zzz'),
])
def test_member_naming_another_project_anywhere_is_401(data, filter_, named):
    assert error(data, status=401, filter_=filter_,
                 headers=member_headers(project='p1')) == (
        f'Not Authorized to access project {named}')


def test_admin_may_name_any_project(data):
    assert volumes(query(data, {'in': {'project': ['p2']}})) == [3.0, 30.0]


# -- errors ------------------------------------------------------------------------------


def test_filter_not_json(data):
    assert error(data, filter_='{"=": "resource": "x"}').startswith(
        'Filter expression not valid: ')


def test_unknown_field(data):
    message = error(data, filter_={'=': {'wtf': 1}})
    assert message.startswith('Filter expression not valid: ')
    assert 'is not valid under any of the given schemas' in message


@pytest.mark.parametrize('filter_', [
    {'and': [{'=': {'volume': 1}}]},
    {'or': []},
    {'and': {'=': {'volume': 1}}},
    {'=': {'volume': 1}, '<': {'volume': 3}},
    {'=': {'volume': 1, 'user': 'x'}},
    {'=': {'volume': None}},
    {'=': {'volume': [1]}},
    {'in': {'resource': []}},
    {'in': {'resource': 'r'}},
    {'in': {'resource': [None]}},
    {'like': {'resource': 'r'}},
    {'not': {}},
    {'=': {'resource_metadata': 'x'}},
    {'=': {'metadata.': 'x'}},
    [],
    'x',
])
def test_malformed_filters(data, filter_):
    assert error(data, filter_=filter_).startswith('Filter expression not valid: ')


def test_too_few_operands_message(data):
    assert error(data, filter_={'and': [{'=': {'volume': 1}}]}) == (
        "Filter expression not valid: [{'=': {'volume': 1}}] is too short")


def test_unparsable_timestamp(data):
    assert error(data, filter_={'>': {'timestamp': 'yesterday'}}) == (
        'Failed to parse the timestamp value yesterday')


def test_orderby_not_json(data):
    message = error(data, orderby='[{"volume": "asc"}] x')
    assert message.startswith('Order-by expression not valid: ')
    assert 'Extra data' in message


def test_orderby_direction(data):
    assert error(data, orderby=[{'volume': ''}]) == (
        "Order-by expression not valid: '' does not match '(?i)^asc$|^desc$'")


@pytest.mark.parametrize('orderby', [
    [{'wtf': 'asc'}], [{'metadata.util': 'asc'}], {'volume': 'asc'},
    [{'volume': 'asc', 'user': 'desc'}], [{}], ['volume'], [{'volume': 1}]])
def test_orderby_invalid(data, orderby):
    assert error(data, orderby=orderby).startswith('Order-by expression not valid: ')


@pytest.mark.parametrize('limit', [0, -1, '0'])
def test_limit_must_be_positive(data, limit):
    assert error(data, limit=limit) == 'Limit must be positive'


@pytest.mark.parametrize('limit', ['abc', 1.5, True, [1]])
def test_limit_not_an_integer(data, limit):
    assert error(data, limit=limit).startswith(
        'Invalid input for field/attribute limit. Value: ')


def test_unknown_member_and_non_object_body(data):
    assert error(data, raw={'filter': '{}', 'wtf': 1}) == 'Unknown argument: "wtf"'
    assert error(data, raw=['x']).startswith('The complex query must be a JSON object')


def test_filter_in_a_non_json_body_is_415(data):
    data.post('/v2/query/samples', 'filter', headers=dict(ADMIN, **{
        'Content-Type': 'text/plain'}), status=415)


def test_regex_on_a_number_field(data):
    assert error(data, filter_={'=~': {'volume': '1'}}).startswith(
        'Filter expression not valid: the =~ operator applies')


def test_invalid_regex(data):
    assert error(data, filter_={'=~': {'resource': '(a'}}).startswith(
        "Filter expression not valid: invalid regular expression '(a'")
    assert error(data, filter_={'=~': {'resource': '(a)\\1'}}).startswith(
        'Filter expression not valid: invalid regular expression')


def test_regex_length_is_bounded(make_app):
    app = make_app(api={'max_regex_length': 10})
    assert '[api] max_regex_length' in error(app, filter_={'=~': {'resource': 'a' * 11}})
    assert query(app, {'=~': {'resource': 'a' * 10}}) == []


def test_hostile_regex_answers_quickly(app):
    post(app, 'm', [{'volume': 1, 'resource': 'a' * 40 + '!', 'project': 'p',
                     'timestamp': DAY + '10:00:00'}])
    started = time.monotonic()
    assert query(app, {'=~': {'resource': '^(a+)+$'}}) == []
    assert query(app, {'=~': {'resource': '^(a|aa)*$'}}) == []
    # A bound on runaway work, not a speed measurement: backtracking would take hours.
    assert time.monotonic() - started < 30


def test_deep_filter_is_a_400(data):
    deep = '{"=": {"volume": 1}}'
    for _ in range(5000):
        deep = '{"not": ' + deep + '}'
    assert '[api] max_query_depth' in error(data, filter_=deep)
    nested = {'=': {'volume': 10}}
    for _ in range(15):
        nested = {'not': {'not': nested}}
    assert volumes(query(data, nested)) == [10.0]


def test_depth_bound_is_the_option(make_app):
    app = make_app(api={'max_query_depth': 3})
    leaf = {'=': {'volume': 1}}
    assert query(app, {'not': {'not': leaf}}) == []
    assert '[api] max_query_depth' in error(app, filter_={'not': {'not': {'not': leaf}}})


def test_wide_filters_are_a_400(data):
    wide = {'or': [{'=': {'volume': i}} for i in range(20000)]}
    assert '[api] max_query_nodes' in error(data, filter_=wide)
    many = {'in': {'resource': [f'r{i}' for i in range(20000)]}}
    assert '[api] max_query_nodes' in error(data, filter_=many)
