"""Contract: get_meter_statistics on every backend (storage/base.py, spec §9.5).

Only the public driver API is used: samples go in with record_samples.
"""

import datetime
import uuid

import pytest

from meterd import exception
from meterd import storage
from meterd.storage import models
from meterd import timestamps

T0 = datetime.datetime(2012, 9, 25, 10, 30)
AGG = storage.Aggregate


def at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


def us(minutes):
    """at(minutes) as statistics carry timestamps: integer microseconds."""
    return timestamps.to_micros(at(minutes))


def make(volume, when, name='m', resource='r1', user='u1', project='p1',
         source='p1:openstack', metadata=None, unit='instance', kind='gauge'):
    return models.Sample(
        source=source, counter_name=name, counter_type=kind, counter_unit=unit,
        counter_volume=volume, user_id=user, project_id=project, resource_id=resource,
        timestamp=when, resource_metadata=metadata or {}, message_id=uuid.uuid4().hex)


def stats(conn, period=None, groupby=(), aggregates=(), limit=None, **filter_args):
    return conn.get_meter_statistics(storage.SampleFilter(meter='m', **filter_args),
                                     period=period, groupby=groupby,
                                     aggregates=aggregates, limit=limit)


@pytest.fixture
def three(conn):
    """Volumes 5, 6, 7 at 10:30, 11:31, 12:32 (the §9.5 examples)."""
    conn.record_samples([make(5, at(0)), make(6, at(61)), make(7, at(122)),
                         make(100, at(-60), name='other')])
    return conn


def test_without_period_one_entry_with_the_standard_set(three):
    (s,) = stats(three)
    assert s == models.Statistics(
        unit='instance', period=0, period_start=us(0), period_end=us(122),
        duration_start=us(0), duration_end=us(122), groupby=None,
        count=3, min=5.0, max=7.0, sum=18.0, avg=6.0, aggregate=None)
    assert isinstance(s.count, int) and isinstance(s.sum, float)


def test_periods_anchor_at_the_earliest_matching_sample(three):
    got = stats(three, period=3600)
    assert [(s.period_start, s.period_end, s.count, s.sum) for s in got] == [
        (us(0), us(60), 1, 5.0), (us(60), us(120), 1, 6.0), (us(120), us(180), 1, 7.0)]
    assert [s.period for s in got] == [3600] * 3
    assert [(s.duration_start, s.duration_end) for s in got] == [
        (us(0), us(0)), (us(61), us(61)), (us(122), us(122))]


def test_empty_periods_are_omitted(three):
    assert [s.period_start for s in stats(three, period=1800)] == [us(0), us(60), us(120)]


def test_lower_bound_anchors_and_filters(three):
    got = stats(three, period=7200, start_timestamp=at(-15))
    assert [(s.period_start, s.period_end, s.count, s.sum) for s in got] == [
        (us(-15), us(105), 2, 11.0), (us(105), us(225), 1, 7.0)]


def test_bound_operators(three):
    (s,) = stats(three, start_timestamp=at(0), start_timestamp_op='gt',
                 end_timestamp=at(122), end_timestamp_op='le')
    assert (s.count, s.sum) == (2, 13.0)
    (s,) = stats(three, start_timestamp=at(0), end_timestamp=at(122))
    assert (s.count, s.sum) == (2, 11.0)


def test_upper_bound_never_moves_the_anchor(three):
    got = stats(three, period=3600, end_timestamp=at(100))
    assert [s.period_start for s in got] == [us(0), us(60)]


def test_one_anchor_for_every_group(conn):
    conn.record_samples([make(1, at(307), resource='R1', project='P'),
                         make(2, at(418), resource='R2', project='P'),
                         make(3, at(-100), resource='R3', project='Q')])
    got = stats(conn, period=3600, groupby=('resource_id',), project='P')
    assert [(s.groupby, s.period_start, s.period_end) for s in got] == [
        ({'resource_id': 'R1'}, us(307), us(367)),
        ({'resource_id': 'R2'}, us(367), us(427))]


def test_single_sample_and_boundary_sample_make_entries(conn):
    conn.record_samples([make(1, at(0)), make(2, at(60))])
    assert [(s.period_start, s.count) for s in stats(conn, period=3600)] == [
        (us(0), 1), (us(60), 1)]


def test_durations_are_raw_min_and_max(three):
    (s,) = stats(three, start_timestamp=at(-10), end_timestamp=at(200))
    assert (s.duration_start, s.duration_end) == (us(0), us(122))
    assert (s.period_start, s.period_end) == (us(0), us(122))


def test_units_partition_in_code_point_order(conn):
    conn.record_samples([make(1, at(0), unit='a'), make(2, at(0), unit='B'),
                         make(4, at(1), unit='B', kind='delta')])
    got = stats(conn)
    assert [(s.unit, s.count, s.sum) for s in got] == [('B', 2, 6.0), ('a', 1, 1.0)]


def test_no_match_is_empty(three):
    assert stats(three, resource='nope') == []
    assert three.get_meter_statistics(storage.SampleFilter(meter='nope')) == []


def test_limit_bounds_the_partitions(three):
    assert len(stats(three, period=60, limit=2)) == 2
    assert stats(three, period=60, limit=0) == []


def test_bucket_ending_after_year_9999_is_an_invalid_period(conn):
    conn.record_samples([make(1, datetime.datetime(9990, 1, 1))])
    with pytest.raises(exception.ClientSideError) as err:
        stats(conn, period=10 ** 9)
    assert str(err.value) == 'Invalid period 1000000000: date value out of range'
    (s,) = stats(conn, period=86400)
    assert s.period_end == timestamps.to_micros(datetime.datetime(9990, 1, 2))


# -- selectable aggregates ----------------------------------------------------------


@pytest.fixture
def two_two_five(conn):
    conn.record_samples([make(2, at(0), resource='a', user='u1'),
                         make(2, at(1), resource='b', user=None),
                         make(5, at(2), resource='b', user='u2', source='p1:other')])
    return conn


def test_stddev_population_only_under_aggregate(two_two_five):
    (s,) = stats(two_two_five, aggregates=(AGG('stddev'),))
    assert s.aggregate == {'stddev': pytest.approx(1.4142135623730951)}
    assert (s.count, s.min, s.max, s.sum, s.avg) == (None,) * 5


def test_stddev_of_one_sample_is_zero(conn):
    conn.record_samples([make(7.5, at(0))])
    (s,) = stats(conn, aggregates=(AGG('stddev'),))
    assert s.aggregate == {'stddev': 0.0}


def test_stddev_of_large_close_values(conn):
    conn.record_samples([make(1e9 + v, at(v)) for v in (1, 2, 3, 4)])
    (s,) = stats(conn, aggregates=(AGG('stddev'),))
    assert s.aggregate['stddev'] == pytest.approx(1.118033988749895, rel=1e-6)


def test_stddev_of_each_group_exact_beside_groups_of_another_scale(conn):
    big = [make(1e9 + v * 1e6, at(v), resource='big') for v in range(12)]
    small = [make(v, at(v), resource='small') for v in (1, 2, 3, 4, 6, 8, 9, 10, 11, 12, 14, 20)]
    conn.record_samples(big + small)
    got = {s.groupby['resource_id']: s.aggregate['stddev']
           for s in stats(conn, groupby=('resource_id',), aggregates=(AGG('stddev'),))}
    assert got['small'] == pytest.approx(5.312459150169742, rel=1e-9)
    assert got['big'] == pytest.approx(3452052.529534663, rel=1e-9)


def test_standard_functions_top_level_and_under_aggregate(two_two_five):
    (s,) = stats(two_two_five, aggregates=(AGG('count'), AGG('max'), AGG('avg')))
    assert s.aggregate == {'count': 3.0, 'max': 5.0, 'avg': 3.0}
    assert isinstance(s.aggregate['count'], float)
    assert (s.count, s.max, s.avg) == (3, 5.0, 3.0)
    assert isinstance(s.count, int)
    assert (s.min, s.sum) == (None, None)


def test_cardinality_counts_distinct_non_null_values(two_two_five):
    (s,) = stats(two_two_five, aggregates=(
        AGG('cardinality', 'resource_id'), AGG('cardinality', 'user_id'),
        AGG('cardinality', 'project_id'), AGG('cardinality', 'source')))
    assert s.aggregate == {'cardinality/resource_id': 2.0, 'cardinality/user_id': 2.0,
                           'cardinality/project_id': 1.0, 'cardinality/source': 2.0}


def test_aggregates_per_group_and_period(two_two_five):
    got = stats(two_two_five, period=120, groupby=('resource_id',),
                aggregates=(AGG('stddev'), AGG('sum')))
    assert [(s.groupby, s.period_start, s.aggregate, s.sum) for s in got] == [
        ({'resource_id': 'a'}, us(0), {'stddev': 0.0, 'sum': 2.0}, 2.0),
        ({'resource_id': 'b'}, us(0), {'stddev': 0.0, 'sum': 2.0}, 2.0),
        ({'resource_id': 'b'}, us(2), {'stddev': 0.0, 'sum': 5.0}, 5.0)]


# -- groupby --------------------------------------------------------------------------


@pytest.fixture
def grouped(conn):
    conn.record_samples([
        make(1, at(0), user='u1', project='p1', resource='r1', source='p1:s1',
             metadata={'instance_type': 'small', 'flavor': {'name': 'm1'}, 'vcpus': 2,
                       'on': True, 'ratio': 1.5}),
        make(2, at(10), user='u1', project='p2', resource='r2', source='p2:s1',
             metadata={'instance_type': 'big', 'vcpus': 2, 'on': True, 'ratio': 1.5}),
        make(4, at(20), user=None, project='p2', resource='r2', source='p2:s2',
             metadata={'instance_type': 'big', 'flavor': {'name': 'm1'}, 'vcpus': 4,
                       'on': False, 'ratio': None}),
        make(8, at(60), user='u2', project='p1', resource='r3', source='p1:s2',
             metadata={'instance_type': 'small'}),
    ])
    return conn


@pytest.mark.parametrize('field,expected', [
    ('project_id', [({'project_id': 'p1'}, 9.0), ({'project_id': 'p2'}, 6.0)]),
    ('user_id', [({'user_id': None}, 4.0), ({'user_id': 'u1'}, 3.0),
                 ({'user_id': 'u2'}, 8.0)]),
    ('resource_id', [({'resource_id': 'r1'}, 1.0), ({'resource_id': 'r2'}, 6.0),
                     ({'resource_id': 'r3'}, 8.0)]),
    ('source', [({'source': 'p1:s1'}, 1.0), ({'source': 'p1:s2'}, 8.0),
                ({'source': 'p2:s1'}, 2.0), ({'source': 'p2:s2'}, 4.0)]),
    ('resource_metadata.instance_type', [
        ({'resource_metadata.instance_type': 'big'}, 6.0),
        ({'resource_metadata.instance_type': 'small'}, 9.0)]),
    ('resource_metadata.flavor.name', [
        ({'resource_metadata.flavor.name': None}, 10.0),
        ({'resource_metadata.flavor.name': 'm1'}, 5.0)]),
    ('resource_metadata.vcpus', [
        ({'resource_metadata.vcpus': None}, 8.0), ({'resource_metadata.vcpus': '2'}, 3.0),
        ({'resource_metadata.vcpus': '4'}, 4.0)]),
    ('resource_metadata.on', [
        ({'resource_metadata.on': None}, 8.0), ({'resource_metadata.on': 'False'}, 4.0),
        ({'resource_metadata.on': 'True'}, 3.0)]),
    ('resource_metadata.ratio', [
        ({'resource_metadata.ratio': None}, 12.0),
        ({'resource_metadata.ratio': '1.5'}, 3.0)]),
])
def test_groupby_each_field_null_first(grouped, field, expected):
    # One period spanning everything puts all groups in one bucket, so the
    # order shown is the contract's group order (null first, code points).
    got = stats(grouped, period=86400, groupby=(field,))
    assert [(s.groupby, s.sum) for s in got] == expected
    assert {s.period_start for s in got} == {us(0)}


def test_groupby_without_period_orders_by_period_start(grouped):
    got = stats(grouped, groupby=('project_id',))
    assert [(s.groupby, s.period_start, s.period_end) for s in got] == [
        ({'project_id': 'p1'}, us(0), us(60)), ({'project_id': 'p2'}, us(10), us(20))]


def test_groupby_several_fields(grouped):
    got = stats(grouped, period=86400, groupby=('project_id', 'resource_metadata.vcpus'))
    assert [(s.groupby, s.count) for s in got] == [
        ({'project_id': 'p1', 'resource_metadata.vcpus': None}, 1),
        ({'project_id': 'p1', 'resource_metadata.vcpus': '2'}, 1),
        ({'project_id': 'p2', 'resource_metadata.vcpus': '2'}, 1),
        ({'project_id': 'p2', 'resource_metadata.vcpus': '4'}, 1)]


def test_filters_apply_before_grouping(grouped):
    got = stats(grouped, groupby=('resource_id',), metaquery={'instance_type': 'big'})
    assert [(s.groupby, s.count) for s in got] == [({'resource_id': 'r2'}, 2)]
    got = stats(grouped, period=3600, groupby=('user_id',), project='p2')
    assert [(s.groupby, s.period_start) for s in got] == [
        ({'user_id': None}, us(10)), ({'user_id': 'u1'}, us(10))]
