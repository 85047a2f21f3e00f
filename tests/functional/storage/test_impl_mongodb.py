"""MongoDB driver only: escaping, schema, TTL, expiry, write concern, failures.

What every driver must do is in the contract suite; these tests cover what is
particular to the MongoDB store. They run on mongomock, or on the server named
by METERD_TEST_MONGODB_URL.
"""

import datetime
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
