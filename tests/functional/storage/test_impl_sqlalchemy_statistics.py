"""SQL driver statistics: every plan of the statement answers alike, SQLite's plans seek.

Driver-only tests: the contract suite covers the answers every backend
shares; here the SQLite plans chosen by shape (bucket seeks for dense time
buckets, one seek per (resource, meter) pair for groupby=resource_id) are
checked against the general plan on the same data, and their query plans
against the indexes they are meant to use.
"""

import datetime
import random
import uuid

import pytest

from meterd import storage
from meterd.storage import models
from meterd.storage.sqlalchemy import statistics as sql_statistics
from tests import conftest as root

T0 = datetime.datetime(2024, 3, 1, 0, 17)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def sample(volume, when, name='m', resource='r1', user='u1', project='p1', kind='gauge',
           unit='%'):
    return models.Sample(
        source='s', counter_name=name, counter_type=kind, counter_unit=unit,
        counter_volume=volume, user_id=user, project_id=project, resource_id=resource,
        timestamp=when, resource_metadata={}, message_id=uuid.uuid4().hex)


@pytest.fixture
def conn(tmp_path):
    connection = storage.get_connection(root.make_conf(tmp_path),
                                        url=f'sqlite:///{tmp_path}/s.db')
    yield connection
    connection.close()


@pytest.fixture
def dense(conn):
    """Six days of one meter, volumes with long fractions (sums are order-sensitive)."""
    rnd = random.Random(7)
    conn.record_samples([sample(rnd.random() * 100, at(rnd.randrange(6 * 86400)),
                                resource=f'r{rnd.randrange(5)}') for _ in range(3000)]
                        + [sample(1.5, at(3600 * 30), resource='r0'),
                           sample(2.5, at(3600 * 30), resource='r1'),
                           sample(9.0, at(100), name='other')])
    return conn


def _both_plans(monkeypatch, read):
    """``read()`` with the bucket-seek plan always taken, then never."""
    monkeypatch.setattr(sql_statistics, 'DENSE_BUCKET', 1)
    seeking = read()
    monkeypatch.setattr(sql_statistics, 'DENSE_BUCKET', 10 ** 9)
    return seeking, read()


@pytest.mark.parametrize('start,start_op,end,end_op,period', [
    (at(0), 'ge', at(6 * 86400), 'lt', 3600),
    (at(-5000), 'ge', at(5 * 86400 + 77), 'lt', 3600),
    (at(3600 * 30), 'gt', at(3600 * 60), 'le', 1800),
    (at(0), 'ge', at(6 * 86400), 'lt', 86400 * 2),
    (at(7 * 86400), 'ge', at(8 * 86400), 'lt', 60),
])
def test_bucket_seeks_answer_as_the_grouping_plan(dense, monkeypatch, start, start_op, end,
                                                  end_op, period):
    f = storage.SampleFilter(meter='m', start_timestamp=start, start_timestamp_op=start_op,
                             end_timestamp=end, end_timestamp_op=end_op)
    seeking, grouping = _both_plans(
        monkeypatch, lambda: dense.get_meter_statistics(f, period=period, limit=100001))
    assert seeking == grouping
    if start < at(6 * 86400):
        assert grouping


def test_bucket_seeks_stop_at_the_limit(dense, monkeypatch):
    f = storage.SampleFilter(meter='m', start_timestamp=at(0), end_timestamp=at(6 * 86400))
    seeking, grouping = _both_plans(
        monkeypatch, lambda: dense.get_meter_statistics(f, period=3600, limit=7))
    assert len(seeking) == 7 and seeking == grouping


def test_bucket_seeks_leave_names_of_several_meters_to_the_grouping_plan(conn, monkeypatch):
    conn.record_samples([sample(1, at(0)), sample(2, at(10), kind='delta'),
                         sample(4, at(20), unit='B'), sample(8, at(4000))])
    f = storage.SampleFilter(meter='m', start_timestamp=at(0), end_timestamp=at(7200))
    seeking, grouping = _both_plans(
        monkeypatch, lambda: conn.get_meter_statistics(f, period=3600))
    assert seeking == grouping
    assert [(s.unit, s.count, s.sum) for s in grouping] == [
        ('%', 2, 3.0), ('B', 1, 4.0), ('%', 1, 8.0)]


def test_pair_walk_answers_as_the_grouping_plan(dense):
    f = storage.SampleFilter(meter='m', start_timestamp=at(3600), end_timestamp=at(5 * 86400))
    by_resource = dense.get_meter_statistics(f, groupby=('resource_id',))
    by_both = dense.get_meter_statistics(f, groupby=('user_id', 'resource_id'))
    assert sorted(s.groupby['resource_id'] for s in by_resource) == ['r0', 'r1', 'r2', 'r3', 'r4']
    assert [s.period_start for s in by_resource] == sorted(s.period_start for s in by_resource)
    assert (sorted((s.groupby['resource_id'], s.count, s.sum, s.duration_start)
                   for s in by_resource)
            == sorted((s.groupby['resource_id'], s.count, s.sum, s.duration_start)
                      for s in by_both))


def _plan(conn, f, period=None, groupby=(), aggregates=()):
    stmt, _read = sql_statistics.build(f, period, groupby, aggregates, 'sqlite', 10)
    with conn.begin() as c:
        compiled = stmt.compile(dialect=c.dialect)
        params = compiled.construct_params()
        rows = c.exec_driver_sql('EXPLAIN QUERY PLAN ' + str(compiled),
                                 tuple(params[k] for k in compiled.positiontup))
        return ' / '.join(row[-1] for row in rows)


def test_time_buckets_read_the_narrow_index(dense):
    f = storage.SampleFilter(meter='m', start_timestamp=at(0), end_timestamp=at(86400))
    plan = _plan(dense, f, period=3600)
    assert 'COVERING INDEX ix_samples_meter_time_volume' in plan
    assert 'CORRELATED SCALAR SUBQUERY' in plan  # the bucket seeks


def test_groupby_resource_seeks_per_pair_without_sorting_samples(dense):
    f = storage.SampleFilter(meter='m', start_timestamp=at(0), end_timestamp=at(86400))
    plan = _plan(dense, f, groupby=('resource_id',),
                 aggregates=(storage.Aggregate('stddev'),
                             storage.Aggregate('cardinality', 'user_id')))
    assert 'SCAN meter_resources USING COVERING INDEX' in plan
    assert ('SEARCH samples USING COVERING INDEX ix_samples_resource_meter '
            '(resource_id=? AND meter_id=? AND timestamp>? AND timestamp<?)') in plan
    fast = plan.split('RIGHT')[0]
    assert 'TEMP B-TREE FOR GROUP BY' not in fast


def test_sqlite_error_while_rows_are_fetched_is_a_database_error(tmp_path):
    """Rows read past SQLAlchemy's result must still fail as SQLAlchemy errors (503s)."""
    import sqlalchemy as sa

    engine = sa.create_engine(f'sqlite:///{tmp_path}/f.db')

    def boom(value):
        if value > 1:
            raise ValueError('unreadable row')
        return value

    @sa.event.listens_for(engine, 'connect')
    def _register(dbapi_conn, _record):
        dbapi_conn.create_function('boom', 1, boom)

    with engine.connect() as c:
        c.exec_driver_sql('CREATE TABLE t (x INTEGER)')
        c.exec_driver_sql('INSERT INTO t VALUES (1), (2)')
        # The first row is computed by execute; the failing second one by the fetch.
        result = c.exec_driver_sql('SELECT boom(x) FROM t ORDER BY rowid')
        with pytest.raises(sa.exc.OperationalError):
            sql_statistics._sqlite_rows(result)
    engine.dispose()
