"""Contract: query_samples (complex query) on every backend (storage/base.py, spec §9.8).

Filter trees are given in the validated form the API passes: model field
names, lower-case operators, typed values. Only the public driver API is used.
"""

import datetime
import time
import uuid

import pytest

from meterd import exception
from meterd.storage import models

T0 = datetime.datetime(2013, 3, 1, 10, 0)


def at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


def make(volume, minutes, name='cpu', resource='r1', user='u1', project='p1',
         source='p1:openstack', metadata=None, unit='%', kind='gauge'):
    return models.Sample(
        source=source, counter_name=name, counter_type=kind, counter_unit=unit,
        counter_volume=volume, user_id=user, project_id=project, resource_id=resource,
        timestamp=at(minutes), resource_metadata=metadata or {},
        message_id=uuid.uuid4().hex, message_signature='sig')


@pytest.fixture
def data(conn):
    conn.record_samples([
        make(10, 0, resource='res-1', metadata={'util': '0.25', 'size': 1, 'on': True}),
        make(20, 1, resource='res-2', user='u2', metadata={'util': '0.75', 'size': 2.5,
                                                           'on': False}),
        make(30, 2, resource='res-3', user=None, project='p2', source='p2:openstack',
             metadata={'util': '0.95', 'size': 3, 'flavor': {'name': 'm1.tiny'}}),
        make(1, -60, name='disk', resource='res-1', unit='B', kind='cumulative'),
        make(2, 60, name='disk', resource='res-2', user='u2', unit='B', kind='cumulative'),
        make(3, 120, name='disk', resource='Res-3', user=None, project='p2',
             source='p2:openstack', unit='B', kind='cumulative', metadata={'util': 0.5}),
    ])
    return conn


def vols(conn, filter_expr=None, orderby=None, limit=None):
    return [s.counter_volume for s in conn.query_samples(filter_expr, orderby, limit)]


def test_no_filter_returns_all_newest_first_as_models(data):
    got = list(data.query_samples())
    assert [s.counter_volume for s in got] == [3.0, 2.0, 30.0, 20.0, 10.0, 1.0]
    s = got[2]
    assert (s.counter_name, s.counter_type, s.counter_unit) == ('cpu', 'gauge', '%')
    assert (s.user_id, s.project_id, s.resource_id, s.source) == (
        None, 'p2', 'res-3', 'p2:openstack')
    assert s.timestamp == at(2)
    assert s.resource_metadata == {'util': '0.95', 'size': 3, 'flavor': {'name': 'm1.tiny'}}
    assert s.recorded_at is not None
    assert isinstance(s.counter_volume, float)


def test_limit_after_ordering_and_zero(data):
    assert vols(data, orderby=[('counter_volume', 'asc')], limit=2) == [1.0, 2.0]
    assert list(data.query_samples(limit=0)) == []


@pytest.mark.parametrize('op,expected', [
    ('=', [20.0]), ('!=', [3.0, 2.0, 30.0, 10.0, 1.0]), ('<', [3.0, 2.0, 10.0, 1.0]),
    ('<=', [3.0, 2.0, 20.0, 10.0, 1.0]), ('>', [30.0]), ('>=', [30.0, 20.0])])
def test_comparisons_on_volume(data, op, expected):
    assert vols(data, {op: {'counter_volume': 20.0}}) == expected


def test_text_fields_compare_in_code_point_order(data):
    assert vols(data, {'<': {'resource_id': 'res'}}) == [3.0]
    assert vols(data, {'>=': {'resource_id': 'res-2'}}) == [2.0, 30.0, 20.0]


def test_meter_fields(data):
    assert vols(data, {'=': {'counter_name': 'disk'}}) == [3.0, 2.0, 1.0]
    assert vols(data, {'!=': {'counter_type': 'gauge'}}) == [3.0, 2.0, 1.0]
    assert vols(data, {'in': {'counter_unit': ['%']}}) == [30.0, 20.0, 10.0]
    assert vols(data, {'=~': {'counter_name': '^d'}}) == [3.0, 2.0, 1.0]
    assert vols(data, {'>': {'counter_name': 'cpu'}}) == [3.0, 2.0, 1.0]


def test_timestamps(data):
    assert vols(data, {'and': [{'>=': {'timestamp': at(0)}},
                               {'<': {'timestamp': at(60)}}]}) == [30.0, 20.0, 10.0]
    assert vols(data, {'in': {'timestamp': [at(-60), at(120)]}}) == [3.0, 1.0]


def test_null_columns_fail_comparisons_and_satisfy_their_negation(data):
    assert vols(data, {'=': {'user_id': 'u1'}}) == [10.0, 1.0]
    assert vols(data, {'!=': {'user_id': 'u1'}}) == [3.0, 2.0, 30.0, 20.0]
    assert vols(data, {'not': {'in': {'user_id': ['u1']}}}) == [3.0, 2.0, 30.0, 20.0]
    assert vols(data, {'not': {'=~': {'user_id': 'u'}}}) == [3.0, 30.0]
    assert vols(data, {'not': {'>': {'user_id': 'u1'}}}) == [3.0, 30.0, 10.0, 1.0]


def test_and_or_not(data):
    assert vols(data, {'and': [{'=': {'counter_name': 'cpu'}},
                               {'or': [{'=': {'counter_volume': 10.0}},
                                       {'=': {'project_id': 'p2'}}]}]}) == [30.0, 10.0]
    assert vols(data, {'not': {'and': [{'=': {'counter_name': 'cpu'}},
                                       {'>': {'counter_volume': 15.0}}]}}) == [
        3.0, 2.0, 10.0, 1.0]
    assert vols(data, {'not': {'not': {'=': {'counter_volume': 2.0}}}}) == [2.0]


def test_regex_searches_anywhere(data):
    assert vols(data, {'=~': {'resource_id': '-[23]$'}}) == [3.0, 2.0, 30.0, 20.0]
    assert vols(data, {'=~': {'resource_id': '^res'}}) == [2.0, 30.0, 20.0, 10.0, 1.0]
    assert vols(data, {'=~': {'source': 'p2'}}) == [3.0, 30.0]


# -- metadata ------------------------------------------------------------------------


def test_string_metadata_compares_as_text(data):
    assert vols(data, {'>=': {'resource_metadata.util': '0.5'}}) == [30.0, 20.0]
    assert vols(data, {'not': {'>=': {'resource_metadata.util': '0.5'}}}) == [
        3.0, 2.0, 10.0, 1.0]


def test_numbers_compare_numerically_whatever_their_stored_type(data):
    assert vols(data, {'>': {'resource_metadata.size': 2}}) == [30.0, 20.0]
    assert vols(data, {'<=': {'resource_metadata.size': 2.5}}) == [20.0, 10.0]
    assert vols(data, {'=': {'resource_metadata.size': 3.0}}) == [30.0]
    assert vols(data, {'=': {'resource_metadata.size': 1}}) == [10.0]
    assert vols(data, {'>=': {'resource_metadata.util': 0.5}}) == [3.0]


def test_types_never_mix(data):
    assert vols(data, {'=': {'resource_metadata.size': '1'}}) == []
    assert vols(data, {'=': {'resource_metadata.util': 0.25}}) == []
    assert vols(data, {'=': {'resource_metadata.on': 1}}) == []


def test_booleans(data):
    assert vols(data, {'=': {'resource_metadata.on': True}}) == [10.0]
    assert vols(data, {'=': {'resource_metadata.on': False}}) == [20.0]
    assert vols(data, {'!=': {'resource_metadata.on': True}}) == [3.0, 2.0, 30.0, 20.0, 1.0]


def test_missing_keys_satisfy_only_negations(data):
    assert vols(data, {'=': {'resource_metadata.flavor.name': 'm1.tiny'}}) == [30.0]
    assert vols(data, {'not': {'=': {'resource_metadata.flavor.name': 'm1.tiny'}}}) == [
        3.0, 2.0, 20.0, 10.0, 1.0]
    assert vols(data, {'not': {'<': {'resource_metadata.nope': 5}}}) == [
        3.0, 2.0, 30.0, 20.0, 10.0, 1.0]
    assert vols(data, {'<': {'resource_metadata.nope': 5}}) == []


def test_in_and_regex_on_metadata(data):
    assert vols(data, {'in': {'resource_metadata.util': ['0.25', '0.95']}}) == [30.0, 10.0]
    assert vols(data, {'in': {'resource_metadata.size': [1, 3]}}) == [30.0, 10.0]
    assert vols(data, {'in': {'resource_metadata.util': ['0.75', 0.5]}}) == [3.0, 20.0]
    assert vols(data, {'not': {'in': {'resource_metadata.size': [1, 3]}}}) == [
        3.0, 2.0, 20.0, 1.0]
    assert vols(data, {'=~': {'resource_metadata.flavor.name': 'tiny$'}}) == [30.0]
    assert vols(data, {'=~': {'resource_metadata.size': '1'}}) == []


# -- ordering ------------------------------------------------------------------------------


def test_orderby_fields_in_sequence(data):
    got = list(data.query_samples(orderby=[('counter_name', 'desc'),
                                           ('counter_volume', 'asc')]))
    assert [s.counter_volume for s in got] == [1.0, 2.0, 3.0, 10.0, 20.0, 30.0]


def test_nulls_sort_lowest(data):
    got = list(data.query_samples(orderby=[('user_id', 'asc'), ('timestamp', 'asc')]))
    assert [(s.user_id, s.counter_volume) for s in got] == [
        (None, 30.0), (None, 3.0), ('u1', 1.0), ('u1', 10.0), ('u2', 20.0), ('u2', 2.0)]
    got = list(data.query_samples(orderby=[('user_id', 'desc'), ('timestamp', 'asc')]))
    assert [s.user_id for s in got] == ['u2', 'u2', 'u1', 'u1', None, None]


def test_text_order_is_code_point_order(data):
    got = list(data.query_samples(orderby=[('resource_id', 'asc'),
                                           ('counter_volume', 'asc')]))
    assert [s.resource_id for s in got] == ['Res-3', 'res-1', 'res-1', 'res-2', 'res-2',
                                            'res-3']


def test_ties_go_most_recently_stored_first(conn):
    first, second = make(1, 0), make(2, 0)
    conn.record_samples([first])
    conn.record_samples([second])
    assert [s.message_id for s in list(conn.query_samples())] == [second.message_id,
                                                            first.message_id]
    got = conn.query_samples(orderby=[('timestamp', 'asc')])
    assert [s.message_id for s in got] == [second.message_id, first.message_id]


def test_hostile_regex_answers_quickly(conn):
    conn.record_samples([make(1, 0, resource='a' * 5000 + '!')])
    started = time.monotonic()
    for pattern in ('^(a+)+$', '^(a|aa)*$', '(.*a){20}$', '^(([a-z])+.)+[A-Z]([a-z])+$'):
        assert vols(conn, {'=~': {'resource_id': pattern}}) == []
    # A bound on runaway work, not a speed test: backtracking would take ages.
    assert time.monotonic() - started < 30


def test_regex_the_backend_cannot_run_is_a_client_error_or_a_result(conn):
    conn.record_samples([make(1, 0, resource='a' * 300)])
    try:
        got = vols(conn, {'=~': {'resource_id': '^a{300}$'}})
    except exception.ClientSideError as err:
        assert str(err).startswith('Filter expression not valid: ')
    else:
        assert got == [1.0]
