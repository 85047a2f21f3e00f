"""Contract: recording samples and reading samples, meters and resources, on every backend.

Only the public driver API (storage/base.py) is used, so the same tests run on
each backend of the ``conn`` fixture.
"""

import datetime
import uuid

from meterd import storage
from meterd.storage import models

T0 = datetime.datetime(2024, 5, 1, 10, 0, 0)


def make(name='cpu', resource='r1', when=T0, volume=1.0, user='u1', project='p1',
         source='p1:openstack', metadata=None, kind='gauge', unit='%'):
    return models.Sample(
        source=source, counter_name=name, counter_type=kind, counter_unit=unit,
        counter_volume=volume, user_id=user, project_id=project, resource_id=resource,
        timestamp=when, resource_metadata=metadata or {}, message_id=str(uuid.uuid1()),
        message_signature='sig')


def at(minutes):
    return T0 + datetime.timedelta(minutes=minutes)


def ids(samples):
    return [s.message_id for s in samples]


# -- record_samples / get_samples ---------------------------------------------


def test_recorded_sample_reads_back_with_every_field(conn):
    sample = make(metadata={'a': {'b': 1, 'c': 'x'}, 'flag': True, 'none': None,
                            'list': ['q'], 'f': 0.5, '$k': 'dollar', 'k:c': 'colon'},
                  when=T0.replace(microsecond=123456), volume=2)
    before = datetime.datetime.utcnow() - datetime.timedelta(seconds=5)
    conn.record_samples([sample])
    (got,) = conn.get_samples(storage.SampleFilter())
    assert got.message_id == sample.message_id
    assert got.counter_name == 'cpu' and got.counter_type == 'gauge'
    assert got.counter_unit == '%'
    assert got.counter_volume == 2.0 and isinstance(got.counter_volume, float)
    assert (got.user_id, got.project_id, got.resource_id) == ('u1', 'p1', 'r1')
    assert got.source == 'p1:openstack'
    assert got.timestamp == T0.replace(microsecond=123456)
    assert got.resource_metadata == sample.resource_metadata
    assert got.message_signature == 'sig'
    assert got.recorded_at is not None and got.recorded_at >= before


def test_samples_are_newest_first_ties_in_reverse_storage_order(conn):
    a, b, c = make(when=at(1)), make(when=at(3)), make(when=at(1))
    conn.record_samples([a, b])
    conn.record_samples([c])
    assert ids(conn.get_samples(storage.SampleFilter())) == ids([b, c, a])


def test_get_samples_limit_and_zero_limit(conn):
    conn.record_samples([make(when=at(i)) for i in range(5)])
    assert len(list(conn.get_samples(storage.SampleFilter(), limit=2))) == 2
    assert list(conn.get_samples(storage.SampleFilter(), limit=0)) == []
    assert len(list(conn.get_samples(storage.SampleFilter()))) == 5


def test_get_samples_pages_beyond_one_page(conn):
    conn.record_samples([make(when=at(i % 7), volume=i) for i in range(2500)])
    got = list(conn.get_samples(storage.SampleFilter(), limit=2100))
    assert len(got) == 2100
    assert len({s.message_id for s in got}) == 2100
    keys = [s.timestamp for s in got]
    assert keys == sorted(keys, reverse=True)


def test_get_samples_filters_by_each_field(conn):
    s1 = make(name='cpu', resource='r1', user='u1', project='p1', source='p1:a')
    s2 = make(name='disk.read.bytes', resource='r2', user='u2', project='p2', source='p2:b',
              when=at(1))
    s3 = make(name='cpu', resource='r3', user=None, project=None, source='None:a',
              when=at(2))
    conn.record_samples([s1, s2, s3])
    f = storage.SampleFilter
    assert ids(conn.get_samples(f(meter='cpu'))) == ids([s3, s1])
    assert ids(conn.get_samples(f(meter='disk.read.bytes'))) == ids([s2])
    assert ids(conn.get_samples(f(meter='nope'))) == []
    assert ids(conn.get_samples(f(resource='r2'))) == ids([s2])
    assert ids(conn.get_samples(f(user='u2'))) == ids([s2])
    assert ids(conn.get_samples(f(project='p1'))) == ids([s1])
    assert ids(conn.get_samples(f(project=storage.NULL))) == ids([s3])
    assert ids(conn.get_samples(f(user=storage.NULL))) == ids([s3])
    assert ids(conn.get_samples(f(source='p2:b'))) == ids([s2])
    assert ids(conn.get_samples(f(message_id=s1.message_id))) == ids([s1])
    assert ids(conn.get_samples(f(meter='cpu', resource='r1', project='p1'))) == ids([s1])


def test_get_samples_time_window_operators(conn):
    samples = [make(when=at(i)) for i in range(4)]
    conn.record_samples(samples)
    f = storage.SampleFilter
    got = conn.get_samples(f(start_timestamp=at(1), end_timestamp=at(3)))
    assert ids(got) == ids([samples[2], samples[1]])
    got = conn.get_samples(f(start_timestamp=at(1), start_timestamp_op='gt',
                             end_timestamp=at(3), end_timestamp_op='le'))
    assert ids(got) == ids([samples[3], samples[2]])


def test_get_samples_metadata_is_typed(conn):
    as_int = make(metadata={'size': 0, 'nest': {'name': 'v'}})
    as_str = make(metadata={'size': '0'}, when=at(1))
    as_bool = make(metadata={'size': True, 'x': None}, when=at(2))
    as_float = make(metadata={'size': 0.5, '$d': {'k:c': 'y'}}, when=at(3))
    conn.record_samples([as_int, as_str, as_bool, as_float])

    def meta(**kw):
        return ids(conn.get_samples(storage.SampleFilter(metaquery=kw)))
    assert meta(size=0) == ids([as_int])
    assert meta(size='0') == ids([as_str])
    assert meta(size=True) == ids([as_bool])
    assert meta(size=0.5) == ids([as_float])
    assert meta(x=storage.NULL) == ids([as_bool])
    assert meta(**{'nest.name': 'v'}) == ids([as_int])
    assert meta(**{'$d.k:c': 'y'}) == ids([as_float])
    assert meta(**{'nest.name': 'w'}) == []
    assert meta(missing='v') == []


def test_batch_is_all_or_nothing(conn):
    good = make()
    bad = make(when=datetime.datetime(2024, 1, 1))
    object.__setattr__(bad, 'counter_volume', 'not a number')
    try:
        conn.record_samples([good, bad])
    except Exception:
        pass
    assert list(conn.get_samples(storage.SampleFilter())) == []
    assert list(conn.get_meters(storage.SampleFilter())) == []
    assert list(conn.get_resources(storage.SampleFilter())) == []


# -- get_meters ----------------------------------------------------------------


def test_meters_one_per_resource_name_type_unit_sorted(conn):
    conn.record_samples([
        make(name='cpu', resource='r2'), make(name='mem', resource='r1'),
        make(name='cpu', resource='r1'), make(name='cpu', resource='r1', when=at(1)),
        make(name='cpu', resource='r1', unit='ns', kind='cumulative'),
    ])
    got = [(m.resource_id, m.name, m.type, m.unit)
           for m in conn.get_meters(storage.SampleFilter())]
    assert got == [('r1', 'cpu', 'cumulative', 'ns'), ('r1', 'cpu', 'gauge', '%'),
                   ('r1', 'mem', 'gauge', '%'), ('r2', 'cpu', 'gauge', '%')]
    assert len(list(conn.get_meters(storage.SampleFilter(), limit=2))) == 2
    assert list(conn.get_meters(storage.SampleFilter(), limit=0)) == []


def test_meter_is_described_and_filtered_by_most_recently_stored_sample(conn):
    # Stored second but older: it still describes the pair (storage order, §9.2).
    conn.record_samples([make(when=at(10), user='u-new-ts', metadata={'tag': 'x'})])
    conn.record_samples([make(when=at(0), user='u-stored-last', metadata={})])
    conn.record_samples([make(name='mem', metadata={'tag': 'x'})])
    (cpu, mem) = conn.get_meters(storage.SampleFilter())
    assert (cpu.name, cpu.user_id, cpu.project_id, cpu.source) == (
        'cpu', 'u-stored-last', 'p1', 'p1:openstack')
    tagged = conn.get_meters(storage.SampleFilter(metaquery={'tag': 'x'}))
    assert [m.name for m in tagged] == ['mem']
    assert list(conn.get_meters(storage.SampleFilter(user='u-new-ts'))) == []
    assert [m.name for m in conn.get_meters(storage.SampleFilter(user='u-stored-last'))] \
        == ['cpu']


def test_meters_filter_by_owner_resource_source(conn):
    conn.record_samples([make(resource='r1', project='p1', source='p1:s'),
                         make(resource='r2', project='p2', user=None, source='p2:s')])
    f = storage.SampleFilter
    assert [m.resource_id for m in conn.get_meters(f(project='p2'))] == ['r2']
    assert [m.resource_id for m in conn.get_meters(f(user=storage.NULL))] == ['r2']
    assert [m.resource_id for m in conn.get_meters(f(resource='r1'))] == ['r1']
    assert [m.resource_id for m in conn.get_meters(f(source='p1:s'))] == ['r1']


def test_unique_meters_one_per_name_described_by_latest_stored(conn):
    conn.record_samples([make(name='cpu', resource='r1', project='p1'),
                         make(name='cpu', resource='r2', project='p2'),
                         make(name='mem', resource='r1', project='p1')])
    got = list(conn.get_meters(storage.SampleFilter(), unique=True))
    assert [(m.name, m.resource_id, m.project_id, m.user_id, m.source) for m in got] == [
        ('cpu', None, None, None, None), ('mem', None, None, None, None)]
    # cpu's latest stored sample is p2's: a p1 filter no longer lists it.
    got = conn.get_meters(storage.SampleFilter(project='p1'), unique=True)
    assert [m.name for m in got] == ['mem']
    assert len(list(conn.get_meters(storage.SampleFilter(), unique=True, limit=1))) == 1


# -- get_resources -------------------------------------------------------------


def test_resource_first_last_and_owner_from_greatest_timestamp(conn):
    # The 10:42 sample arrives before the 10:40 one; it still describes the resource.
    conn.record_samples([make(when=at(42), user='A', metadata={'v': 42})])
    conn.record_samples([make(when=at(40), user='B', metadata={'v': 40})])
    conn.record_samples([make(when=at(41), user='C', name='mem')])
    (res,) = conn.get_resources(storage.SampleFilter())
    assert res.resource_id == 'r1'
    assert (res.first_sample_timestamp, res.last_sample_timestamp) == (at(40), at(42))
    assert (res.user_id, res.project_id, res.source) == ('A', 'p1', 'p1:openstack')
    assert res.metadata == {'v': 42}


def test_resource_timestamp_ties_go_to_the_sample_stored_last(conn):
    conn.record_samples([make(when=at(5), user='first')])
    conn.record_samples([make(when=at(5), user='second')])
    (res,) = conn.get_resources(storage.SampleFilter())
    assert res.user_id == 'second'
    (res,) = conn.get_resources(storage.SampleFilter(project='p1'))
    assert res.user_id == 'second'


def test_resources_ordered_by_last_sample_then_id_with_limit(conn):
    conn.record_samples([make(resource='b', when=at(1)), make(resource='a', when=at(1)),
                         make(resource='c', when=at(2)), make(resource='d', when=at(0))])
    got = [r.resource_id for r in conn.get_resources(storage.SampleFilter())]
    assert got == ['c', 'a', 'b', 'd']
    got = [r.resource_id for r in conn.get_resources(storage.SampleFilter(), limit=2)]
    assert got == ['c', 'a']
    assert list(conn.get_resources(storage.SampleFilter(), limit=0)) == []


def test_resources_owner_terms_consider_only_matching_samples(conn):
    conn.record_samples([
        make(when=at(1), user='u1', project='p1', metadata={'k': 1}),
        make(when=at(2), user='u2', project='p2', source='p2:openstack', metadata={'k': 2}),
        make(when=at(3), user='u1', project='p1', metadata={'k': 3}),
        make(when=at(4), user='u2', project='p2', source='p2:openstack', metadata={'k': 4}),
        make(resource='other', when=at(9), user=None, project=None, source='None:x'),
    ])
    (res,) = conn.get_resources(storage.SampleFilter(project='p1'))
    assert (res.first_sample_timestamp, res.last_sample_timestamp) == (at(1), at(3))
    assert (res.user_id, res.metadata) == ('u1', {'k': 3})
    (res,) = conn.get_resources(storage.SampleFilter(user='u2'))
    assert (res.first_sample_timestamp, res.last_sample_timestamp) == (at(2), at(4))
    assert res.source == 'p2:openstack'
    (res,) = conn.get_resources(storage.SampleFilter(source='p2:openstack', resource='r1'))
    assert res.metadata == {'k': 4}
    (res,) = conn.get_resources(storage.SampleFilter(project=storage.NULL))
    assert res.resource_id == 'other' and res.project_id is None
    assert list(conn.get_resources(storage.SampleFilter(project='p3'))) == []


def test_resources_time_window_recomputes_first_last_and_latest(conn):
    conn.record_samples([make(when=at(40), user='a'), make(when=at(41), user='b'),
                         make(when=at(42), user='c')])
    (res,) = conn.get_resources(storage.SampleFilter(start_timestamp=at(41)))
    assert (res.first_sample_timestamp, res.last_sample_timestamp) == (at(41), at(42))
    (res,) = conn.get_resources(storage.SampleFilter(end_timestamp=at(42)))
    assert (res.first_sample_timestamp, res.last_sample_timestamp) == (at(40), at(41))
    assert res.user_id == 'b'
    assert list(conn.get_resources(storage.SampleFilter(start_timestamp=at(50)))) == []


def test_resources_metadata_terms_match_each_sample(conn):
    conn.record_samples([make(when=at(1), metadata={'tag': 'x'}),
                         make(when=at(2), metadata={'tag': 'y'}),
                         make(resource='r2', when=at(3), metadata={'tag': 'y'})])
    got = list(conn.get_resources(storage.SampleFilter(metaquery={'tag': 'x'})))
    assert [(r.resource_id, r.last_sample_timestamp, r.metadata) for r in got] == [
        ('r1', at(1), {'tag': 'x'})]
    got = conn.get_resources(storage.SampleFilter(metaquery={'tag': 'y'}))
    assert [r.resource_id for r in got] == ['r2', 'r1']


def test_meter_names_by_resource_in_one_call(conn):
    conn.record_samples([make(name='mem', resource='r1'), make(name='cpu', resource='r1'),
                         make(name='cpu', resource='r1', unit='ns'),
                         make(name='disk.read.bytes', resource='r2')])
    got = conn.get_meter_names_by_resource(['r1', 'r2', 'nope'])
    assert got['r1'] == ['cpu', 'mem']
    assert got['r2'] == ['disk.read.bytes']
    assert got.get('nope', []) == []


def test_meter_names_by_resource_scoped_to_a_project_follow_get_meters(conn):
    conn.record_samples([make(name='cpu', resource='shared', project='pA'),
                         make(name='mem', resource='shared', project='pB'),
                         make(name='disk', resource='shared', project='pB'),
                         make(name='disk', resource='shared', project='pA', when=at(5))])
    assert conn.get_meter_names_by_resource(['shared'], project='pA') == {
        'shared': ['cpu', 'disk']}
    assert conn.get_meter_names_by_resource(['shared'], project='pB') == {'shared': ['mem']}
    assert conn.get_meter_names_by_resource(['shared'])['shared'] == ['cpu', 'disk', 'mem']
    visible = conn.get_meters(storage.SampleFilter(project='pA'))
    assert sorted(m.name for m in visible) == ['cpu', 'disk']


def test_clear_removes_everything(conn):
    conn.record_samples([make()])
    conn.clear()
    assert list(conn.get_samples(storage.SampleFilter())) == []
    assert list(conn.get_meters(storage.SampleFilter())) == []
    assert list(conn.get_resources(storage.SampleFilter())) == []


def test_expiry_keeps_owner_filtered_resource_listings_exact(conn):
    old = datetime.datetime.utcnow() - datetime.timedelta(days=10)
    recent = datetime.datetime.utcnow() - datetime.timedelta(minutes=5)
    conn.record_samples([
        make(resource='gone', when=old, project='p1'),
        make(resource='kept', when=old, project='p1'),
        make(resource='kept', when=recent, project='p1'),
        make(resource='kept', when=old, project='p2', user='u2', source='p2:openstack'),
    ])
    assert conn.clear_expired_metering_data(86400) == 3
    for f in (storage.SampleFilter(), storage.SampleFilter(project='p1')):
        (res,) = conn.get_resources(f)
        assert res.resource_id == 'kept'
        assert res.first_sample_timestamp == res.last_sample_timestamp == recent
    assert list(conn.get_resources(storage.SampleFilter(project='p2'))) == []
    assert list(conn.get_resources(storage.SampleFilter(user='u2'))) == []
