"""validation: argument binding, the q language, limits and posted sample bodies."""

import datetime

import pytest
import webob
from webob import multidict

from meterd.api import validation
from meterd import context
from meterd import exception
from meterd import storage
from tests.conftest import make_conf

ADMIN = context.RequestContext(user_id='au', project_id='ap', roles=['admin'])
MEMBER = context.RequestContext(user_id='mu', project_id='mp', roles=['member'])


def args(*pairs):
    return multidict.MultiDict(pairs)


def items(*terms):
    return [validation.QueryItem(*t) for t in terms]


def test_request_args_from_a_json_body_of_a_get():
    req = webob.Request.blank('/v2/samples', method='GET', content_type='application/json',
                              body=b'{"q": [{"field": "a", "value": "1"}, '
                                   b'{"field": "b", "op": "ge", "value": "2", "type": "integer"}],'
                                   b' "limit": 3, "unique": true, "groupby": ["x", "y"]}')
    got = validation.request_args(req)
    assert got.getall('q.field') == ['a', 'b']
    assert got.getall('q.op') == ['', 'ge']
    assert got.getall('q.type') == ['', 'integer']
    assert got['limit'] == '3' and got['unique'] == 'True'
    assert got.getall('groupby') == ['x', 'y']


def test_request_args_reads_a_chunked_get_body():
    body = b'{"limit": 3}'
    req = webob.Request.blank('/v2/samples', method='GET', content_type='application/json',
                              body=body)
    del req.environ['CONTENT_LENGTH']
    req.environ['HTTP_TRANSFER_ENCODING'] = 'chunked'
    req.environ['wsgi.input_terminated'] = True
    assert validation.request_args(req)['limit'] == '3'


def test_request_args_of_a_get_without_a_body():
    req = webob.Request.blank('/v2/samples?limit=2', method='GET')
    req.environ.pop('CONTENT_LENGTH', None)
    assert dict(validation.request_args(req)) == {'limit': '2'}


def test_request_args_rejects_a_bare_list_body():
    req = webob.Request.blank('/v2/samples', method='GET', content_type='application/json',
                              body=b'[1, 2]')
    with pytest.raises(exception.ClientSideError):
        validation.request_args(req)


def test_reject_unknown_params_allows_only_dotted_object_lists():
    validation.reject_unknown_params(args(('q.field', 'a'), ('limit', '1')), ('q', 'limit'))
    for bad in ('q', 'aggregate', 'q.bogus', 'limit.x', 'other'):
        with pytest.raises(exception.ClientSideError, match=f'Unknown argument: "{bad}"'):
            validation.reject_unknown_params(args((bad, '1')), ('q', 'limit', 'aggregate'))
    validation.reject_unknown_params(args(('aggregate.func', 'max')), ('aggregate',))


def test_query_items_bind_by_position(tmp_path):
    got = validation.query_items(args(('q.field', 'a'), ('q.field', 'b'), ('q.op', 'gt'),
                                      ('q.value', '1'), ('q.value', '2')), make_conf(tmp_path))
    assert got == items(('a', 'gt', '1', None), ('b', 'eq', '2', None))


def test_query_item_without_value_is_400(tmp_path):
    with pytest.raises(exception.InvalidFieldValue, match='Mandatory field missing'):
        validation.query_items(args(('q.field', 'a')), make_conf(tmp_path))


def test_query_terms_above_the_option_are_400(tmp_path):
    conf = make_conf(tmp_path, api={'max_query_terms': 2})
    terms = [('q.field', 'a'), ('q.value', '1')] * 3
    with pytest.raises(exception.ClientSideError, match=r'\[api\] max_query_terms = 2'):
        validation.query_items(args(*terms), conf)
    assert len(validation.query_items(args(*terms[:4]), conf)) == 2


def test_query_item_repr_matches_the_reference():
    assert repr(validation.QueryItem('f', 'gt', '3', None)) == "<Query 'f' gt '3' Unset>"
    assert repr(validation.QueryItem('f', 'eq', '3', '')) == "<Query 'f' eq '3' ''>"


@pytest.mark.parametrize('raw,expected', [
    ('123', 123), ('-4', -4), ('0', 0), ('0.75', 0.75), ('1e3', 1000.0), ('True', True),
    ('False', False), ('None', storage.NULL), ("'x'", 'x'), ('"0"', '0'), ('abc', 'abc'),
    ('true', 'true'), ('0.7.5', '0.7.5'), ("{'$ne': 1}", "{'$ne': 1}"), ('[1]', '[1]'),
    ('007', '007'), ('00.5', 0.5), ('2E-1', 0.2), ('.5', 0.5), ('5.', 5.0), ('1+1', '1+1'), ('inf', 'inf'), ("'a'b'", "'a'b'"),
    ('99999999999999999999', 1e20),
])
def test_infer_literal(raw, expected):
    got = validation.infer_literal(raw)
    assert got == expected and type(got) is type(expected)


def test_convert_metadata_value_with_types():
    assert validation.convert_metadata_value('5', 'integer') == 5
    assert validation.convert_metadata_value('5', 'float') == 5.0
    assert validation.convert_metadata_value('5', 'string') == '5'
    assert validation.convert_metadata_value('Yes', 'boolean') is True
    assert validation.convert_metadata_value('off', 'boolean') is False
    assert validation.convert_metadata_value('2020-01-01T01:00:00+01:00', 'datetime') == \
        datetime.datetime(2020, 1, 1)
    with pytest.raises(exception.ClientSideError, match='data type integer'):
        validation.convert_metadata_value('99999999999999999999', 'integer')
    with pytest.raises(exception.ClientSideError, match='not supported'):
        validation.convert_metadata_value('1', 'int')


def test_int_param_and_bool_param():
    assert validation.int_param(args(('period', '60')), 'period') == 60
    assert validation.int_param(args(), 'period', 7) == 7
    for raw in ('1.5', 'abc', '', '1' * 50):
        with pytest.raises(exception.InvalidFieldValue, match='unable to convert to int'):
            validation.int_param(args(('period', raw)), 'period')
    with pytest.raises(exception.InvalidFieldValue, match='field/attribute period'):
        validation.int_param(args(('period', '1'), ('period', '1')), 'period')
    for raw in ('1', 'T', 'true', 'ON', 'y', 'Yes'):
        assert validation.bool_param(args(('unique', raw)), 'unique') is True
    for raw in ('0', 'false', 'nope', ''):
        assert validation.bool_param(args(('unique', raw)), 'unique') is False
    assert validation.bool_param(args(), 'unique') is False


def test_limit_bounds(tmp_path):
    conf = make_conf(tmp_path, api={'max_api_return_limit': 10})
    assert validation.limit(args(), conf) == 10
    assert validation.limit(args(('limit', '10')), conf) == 10
    with pytest.raises(exception.ClientSideError, match='max_api_return_limit'):
        validation.limit(args(('limit', '11')), conf)
    with pytest.raises(exception.ClientSideError, match='Limit must be positive'):
        validation.limit(args(('limit', '0')), conf)


def test_sample_filter_binds_every_field_and_widens_by_search_offset():
    f = validation.sample_filter(ADMIN, items(
        ('user_id', 'eq', 'u', None), ('project', 'eq', 'None', None),
        ('resource', 'eq', 'r', None), ('source', 'eq', 's', None),
        ('meter', 'eq', 'm', None), ('message_id', 'eq', 'id', None),
        ('timestamp', 'gt', '2020-01-01T10:00:00', None),
        ('timestamp', 'le', '2020-01-01T12:00:00', None),
        ('search_offset', 'eq', '10', None),
        ('metadata.a.b', 'eq', '1', None), ('resource_metadata.c', 'eq', 'x', 'string')),
        'samples', meter='path-meter')
    assert (f.user, f.project, f.resource, f.source, f.meter, f.message_id) == (
        'u', storage.NULL, 'r', 's', 'path-meter', 'id')
    assert (f.start_timestamp, f.start_timestamp_op) == (
        datetime.datetime(2020, 1, 1, 9, 50), 'gt')
    assert (f.end_timestamp, f.end_timestamp_op) == (
        datetime.datetime(2020, 1, 1, 12, 10), 'le')
    assert f.metaquery == {'a.b': 1, 'c': 'x'}


def test_original_time_bounds_are_not_widened():
    got = validation.original_time_bounds(items(
        ('timestamp', 'ge', '2020-01-01', None), ('search_offset', 'eq', '5', None),
        ('timestamp', 'lt', '2020-01-02', None)))
    assert got == (datetime.datetime(2020, 1, 1), 'ge', datetime.datetime(2020, 1, 2), 'lt')
    assert validation.original_time_bounds([]) == (None, None, None, None)


def test_non_admin_is_pinned_and_segregation_comes_first():
    f = validation.sample_filter(MEMBER, [], 'resources')
    assert f.project == 'mp'
    with pytest.raises(exception.ProjectNotAuthorized, match='project other'):
        validation.sample_filter(MEMBER, items(('bogus', 'zz', '1', None),
                                               ('project_id', 'ne', 'other', None)), 'meters')


def test_timestamps_are_not_valid_for_meters():
    with pytest.raises(exception.ClientSideError, match='not valid for this resource'):
        validation.sample_filter(ADMIN, items(('timestamp', 'gt', '2020-01-01', None)),
                                 'meters')
