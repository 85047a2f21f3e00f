"""MongoDB driver only: escaping, schema, TTL, expiry, write concern, failures.

What every driver must do is in the contract suite; these tests cover what is
particular to the MongoDB store. They run on mongomock, or on the server named
by METERD_TEST_MONGODB_URL.
"""

import dataclasses
import datetime
import random
import uuid

import pymongo
import pytest

from meterd import exception
from meterd import storage
from meterd.storage import impl_mongodb
from meterd.storage import models
from meterd.storage.mongodb import escaping
from meterd.storage.mongodb import schema
from meterd.storage.mongodb import writes
from meterd import timestamps
from tests import conftest as root
from tests import mongodb

T0 = datetime.datetime(2024, 5, 1, 10, 0, 0)


def make(name='cpu', resource='r1', when=T0, volume=1.0, metadata=None, project='p1'):
    return models.Sample(
        source=f'{project}:openstack', counter_name=name, counter_type='gauge',
        counter_unit='%', counter_volume=volume, user_id='u1', project_id=project,
        resource_id=resource, timestamp=when, resource_metadata=metadata or {},
        message_id=str(uuid.uuid1()), message_signature='sig')


@pytest.fixture
def mongo_url():
    with mongodb.fresh_database() as url:
        yield url


@pytest.fixture
def connect(mongo_url, tmp_path):
    opened = []

    def _connect(**database):
        conf = root.make_conf(tmp_path, database=database)
        conn = storage.get_connection(conf, url=mongo_url)
        opened.append(conn)
        return conn
    yield _connect
    for conn in opened:
        conn.close()


@pytest.fixture
def conn(connect):
    return connect()


def stored(conn, collection):
    return list(conn.db[collection].find())


# -- escaping -------------------------------------------------------------------


def test_escaping_is_reversible_for_every_forbidden_key():
    metadata = {'$set': 1, 'a': {'$b': {'c\x00d': 'nul'}}, '%24x': 'literal',
                'pct%': 'p', 'x$y': 'mid-dollar'}
    stored_form = escaping.escape_metadata(metadata)
    assert stored_form == {'%24set': 1, 'a': {'%24b': {'c%00d': 'nul'}},
                           '%2524x': 'literal', 'pct%25': 'p', 'x$y': 'mid-dollar'}
    assert escaping.unescape_metadata(stored_form) == metadata


def test_dotted_keys_become_nesting_and_nested_objects_win():
    assert escaping.escape_metadata({'a.b.c': 'v', 'nest.n1': 1, 'nest.n2': 2}) == {
        'a': {'b': {'c': 'v'}}, 'nest': {'n1': 1, 'n2': 2}}
    assert escaping.escape_metadata({'a': 'plain', 'a.b': 'v'}) == {'a': {'b': 'v'}}
    assert escaping.escape_metadata({'a.b': 'v', 'a': 'plain'}) == {'a': {'b': 'v'}}
    assert escaping.escape_metadata({'p.$q.2': 'x'}) == {'p': {'%24q': {'2': 'x'}}}


def test_forbidden_keys_are_stored_escaped_and_read_back_and_queried(conn):
    sample = make(metadata={'$dollar': {'k\x00z': 'v'}, 'dict_properties.key.$1.$key': 'val'})
    conn.record_samples([sample])
    (doc,) = stored(conn, schema.SAMPLES)
    assert doc['resource_metadata'] == {'%24dollar': {'k%00z': 'v'},
                                        'dict_properties': {'key': {'%241': {'%24key': 'val'}}}}
    (got,) = conn.get_samples(storage.SampleFilter())
    assert got.resource_metadata == {'$dollar': {'k\x00z': 'v'},
                                     'dict_properties': {'key': {'$1': {'$key': 'val'}}}}
    found = conn.get_samples(storage.SampleFilter(
        metaquery={'dict_properties.key.$1.$key': 'val'}))
    assert [s.message_id for s in found] == [sample.message_id]
    (res,) = conn.get_resources(storage.SampleFilter(metaquery={'$dollar.k\x00z': 'v'}))
    assert res.metadata == got.resource_metadata


def test_groupby_metadata_uses_the_escaped_path(conn):
    conn.record_samples([make(metadata={'$f': {'name': 'small'}}, volume=1),
                         make(metadata={'$f': {'name': 'large'}}, volume=5),
                         make(metadata={}, volume=7)])
    stats = conn.get_meter_statistics(storage.SampleFilter(meter='cpu'),
                                      groupby=['resource_metadata.$f.name'])
    assert [(s.groupby, s.sum) for s in stats] == [
        ({'resource_metadata.$f.name': None}, 7.0),
        ({'resource_metadata.$f.name': 'large'}, 5.0),
        ({'resource_metadata.$f.name': 'small'}, 1.0)]


# -- timestamps -----------------------------------------------------------------


def test_microseconds_are_kept_beside_the_millisecond_bson_date(conn):
    when = T0.replace(microsecond=123456)
    conn.record_samples([make(when=when)])
    (doc,) = stored(conn, schema.SAMPLES)
    assert doc['ts'] == timestamps.to_micros(when)
    assert doc['timestamp'] == T0.replace(microsecond=123000)
    assert next(iter(conn.get_samples(storage.SampleFilter()))).timestamp == when
    # The exact bound excludes a sample 1 µs before it, which ms precision could not.
    after = storage.SampleFilter(start_timestamp=when.replace(microsecond=123457))
    assert list(conn.get_samples(after)) == []


# -- schema, TTL and expiry -----------------------------------------------------


def test_upgrade_creates_the_query_indexes(conn):
    for collection, indexes in schema.INDEXES.items():
        info = conn.db[collection].index_information()
        for name, keys, _options in indexes:
            assert info[name]['key'] == keys
    assert conn.db[schema.METERS].index_information()['meter_pair'].get('unique')


def test_ttl_indexes_follow_the_option(connect):
    conn = connect()
    assert all(name not in conn.db[c].index_information()
               for c, (name, _f) in schema.TTL_INDEXES.items())
    conn = connect(metering_time_to_live=3600)
    for collection, (name, field) in schema.TTL_INDEXES.items():
        info = conn.db[collection].index_information()[name]
        assert info['expireAfterSeconds'] == 3600 and info['key'] == [(field, 1)]
    conn = connect(metering_time_to_live=60)
    assert all(conn.db[c].index_information()[name]['expireAfterSeconds'] == 60
               for c, (name, _f) in schema.TTL_INDEXES.items())
    conn = connect(metering_time_to_live=-1)
    assert all(name not in conn.db[c].index_information()
               for c, (name, _f) in schema.TTL_INDEXES.items())


def test_expirer_removes_old_samples_and_repairs_derived_documents(conn):
    now = timestamps.utcnow().replace(microsecond=0)
    old = now - datetime.timedelta(hours=2)
    conn.record_samples([make(resource='gone', when=old),
                         make(resource='kept', when=old, volume=1, project='old-owner'),
                         make(resource='kept', when=now, volume=2),
                         make(name='mem', resource='kept', when=old)])
    assert conn.clear_expired_metering_data(3600) == 3
    assert [s.counter_volume for s in conn.get_samples(storage.SampleFilter())] == [2.0]
    (res,) = conn.get_resources(storage.SampleFilter())
    assert (res.resource_id, res.first_sample_timestamp, res.last_sample_timestamp,
            res.project_id) == ('kept', now, now, 'p1')
    assert [(m.resource_id, m.name) for m in conn.get_meters(storage.SampleFilter())] == [
        ('kept', 'cpu')]
    assert conn.get_meter_names_by_resource(['gone', 'kept']) == {'gone': [], 'kept': ['cpu']}


# -- writes -----------------------------------------------------------------------


def test_standalone_write_concern_is_journaled(conn, connect):
    assert conn.write_concern.document == {'w': 1, 'j': True}
    assert connect(mongodb_write_concern='majority').write_concern.document == {
        'w': 'majority', 'j': True}
    assert connect(mongodb_write_concern='2').write_concern.document == {'w': 2, 'j': True}


def test_failed_batch_on_standalone_leaves_no_trace(conn, monkeypatch):
    first = make(resource='r1', when=T0, volume=1)
    conn.record_samples([first])

    def broken(db, documents, session=None):
        db[schema.RESOURCES].update_one({'_id': 'r1'}, {'$set': {'last_ts': 0}})
        raise pymongo.errors.AutoReconnect('connection lost')
    monkeypatch.setattr(writes, 'update_derived', broken)
    with pytest.raises(exception.StorageUnavailable):
        conn.record_samples([make(resource='r1', when=T0 + datetime.timedelta(hours=1)),
                             make(resource='r2')])
    monkeypatch.undo()
    assert [s.message_id for s in conn.get_samples(storage.SampleFilter())] == [
        first.message_id]
    (res,) = conn.get_resources(storage.SampleFilter())
    assert (res.resource_id, res.last_sample_timestamp) == ('r1', T0)
    assert conn.get_meter_names_by_resource(['r1', 'r2']) == {'r1': ['cpu'], 'r2': []}


def test_unencodable_sample_is_rejected_before_anything_is_written(conn):
    with pytest.raises(exception.InvalidInput):
        conn.record_samples([make(), make(metadata={'huge': 2 ** 70})])
    assert stored(conn, schema.SAMPLES) == []


def test_derived_documents_follow_the_newest_sample_across_batches(conn):
    conn.record_samples([make(when=T0 + datetime.timedelta(minutes=2), project='newest')])
    conn.record_samples([make(when=T0, project='older')])
    (doc,) = stored(conn, schema.RESOURCES)
    assert doc['project_id'] == 'newest'
    assert doc['first_ts'] == timestamps.to_micros(T0)
    (meter,) = stored(conn, schema.METERS)
    assert meter['project_id'] == 'older'  # most recently stored describes the pair


# -- connection failures ------------------------------------------------------------


def test_unreachable_server_is_storage_unavailable_and_password_masked(tmp_path, capsys):
    conf = root.make_conf(tmp_path, database={'max_retries': 1, 'retry_interval': 0.0,
                                              'mongodb_server_selection_timeout': 1})
    url = 'mongodb://meterd:s3cret@127.0.0.1:1/meterd'
    with pytest.raises(exception.StorageUnavailable):
        impl_mongodb.Connection(url, conf)
    logged = capsys.readouterr()
    assert 's3cret' not in logged.out + logged.err
    assert 'mongodb://meterd:***@127.0.0.1:1/meterd unreachable (attempt 1)' in logged.out


def test_lost_server_during_a_read_is_storage_unavailable(conn, monkeypatch):
    conn.record_samples([make()])

    def down(*args, **kwargs):
        raise pymongo.errors.ServerSelectionTimeoutError('no servers')
    monkeypatch.setattr(type(conn.db[schema.SAMPLES]), 'find', down)
    with pytest.raises(exception.StorageUnavailable):
        list(conn.get_samples(storage.SampleFilter()))
    monkeypatch.undo()
    assert len(list(conn.get_samples(storage.SampleFilter()))) == 1


# -- parity with the SQL driver on the same data -------------------------------------


def _mixed_samples():
    rng = random.Random(7)
    metadata = [{}, {'flavor': {'name': 'tiny'}}, {'flavor': {'name': 'big'}}, {'size': 0},
                {'size': 2.5}, {'size': '0'}, {'size': None}, {'$x': 'd', 'util': '0.25'},
                {'util': '0.75'}, {'util': '0.95'}]
    return [models.Sample(
        source=rng.choice(['p1:a', 'p2:b']), counter_name=rng.choice(['cpu', 'mem']),
        counter_type='gauge', counter_unit=rng.choice(['%', 'B']),
        counter_volume=rng.choice([1, 2, 5, 7.5, 11]), user_id=rng.choice(['u1', 'u2', None]),
        project_id=rng.choice(['p1', 'p2', None]), resource_id=rng.choice(['r1', 'r2', 'r3']),
        timestamp=T0 + datetime.timedelta(seconds=rng.randint(0, 20000),
                                          microseconds=rng.randint(0, 999999)),
        resource_metadata=rng.choice(metadata), message_id=str(uuid.uuid1()),
        message_signature='s') for _ in range(90)]


@pytest.fixture
def both(conn, tmp_path):
    """The MongoDB driver and the SQLite driver holding the same samples."""
    sql = storage.get_connection(root.make_conf(tmp_path), url=f'sqlite:///{tmp_path}/p.db')
    samples = _mixed_samples()
    for start in range(0, len(samples), 13):
        conn.record_samples(samples[start:start + 13])
        sql.record_samples(samples[start:start + 13])
    yield conn, sql
    sql.close()


def _rounded(stats):
    out = []
    for stat in stats:
        row = stat._asdict()
        for key in ('avg', 'sum'):
            if row[key] is not None:
                row[key] = round(row[key], 9)
        if row['aggregate']:
            row['aggregate'] = {k: round(v, 9) for k, v in row['aggregate'].items()}
        out.append(row)
    return out


_FILTERS = [
    storage.SampleFilter(meter='cpu'),
    storage.SampleFilter(meter='mem', project='p1'),
    storage.SampleFilter(meter='cpu', start_timestamp=T0 + datetime.timedelta(seconds=3000),
                         start_timestamp_op='gt'),
    storage.SampleFilter(meter='cpu', metaquery={'flavor.name': 'tiny'}),
    storage.SampleFilter(meter='mem', user=storage.NULL),
]
_STATS = [
    (None, [], []), (3600, [], []), (1800, ['resource_id'], []),
    (None, ['source', 'resource_metadata.flavor.name'], []),
    (7200, ['project_id'], [storage.Aggregate('stddev'), storage.Aggregate('count'),
                            storage.Aggregate('cardinality', 'user_id'),
                            storage.Aggregate('avg')]),
    (None, ['user_id'], [storage.Aggregate('cardinality', 'project_id'),
                         storage.Aggregate('max')]),
]


@pytest.mark.parametrize('index', range(len(_FILTERS)))
def test_statistics_match_the_sql_driver(both, index):
    mongo, sql = both
    for period, groupby, aggregates in _STATS:
        args = (_FILTERS[index], period, groupby, aggregates)
        assert _rounded(mongo.get_meter_statistics(*args)) == _rounded(
            sql.get_meter_statistics(*args)), (period, groupby, aggregates)


_QUERIES = [
    {'=': {'counter_name': 'cpu'}}, {'!=': {'user_id': 'u1'}}, {'not': {'=': {'user_id': 'u1'}}},
    {'>=': {'resource_metadata.util': '0.5'}}, {'not': {'>=': {'resource_metadata.util': '0.5'}}},
    {'=': {'resource_metadata.size': 0}}, {'!=': {'resource_metadata.size': 0}},
    {'<': {'resource_metadata.size': 2}}, {'in': {'resource_metadata.size': [0, '0']}},
    {'=~': {'resource_id': '^r[12]$'}}, {'=~': {'resource_metadata.flavor.name': 'i'}},
    {'and': [{'>': {'counter_volume': 1}},
             {'or': [{'=': {'project_id': 'p1'}}, {'not': {'=~': {'source': 'b$'}}}]}]},
    {'>': {'timestamp': T0 + datetime.timedelta(seconds=5000)}},
    {'not': {'in': {'user_id': ['u1', 'u2']}}}, {'=': {'resource_metadata.$x': 'd'}},
]


@pytest.mark.parametrize('query', _QUERIES, ids=[str(q) for q in _QUERIES])
def test_complex_query_matches_the_sql_driver(both, query):
    mongo, sql = both
    for orderby in (None, [('counter_volume', 'asc'), ('user_id', 'desc')]):
        assert [s.message_id for s in mongo.query_samples(query, orderby, 40)] == [
            s.message_id for s in sql.query_samples(query, orderby, 40)]


def test_reads_match_the_sql_driver(both):
    mongo, sql = both

    def plain(items):
        return [dataclasses.replace(i, recorded_at=None) if isinstance(i, models.Sample) else i
                for i in items]
    for f in _FILTERS:
        assert plain(mongo.get_samples(f)) == plain(sql.get_samples(f))
        f = f.replace(meter=None)
        assert list(mongo.get_resources(f)) == list(sql.get_resources(f))
        f = f.replace(start_timestamp=None)
        assert list(mongo.get_meters(f)) == list(sql.get_meters(f))
        assert list(mongo.get_meters(f, unique=True)) == list(sql.get_meters(f, unique=True))


def test_query_value_beyond_bson_integers_is_invalid_input(conn):
    conn.record_samples([make()])
    with pytest.raises(exception.InvalidInput):
        list(conn.query_samples({'=': {'resource_metadata.size': 2 ** 70}}))
    with pytest.raises(exception.InvalidInput):
        list(conn.get_samples(storage.SampleFilter(metaquery={'size': 2 ** 70})))
