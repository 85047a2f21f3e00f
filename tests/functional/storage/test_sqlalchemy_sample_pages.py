"""SQL lists run in keyset pages as driver SQL: the pages join up exactly, and database
errors still become StorageUnavailable."""

import datetime
import uuid

import pytest
from sqlalchemy import event

from meterd import exception
from meterd import storage
from meterd.storage import impl_sqlalchemy
from meterd.storage import models
from meterd.storage.sqlalchemy import reads
from tests import conftest as root

T0 = datetime.datetime(2024, 5, 1, 10, 0, 0)


@pytest.fixture
def sqlite_conn(tmp_path):
    conf = root.make_conf(tmp_path)
    connection = storage.get_connection(conf, url=f'sqlite:///{tmp_path}/m.sqlite')
    assert isinstance(connection, impl_sqlalchemy.Connection)
    yield connection
    connection.close()


@pytest.mark.parametrize('sample_filter', [
    storage.SampleFilter(),
    storage.SampleFilter(resource='r', user=storage.NULL),
    storage.SampleFilter(message_id='m'),
])
def test_a_failing_sample_page_is_storage_unavailable(sqlite_conn, sample_filter):
    with sqlite_conn.begin(write=True) as conn:
        conn.exec_driver_sql('ALTER TABLE samples RENAME TO samples_gone')
    with pytest.raises(exception.StorageUnavailable):
        list(sqlite_conn.get_samples(sample_filter))


def test_a_failing_meter_page_is_storage_unavailable(sqlite_conn):
    with sqlite_conn.begin(write=True) as conn:
        conn.exec_driver_sql('ALTER TABLE meter_resources RENAME TO meter_resources_gone')
    with pytest.raises(exception.StorageUnavailable):
        list(sqlite_conn.get_meters(storage.SampleFilter(project='p1')))


def _sample(name, unit, resource, minute, user, project):
    return models.Sample(
        source=f'{project}:openstack', counter_name=name, counter_type='gauge',
        counter_unit=unit, counter_volume=float(minute), user_id=user, project_id=project,
        resource_id=resource, timestamp=T0 + datetime.timedelta(minutes=minute),
        resource_metadata={'m': minute}, message_id=str(uuid.uuid4()))


#: Several resources, two units of one name, owners that differ, and runs of
#: equal timestamps (ordered by storage order within a run).
SAMPLES = [_sample(name, unit, f'r{r}', minute // 2, f'u{r % 2}', f'p{r % 3}')
           for r in range(5) for name, unit in (('cpu', '%'), ('cpu', 'ns'), ('mem', 'MB'))
           for minute in range(7)]


@pytest.mark.parametrize('backend_url', ['sqlite', 'postgresql'], indirect=True)
@pytest.mark.parametrize('sample_filter', [
    storage.SampleFilter(),
    storage.SampleFilter(meter='cpu'),
    storage.SampleFilter(project='p1', user='u1'),
    storage.SampleFilter(resource='r3', start_timestamp=T0 + datetime.timedelta(minutes=1)),
])
def test_pages_join_up_to_the_list_read_in_one_page(conn, monkeypatch, sample_filter):
    conn.record_samples(SAMPLES)
    whole_samples = [s.message_id for s in conn.get_samples(sample_filter)]
    whole_meters = list(conn.get_meters(sample_filter.replace(meter=None)))
    assert whole_samples and whole_meters

    monkeypatch.setattr(reads, 'PAGE_SIZE', 4)
    assert [s.message_id for s in conn.get_samples(sample_filter)] == whole_samples
    assert list(conn.get_meters(sample_filter.replace(meter=None))) == whole_meters
    for limit in (1, 4, 5, 9):
        assert [s.message_id for s in conn.get_samples(sample_filter, limit=limit)] \
            == whole_samples[:limit]
        assert list(conn.get_meters(sample_filter.replace(meter=None), limit=limit)) \
            == whole_meters[:limit]


def _vm_steps(connection, read):
    """SQLite virtual-machine steps (in hundreds) that ``read()`` costs, over every
    pooled connection it checks out: a count, not a time."""
    steps = [0]

    def count():
        steps[0] += 1
        return 0  # 0: carry on

    def checkout(dbapi_conn, _record, _proxy):
        dbapi_conn.set_progress_handler(count, 100)

    event.listen(connection.engine, 'checkout', checkout)
    try:
        read()
    finally:
        event.remove(connection.engine, 'checkout', checkout)
    return steps[0]


def _spread(n):
    """``n`` samples of one meter, 2 resources, distinct owners per resource, 1 a minute."""
    return [models.Sample(
        source='openstack', counter_name='cpu', counter_type='gauge', counter_unit='%',
        counter_volume=1.0, user_id=f'u{i % 2}', project_id='p', resource_id=f'r{i % 2}',
        timestamp=T0 + datetime.timedelta(minutes=i), resource_metadata={'tag': 'x'},
        message_id=str(uuid.uuid4())) for i in range(n)]


@pytest.mark.parametrize('listing', [
    lambda c, n: list(c.get_samples(storage.SampleFilter(), limit=n)),
    lambda c, n: list(c.get_samples(storage.SampleFilter(meter='cpu'), limit=n)),
    lambda c, n: list(c.get_samples(storage.SampleFilter(meter='cpu', resource='r1'),
                                    limit=n // 2)),
    lambda c, n: list(c.get_samples(storage.SampleFilter(metaquery={'tag': 'x'}), limit=n)),
], ids=['all', 'meter', 'meter+resource', 'metaquery'])
def test_each_page_seeks_where_the_last_ended(sqlite_conn, monkeypatch, listing):
    """Twice the pages cost about twice the work: a page that walked the index from
    the start again made a long listing quadratic."""
    sqlite_conn.record_samples(_spread(4000))
    monkeypatch.setattr(reads, 'PAGE_SIZE', 50)
    short = _vm_steps(sqlite_conn, lambda: listing(sqlite_conn, 2000))
    long = _vm_steps(sqlite_conn, lambda: listing(sqlite_conn, 4000))
    assert short > 0
    assert long < 2.5 * short, (short, long)


def test_each_resource_page_seeks_where_the_last_ended(sqlite_conn, monkeypatch):
    """Resources of equal last timestamps page by id: the seek still bounds each page."""
    samples = [models.Sample(
        source='openstack', counter_name='cpu', counter_type='gauge', counter_unit='%',
        counter_volume=1.0, user_id='u', project_id='p', resource_id=f'r{i:05d}',
        timestamp=T0 + datetime.timedelta(minutes=i % 7), resource_metadata={},
        message_id=str(uuid.uuid4())) for i in range(4000)]
    sqlite_conn.record_samples(samples)
    monkeypatch.setattr(reads, 'PAGE_SIZE', 50)

    def listing(n):
        return lambda: list(sqlite_conn.get_resources(storage.SampleFilter(), limit=n))
    short = _vm_steps(sqlite_conn, listing(2000))
    long = _vm_steps(sqlite_conn, listing(4000))
    assert long < 2.5 * short, (short, long)


@pytest.mark.parametrize('backend_url', ['sqlite', 'postgresql'], indirect=True)
def test_a_complex_query_is_read_a_chunk_at_a_time(conn, monkeypatch):
    """Its order is the caller's, so no keyset pages: one statement, read as it is sent."""
    conn.record_samples(_spread(100))
    orderby = [('counter_volume', 'asc'), ('resource_id', 'desc'), ('timestamp', 'asc')]
    whole = [s.message_id for s in conn.query_samples(None, orderby, 95)]
    converted = []
    fast = reads.fast_sample_converter

    def counting(dialect):
        convert = fast(dialect)

        def count(row):
            converted.append(row)
            return convert(row)
        return count
    monkeypatch.setattr(reads, 'fast_sample_converter', counting)
    monkeypatch.setattr(impl_sqlalchemy, 'STREAM_CHUNK', 10)
    found = conn.query_samples(None, orderby, 95)
    first = next(found)
    assert len(converted) == 10
    assert [first.message_id] + [s.message_id for s in found] == whole
    assert len(converted) == 95
