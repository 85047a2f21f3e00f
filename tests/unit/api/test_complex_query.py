"""Complex-query bodies -> validated, normalised, scoped queries (no server)."""

import datetime
import json

import pytest

from meterd.api import complex_query
from meterd import context
from meterd import exception
from meterd import opts

from oslo_config import cfg


@pytest.fixture
def conf():
    c = cfg.ConfigOpts()
    opts.register_opts(c)
    c([], project='meterd')
    return c


ADMIN = context.RequestContext(user_id='a', project_id='admin-p', roles=['admin'])
MEMBER = context.RequestContext(user_id='u', project_id='p1', roles=['member'])


def parse(conf, filter_=None, orderby=None, limit=None, ctx=ADMIN):
    body = {}
    if filter_ is not None:
        body['filter'] = filter_ if isinstance(filter_, str) else json.dumps(filter_)
    if orderby is not None:
        body['orderby'] = orderby if isinstance(orderby, str) else json.dumps(orderby)
    if limit is not None:
        body['limit'] = limit
    return complex_query.parse(body, ctx, conf)


def fails(conf, cls=exception.InvalidInput, **kwargs):
    with pytest.raises(cls) as err:
        parse(conf, **kwargs)
    return str(err.value)


def test_empty_body_defaults(conf):
    q = complex_query.parse(None, ADMIN, conf)
    assert (q.filter, q.orderby, q.limit) == (None, None, 100)


def test_aliases_ops_and_keywords_are_normalised(conf):
    q = parse(conf, {'AND': [{'=<': {'volume': 1}}, {'Or': [{'=>': {'meter': 'x'}},
                                                          {'NOT': {'In': {'user': ['a']}}}]}]})
    assert q.filter == {'and': [{'<=': {'counter_volume': 1.0}},
                                {'or': [{'>=': {'counter_name': 'x'}},
                                        {'not': {'in': {'user_id': ['a']}}}]}]}


def test_values_are_typed(conf):
    q = parse(conf, {'and': [{'=': {'timestamp': '2013-03-01T10:00:00+01:00'}},
                             {'=': {'resource': 5}},
                             {'=': {'volume': '2.5'}},
                             {'=': {'metadata.a.b': True}},
                             {'in': {'resource_metadata.n': [1, 2.5, 'x']}}]})
    assert q.filter['and'] == [
        {'=': {'timestamp': datetime.datetime(2013, 3, 1, 9, 0)}},
        {'=': {'resource_id': '5'}},
        {'=': {'counter_volume': 2.5}},
        {'=': {'resource_metadata.a.b': True}},
        {'in': {'resource_metadata.n': [1, 2.5, 'x']}}]


def test_orderby_and_limit(conf):
    q = parse(conf, orderby=[{'volume': 'DESC'}, {'user': 'aSc'}], limit='7')
    assert q.orderby == [('counter_volume', 'desc'), ('user_id', 'asc')]
    assert q.limit == 7


def test_member_filter_is_wrapped(conf):
    q = parse(conf, {'=': {'meter': 'm'}}, ctx=MEMBER)
    assert q.filter == {'and': [{'=': {'project_id': 'p1'}}, {'=': {'counter_name': 'm'}}]}
    assert parse(conf, ctx=MEMBER).filter == {'=': {'project_id': 'p1'}}
    assert parse(conf, {'=': {'project': 'p1'}}, ctx=MEMBER).filter == {
        'and': [{'=': {'project_id': 'p1'}}, {'=': {'project_id': 'p1'}}]}


@pytest.mark.parametrize('filter_', [
    {'in': {'project': ['p1']}},
    {'not': {'!=': {'project_id': 'p2'}}},
    {'or': [{'=': {'volume': 1}}, {'=~': {'project': 'p'}}]},
])
def test_member_other_project_is_401(conf, filter_):
    assert fails(conf, exception.ProjectNotAuthorized, filter_=filter_, ctx=MEMBER).startswith(
        'Not Authorized to access project ')


def test_grammar_is_checked_before_timestamps_and_projects(conf):
    text = fails(conf, filter_={'and': [{'=': {'project': 'p2'}},
                                        {'=': {'timestamp': 'x'}},
                                        {'=': {'wtf': 1}}]}, ctx=MEMBER)
    assert 'is not valid under any of the given schemas' in text
    text = fails(conf, filter_={'and': [{'=': {'project': 'p2'}},
                                        {'=': {'timestamp': 'x'}}]}, ctx=MEMBER)
    assert text == 'Failed to parse the timestamp value x'


def test_filter_is_checked_before_orderby_and_limit(conf):
    assert fails(conf, filter_='{', orderby='[', limit=0).startswith(
        'Filter expression not valid: ')
    assert fails(conf, orderby='[', limit=0).startswith('Order-by expression not valid: ')


def test_messages(conf):
    assert fails(conf, filter_={'=': {'wtf': 1}}) == (
        "Filter expression not valid: {'=': {'wtf': 1}} is not valid under any of the "
        "given schemas")
    assert fails(conf, filter_={'or': [{'=': {'volume': 1}}]}) == (
        "Filter expression not valid: [{'=': {'volume': 1}}] is too short")
    assert fails(conf, orderby=[{'volume': 'up'}]) == (
        "Order-by expression not valid: 'up' does not match '(?i)^asc$|^desc$'")
    assert fails(conf, orderby=[{'wtf': 'asc'}]) == (
        "Order-by expression not valid: Additional properties are not allowed "
        "('wtf' was unexpected)")
    assert fails(conf, filter_='{"=": {"volume": NaN}}').startswith(
        'Filter expression not valid: ')


def test_bounds(conf):
    conf.set_override('max_query_depth', 2, group='api')
    conf.set_override('max_query_nodes', 5, group='api')
    parse(conf, {'not': {'=': {'volume': 1}}})
    assert 'max_query_depth' in fails(conf, filter_={'not': {'not': {'=': {'volume': 1}}}})
    assert 'max_query_nodes' in fails(conf, filter_={'or': [{'=': {'volume': i}}
                                                             for i in range(6)]})
    assert 'max_query_nodes' in fails(conf, filter_={'in': {'user': list('abcdef')}})
    assert 'max_query_nodes' in fails(conf, orderby=[{'volume': 'asc'}] * 6)


def test_recursion_beyond_the_json_parser_is_a_400(conf):
    deep = '[' * 100000 + ']' * 100000
    assert 'max_query_depth' in fails(conf, filter_=deep)
    assert fails(conf, orderby=deep).startswith('Order-by expression not valid: ')


def test_regex_checks(conf):
    conf.set_override('max_regex_length', 8, group='api')
    assert parse(conf, {'=~': {'resource': 'a.*b'}}).filter == {'=~': {'resource_id': 'a.*b'}}
    assert 'max_regex_length' in fails(conf, filter_={'=~': {'resource': 'a' * 9}})
    assert 'invalid regular expression' in fails(conf, filter_={'=~': {'resource': '(a'}})
    assert 'invalid regular expression' in fails(conf, filter_={'=~': {'user': '(a)\\1'}})
    assert 'unsupported' in fails(conf, filter_={'=~': {'user': '(?P<x>a)'}})
    assert fails(conf, filter_={'=~': {'resource': 5}}) == (
        "Filter expression not valid: 5 is not of type 'string'")
    assert 'applies to text' in fails(conf, filter_={'=~': {'timestamp': 'x'}})


def test_limit_member(conf):
    assert parse(conf, limit=5).limit == 5
    assert fails(conf, limit=0) == 'Limit must be positive'
    assert fails(conf, limit=2.0) == (
        "Invalid input for field/attribute limit. Value: '2.0'. unable to convert to int")
    conf.set_override('max_api_return_limit', 10, group='api')
    assert 'max_api_return_limit' in fails(conf, limit=11)
