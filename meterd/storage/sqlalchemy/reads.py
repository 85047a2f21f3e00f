"""The metering reads: samples, meters, resources and the meter names behind resource links.

Lists are read in keyset pages (one short transaction each) and converted to
models lazily, so a large answer neither holds a database connection while
it is sent nor sits in memory whole. The first page is read eagerly so
database errors surface before the response starts.
"""

import datetime
import json

import sqlalchemy as sa

from meterd import storage
from meterd.storage import models
from meterd.storage.sqlalchemy import filters
from meterd.storage.sqlalchemy import tables
from meterd import timestamps

PAGE_SIZE = 1000
_S = tables.samples
_M = tables.meters
_MR = tables.meter_resources
_R = tables.resources
_RO = tables.resource_owners


def _paged(begin, query_after, key, convert, limit):
    """Iterator over ``convert(row)`` for up to ``limit`` rows, fetched page by page.

    :param query_after: ``callable(key or None) -> Select`` ordered by ``key``.
    """
    return _paged_rows(begin, lambda conn, after, size: conn.execute(
        query_after(after).limit(size)).all(), key, convert, limit)


def _paged_rows(begin, fetch_page, key, convert, limit):
    """``_paged`` over ``fetch_page(conn, key or None, size) -> rows`` ordered by ``key``."""
    page_size = PAGE_SIZE

    def fetch(after, remaining):
        size = page_size if remaining is None else min(page_size, remaining)
        with begin() as conn:
            return fetch_page(conn, after, size), size

    rows, size = fetch(None, limit)

    def generate(rows, size, remaining):
        while True:
            for row in rows:
                yield convert(row)
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < size or remaining == 0:
                return
            rows, size = fetch(key(rows[-1]), remaining)

    return generate(rows, size, limit)


def _micros(value):
    return None if value is None else timestamps.from_micros(value)


# -- samples -----------------------------------------------------------------

_SAMPLE_COLUMNS = (_S.c.id, _S.c.timestamp, _M.c.name, _M.c.type, _M.c.unit, _S.c.volume,
                   _S.c.user_id, _S.c.project_id, _S.c.resource_id, _S.c.source,
                   _S.c.recorded_at, _S.c.message_id, _S.c.message_signature, _S.c.metadata)


#: Distinct metadata documents decoded per listing before the memo starts afresh.
_MEMO_SIZE = 256


def _metadata_decoder():
    """``JSON text or None -> dict or None``, memoised per listing.

    On SQLite the metadata arrives as JSON text; a resource's samples mostly
    repeat it, so one dict is shared by those rows and the API flattens it once.
    """
    memo = {}

    def decode(text):
        if text is None:
            return None
        try:
            return memo[text]
        except KeyError:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            doc = memo[text] = json.loads(text)
            return doc
    return decode


def sample_columns(dialect):
    """The columns of every sample read, in ``fast_sample_converter``'s order; SQLite's
    metadata as text, so that it is decoded once per distinct document."""
    if dialect != 'sqlite':
        return _SAMPLE_COLUMNS
    return _SAMPLE_COLUMNS[:-1] + (sa.type_coerce(_S.c.metadata, sa.Text).label('metadata'),)


def meter_ids(begin, name):
    with begin() as conn:
        return [r[0] for r in conn.execute(sa.select(_M.c.id).where(_M.c.name == name))]


def get_samples(begin, read, dialect, sample_filter, limit):
    """Samples newest first (timestamp, then storage order), spec §8.

    ``begin`` opens a transaction for Core statements, ``read`` a
    ``DriverConnection`` for driver SQL.
    """
    if not sample_filter.metaquery:
        return _get_samples_sql(read, dialect, sample_filter, limit)
    conds = filters.sample_conditions(sample_filter.replace(meter=None), dialect)
    if sample_filter.meter is not None:
        ids = meter_ids(begin, sample_filter.meter)
        if not ids:
            return iter(())
        conds.append(_S.c.meter_id == ids[0] if len(ids) == 1 else _S.c.meter_id.in_(ids))
    base = (sa.select(*sample_columns(dialect)).select_from(_S.join(_M, _S.c.meter_id == _M.c.id))
            .where(*conds).order_by(_S.c.timestamp.desc(), _S.c.id.desc()))

    def query_after(after):
        if after is None:
            return base
        return base.where(sa.tuple_(_S.c.timestamp, _S.c.id) < sa.tuple_(*after))

    return _paged(begin, query_after, lambda r: (r[1], r[0]),
                  fast_sample_converter(dialect), limit)


# Sample pages without metadata terms (every R2-style listing, a sample by
# id) and meter lists run as driver SQL built once per filter shape, like the
# write path: building and cache-keying the Core statement cost more than
# SQLite's work.

_PAGE_SELECT = ('SELECT s.id, s.timestamp, m.name, m.type, m.unit, s.volume, s.user_id, '
                's.project_id, s.resource_id, s.source, s.recorded_at, s.message_id, '
                's.message_signature, s.metadata FROM samples s JOIN meters m '
                'ON s.meter_id = m.id')
#: A row-value bound: the database seeks the next page in the (..., timestamp, id)
#: index. Spelt as ``timestamp < ? OR (timestamp = ? AND id < ?)`` it was a
#: filter only: every page walked the index again from the newest sample, and
#: streaming a million samples cost the server 53 s of CPU instead of 12.
_PAGE_AFTER = '(s.timestamp, s.id) < (?, ?)'
_PAGE_ORDER = ' ORDER BY s.timestamp DESC, s.id DESC LIMIT ?'
_SQL = {}
#: Statement shapes whose SQL is kept; beyond it the cache starts afresh.
_SQL_SIZE = 256


def _owner_terms(f, alias):
    """``(condition, parameters)`` per user/project/resource/source term on ``alias``."""
    terms = []
    for column, value in (('user_id', f.user), ('project_id', f.project)):
        if value is storage.NULL:
            terms.append((f'{alias}.{column} IS NULL', ()))
        elif value is not None:
            terms.append((f'{alias}.{column} = ?', (value,)))
    if f.resource is not None:
        terms.append((f'{alias}.resource_id = ?', (f.resource,)))
    if f.source is not None:
        terms.append((f'{alias}.source = ?', (f.source,)))
    return terms


def _sample_terms(f, meter_ids):
    """``(condition, parameters)`` per term of a filter without metadata terms."""
    terms = _owner_terms(f, 's')
    if meter_ids is not None:
        terms.append(('s.meter_id = ?' if len(meter_ids) == 1
                      else f's.meter_id IN ({", ".join("?" * len(meter_ids))})',
                      tuple(meter_ids)))
    if f.message_id is not None:
        terms.append(('s.message_id = ?', (f.message_id,)))
    if f.start_timestamp is not None:
        terms.append(('s.timestamp > ?' if f.start_timestamp_op == 'gt' else 's.timestamp >= ?',
                      (timestamps.to_micros(f.start_timestamp),)))
    if f.end_timestamp is not None:
        terms.append(('s.timestamp <= ?' if f.end_timestamp_op == 'le' else 's.timestamp < ?',
                      (timestamps.to_micros(f.end_timestamp),)))
    return terms


def _driver_sql(dialect, select, conditions, order):
    """``select WHERE conditions order`` in the driver's parameter style, kept per shape."""
    key = (dialect, select, conditions, order)
    sql = _SQL.get(key)
    if sql is None:
        sql = select + (' WHERE ' + ' AND '.join(conditions) if conditions else '') + order
        if dialect != 'sqlite':
            sql = sql.replace('?', '%s')
        if len(_SQL) >= _SQL_SIZE:
            _SQL.clear()
        sql = _SQL[key] = sql
    return sql


def _paged_driver_rows(read, dialect, select, terms, after_condition, order, key, convert,
                       limit):
    """``_paged_rows`` over driver SQL: ``select`` with ``terms`` ANDed, then ``order``
    (ending in ``LIMIT ?``); a later page adds ``after_condition``, whose parameters
    ``key(last row)`` gives. ``terms(conn)`` gives the ``(condition, parameters)``
    pairs, or None for no rows; it runs once, in the first page's read."""
    resolved = None

    def fetch_page(conn, after, size):
        nonlocal resolved
        if resolved is None:
            resolved = terms(conn)
            if resolved is None:
                return []
        conditions = tuple(t[0] for t in resolved)
        params = [p for t in resolved for p in t[1]]
        if after is not None:
            conditions += (after_condition,)
            params.extend(after)
        params.append(size)
        return conn.rows(_driver_sql(dialect, select, conditions, order), tuple(params))

    return _paged_rows(read, fetch_page, key, convert, limit)


class DriverConnection:
    """A pooled DBAPI connection for driver SQL, without SQLAlchemy's transaction set-up.

    Checking out, BEGIN and COMMIT through an engine Connection cost about a
    tenth of a sample page's time. A read of driver SQL needs none of it: on
    SQLite (autocommit) each statement reads one snapshot, and on PostgreSQL
    the pool rolls the implicit transaction back when the connection returns.
    """

    def __init__(self, dbapi_connection, dialect):
        self._dbapi_connection = dbapi_connection
        self._dialect = dialect
        #: The driver's parameter mark.
        self.mark = '?' if dialect.name == 'sqlite' else '%s'

    def rows(self, sql, params=()):
        """Plain tuples; driver errors wrapped as SQLAlchemy wraps them, so the
        storage driver's error translation still applies."""
        dbapi = self._dialect.loaded_dbapi
        cursor = self._dbapi_connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        except dbapi.Error as err:
            raise sa.exc.DBAPIError.instance(sql, params, err, dbapi.Error,
                                             dialect=self._dialect) from err
        finally:
            cursor.close()


def _meter_ids_sql(conn, name):
    return [r[0] for r in conn.rows(
        f'SELECT id FROM meters WHERE name = {conn.mark} ORDER BY id', (name,))]


def _get_samples_sql(read, dialect, f, limit):
    def terms(conn):
        meter_ids = None
        if f.meter is not None:
            # In the first page's read: one connection per page.
            meter_ids = _meter_ids_sql(conn, f.meter)
            if not meter_ids:
                return None
        return _sample_terms(f, meter_ids)

    return _paged_driver_rows(read, dialect, _PAGE_SELECT, terms, _PAGE_AFTER, _PAGE_ORDER,
                              lambda r: (r[1], r[0]), fast_sample_converter(dialect),
                              limit)


_new = object.__new__
_set = object.__setattr__
_Sample = models.Sample
_EPOCH = timestamps.EPOCH
_timedelta = datetime.timedelta


def fast_sample_converter(dialect):
    """``row -> models.Sample`` for rows of ``_PAGE_SELECT`` or ``sample_columns(dialect)``
    (the same columns in the same order).

    The model's fields are set in one go: the frozen dataclass ``__init__``
    (one guarded setattr per field) cost several times as much, per sample.
    Timestamps as timestamps.from_micros, without its keyword call.
    """
    decode = _metadata_decoder() if dialect == 'sqlite' else (lambda doc: doc)

    def convert(row):
        (_id, ts, name, kind, unit, volume, user, project, resource, source, recorded,
         message_id, signature, metadata) = row
        sample = _new(_Sample)
        _set(sample, '__dict__', {
            'source': source, 'counter_name': name, 'counter_type': kind,
            'counter_unit': unit, 'counter_volume': float(volume), 'user_id': user,
            'project_id': project, 'resource_id': resource,
            'timestamp': _EPOCH + _timedelta(0, 0, ts),
            'resource_metadata': decode(metadata) or {}, 'message_id': message_id,
            'message_signature': signature or '',
            'recorded_at': None if recorded is None else _EPOCH + _timedelta(0, 0, recorded)})
        return sample
    return convert


# -- meters ------------------------------------------------------------------


def _meter(row):
    return models.Meter(name=row.name, type=row.type, unit=row.unit,
                        resource_id=row.resource_id, project_id=row.project_id,
                        user_id=row.user_id, source=row.source)


def _described_conditions(table, sample_filter, dialect):
    conds = filters.owner_conditions(table, sample_filter)
    conds.extend(filters.metadata_conditions(table.c.metadata, sample_filter.metaquery,
                                             dialect))
    return conds


def get_meters(begin, read, dialect, sample_filter, limit, unique):
    """One entry per (resource, name, type, unit) described by its latest stored sample (§9.2)."""
    if unique:
        return _unique_meters(begin, dialect, sample_filter, limit)
    if not sample_filter.metaquery:
        terms = _owner_terms(sample_filter, 'mr')
        return _paged_driver_rows(read, dialect, _METER_SELECT, lambda conn: terms,
                                  _METER_AFTER, _METER_ORDER, lambda r: r[:4], _fast_meter,
                                  limit)
    key_cols = (_MR.c.resource_id, _M.c.name, _M.c.type, _M.c.unit)
    base = (sa.select(_MR.c.resource_id, _M.c.name, _M.c.type, _M.c.unit, _MR.c.user_id,
                      _MR.c.project_id, _MR.c.source)
            .select_from(_MR.join(_M, _MR.c.meter_id == _M.c.id))
            .where(*_described_conditions(_MR, sample_filter, dialect))
            .order_by(*key_cols))

    def query_after(after):
        return base if after is None else base.where(sa.tuple_(*key_cols) > sa.tuple_(*after))

    return _paged(begin, query_after, lambda r: (r.resource_id, r.name, r.type, r.unit),
                  _meter, limit)


# The meter list without metadata terms (R1) as driver SQL: its rows are the
# Core query's above, in the same order.
_METER_SELECT = ('SELECT mr.resource_id, m.name, m.type, m.unit, mr.user_id, mr.project_id, '
                 'mr.source FROM meter_resources mr JOIN meters m ON mr.meter_id = m.id')
_METER_AFTER = '(mr.resource_id, m.name, m.type, m.unit) > (?, ?, ?, ?)'
_METER_ORDER = ' ORDER BY mr.resource_id, m.name, m.type, m.unit LIMIT ?'
_Meter = models.Meter


def _fast_meter(row):
    """``row -> models.Meter`` with its fields set in one go, as fast_sample_converter."""
    resource_id, name, kind, unit, user_id, project_id, source = row
    meter = _new(_Meter)
    _set(meter, '__dict__', {'name': name, 'type': kind, 'unit': unit,
                             'resource_id': resource_id, 'project_id': project_id,
                             'user_id': user_id, 'source': source})
    return meter


def _unique_meters(begin, dialect, sample_filter, limit):
    """Per name, the most recently stored sample over all resources; filters apply to it."""
    rank = sa.func.row_number().over(partition_by=_M.c.name,
                                     order_by=_MR.c.last_sample_id.desc())
    latest = (sa.select(_M.c.name, _M.c.type, _M.c.unit, _MR.c.resource_id, _MR.c.user_id,
                        _MR.c.project_id, _MR.c.source, _MR.c.metadata, rank.label('rank'))
              .select_from(_MR.join(_M, _MR.c.meter_id == _M.c.id))).subquery()
    query = (sa.select(latest.c.name, latest.c.type, latest.c.unit)
             .where(latest.c.rank == 1,
                    *_described_conditions(latest, sample_filter, dialect))
             .order_by(latest.c.name).limit(limit))
    with begin() as conn:
        rows = conn.execute(query).all()
    return iter([models.Meter(name=r.name, type=r.type, unit=r.unit, resource_id=None,
                              project_id=None, user_id=None, source=None) for r in rows])


# -- resources ---------------------------------------------------------------


def _resource(row):
    return models.Resource(
        resource_id=row.resource_id, project_id=row.project_id, user_id=row.user_id,
        source=row.source, first_sample_timestamp=_micros(row.first_sample_timestamp),
        last_sample_timestamp=_micros(row.last_sample_timestamp),
        metadata=row.metadata or {})


def get_resources(begin, dialect, sample_filter, limit):
    """Resources over their considered samples (§9.7), newest last sample first.

    Exact answers come from the catalogue when the filter has nothing the
    catalogue cannot answer: ``resources`` without owner terms,
    ``resource_owners`` with them; metadata or time terms scan samples.
    """
    f = sample_filter
    if f.metaquery or f.start_timestamp is not None or f.end_timestamp is not None:
        return _resources_from_samples(begin, dialect, f, limit)
    if f.user is not None or f.project is not None or f.source is not None:
        return _resources_from_owners(begin, f, limit)
    return _resources_from_catalogue(begin, f, limit)


def _resources_from_catalogue(begin, sample_filter, limit):
    conds = []
    if sample_filter.resource is not None:
        conds.append(_R.c.resource_id == sample_filter.resource)
    base = sa.select(_R).where(*conds).order_by(_R.c.last_sample_timestamp.desc(),
                                                _R.c.resource_id)

    def query_after(after):
        if after is None:
            return base
        last, rid = after
        # Mixed directions allow no row value; the first term bounds the index seek.
        return base.where(_R.c.last_sample_timestamp <= last,
                          sa.or_(_R.c.last_sample_timestamp < last, _R.c.resource_id > rid))

    return _paged(begin, query_after, lambda r: (r.last_sample_timestamp, r.resource_id),
                  _resource, limit)


def _latest_per_resource(table, conds, ts_first, ts_last, ts_order, id_order, limit):
    """Rows of ``table`` grouped by resource: min/max timestamps, the latest row's fields."""
    window = {'partition_by': table.c.resource_id}
    ranked = (sa.select(
        table.c.resource_id, table.c.user_id, table.c.project_id, table.c.source,
        table.c.metadata,
        sa.func.min(ts_first).over(**window).label('first_sample_timestamp'),
        sa.func.max(ts_last).over(**window).label('last_sample_timestamp'),
        sa.func.row_number().over(order_by=(ts_order.desc(), id_order.desc()),
                                  **window).label('rank'))
        .where(*conds)).subquery()
    return (sa.select(ranked).where(ranked.c.rank == 1)
            .order_by(ranked.c.last_sample_timestamp.desc(), ranked.c.resource_id)
            .limit(limit))


def _fetch_resources(begin, query):
    with begin() as conn:
        rows = conn.execute(query).all()
    return (_resource(r) for r in rows)


def _resources_from_owners(begin, sample_filter, limit):
    conds = filters.owner_conditions(_RO, sample_filter)
    query = _latest_per_resource(_RO, conds, _RO.c.first_sample_timestamp,
                                 _RO.c.last_sample_timestamp, _RO.c.last_sample_timestamp,
                                 _RO.c.last_sample_id, limit)
    return _fetch_resources(begin, query)


def _resources_from_samples(begin, dialect, sample_filter, limit):
    conds = filters.sample_conditions(sample_filter, dialect)
    query = _latest_per_resource(_S, conds, _S.c.timestamp, _S.c.timestamp, _S.c.timestamp,
                                 _S.c.id, limit)
    return _fetch_resources(begin, query)


def get_meter_names_by_resource(read, resource_ids, project=None, chunk=500):
    """{resource_id: sorted meter names}; one query per ``chunk`` ids (driver SQL)."""
    ids = list(dict.fromkeys(resource_ids))
    names = {rid: [] for rid in ids}
    with read() as conn:
        mark = conn.mark
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            where = [f'mr.resource_id IN ({", ".join([mark] * len(part))})']
            params = list(part)
            if project is storage.NULL:
                where.append('mr.project_id IS NULL')
            elif project is not None:
                where.append(f'mr.project_id = {mark}')
                params.append(project)
            sql = ('SELECT DISTINCT mr.resource_id, m.name FROM meter_resources mr '
                   'JOIN meters m ON mr.meter_id = m.id WHERE ' + ' AND '.join(where)
                   + ' ORDER BY mr.resource_id, m.name')
            for rid, name in conn.rows(sql, tuple(params)):
                names[rid].append(name)
    return names
