"""Statistics (spec §9.5) as one SQL statement: buckets, units and groups are one GROUP BY.

Timestamps are integer microseconds, so a period bucket is the integer
expression ``(timestamp - anchor) / period``. Without a lower time bound the
anchor is the earliest matching sample, found by a scalar subquery of the
same statement (one round trip, and an index seek on (meter_id, timestamp)).

The statement is a UNION ALL of branches, one of which runs, chosen by
one-time conditions of the same statement: a meter name with one unit (the
common case) makes the unit a constant; a name with several units groups by
unit through a join. On SQLite the common case is read as a hand-written
query would read it (see ``build`` and ``_bucket_statement``).
"""

import functools
import itertools
import json
import math

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext import compiler

from meterd import exception
from meterd import storage
from meterd.storage import models
from meterd.storage.sqlalchemy import complex_query
from meterd.storage.sqlalchemy import filters
from meterd.storage.sqlalchemy import tables
from meterd import timestamps

_US = 1_000_000
#: A bucket may not end after the last datetime (spec §9.5 errors).
MAX_MICROS = timestamps.MAX_MICROS

_S = tables.samples
_M = tables.meters
_MR = tables.meter_resources
#: Indexes of tables.py the SQLite plans pin: the narrow (meter, time,
#: volume) one, the (resource, meter, time, ...) covering one, and the
#: primary key of meter_resources (SQLite's name for a composite key's
#: index). If one goes, the statement fails at once instead of slowing down.
_TIME_INDEX = 'ix_samples_meter_time_volume'
_RESOURCE_INDEX = 'ix_samples_resource_meter'
_PAIR_INDEX = 'sqlite_autoindex_meter_resources_1'
#: What the narrow index covers: the samples of meters, filtered by time only.
_NARROW_AGGREGATES = frozenset(('count', 'min', 'max', 'sum', 'avg', 'stddev'))


class _NarrowScan(sa.sql.selectable.Alias):
    """samples, read on SQLite through the narrow (meter, time, volume) index.

    Without ANALYZE data SQLite may pick the wide (meter, time, id, ...)
    index instead (the same rows in more pages: +10% on a month of a
    meter). SQLAlchemy renders no SQLite table hints, hence this construct.
    """

    inherit_cache = True


@compiler.compiles(_NarrowScan, 'sqlite')
def _narrow_scan_sqlite(alias, sql_compiler, **kw):
    text = sql_compiler.visit_alias(alias, **kw)
    return f'{text} INDEXED BY {_TIME_INDEX}' if kw.get('asfrom') else text


#: samples, aliased as itself; one shared (immutable) construct.
_NARROW = _NarrowScan._construct(_S, name=_S.name)


class _PairLoop(sa.sql.selectable.Join):
    """meter_resources JOIN samples; on SQLite one index seek per pair, in pair order.

    Left to itself SQLite starts from the meter's samples and sorts them into
    groups (~100 ms for 100k samples).
    """

    inherit_cache = True


def _cross_join(join, sql_compiler, left_hint='', right_hint='', from_linter=None, **kw):
    """``join`` as SQLite's CROSS JOIN: its left side is always the outer loop."""
    if from_linter:
        from_linter.edges.update(itertools.product(join.left._from_objects,
                                                   join.right._from_objects))
    kw.update(asfrom=True, from_linter=from_linter)
    return (f'{sql_compiler.process(join.left, **kw)}{left_hint} '
            f'CROSS JOIN {sql_compiler.process(join.right, **kw)}{right_hint} '
            f'ON {sql_compiler.process(join.onclause, **kw)}')


@compiler.compiles(_PairLoop, 'sqlite')
def _pair_loop_sqlite(join, sql_compiler, **kw):
    return _cross_join(join, sql_compiler, f' INDEXED BY {_PAIR_INDEX}',
                       f' INDEXED BY {_RESOURCE_INDEX}', **kw)


class _Gate(sa.sql.selectable.Join):
    """A one-row gate subquery joined before the samples: on SQLite, CROSS JOIN.

    The branches of the statement are guarded by one-time conditions, but
    SQLite evaluates a WHERE term holding a subquery per row: a branch that
    should not run would still read its samples. As the outer loop of a
    CROSS JOIN (which SQLite never reorders) the gate row is tested once,
    before any sample is read.
    """

    inherit_cache = True


@compiler.compiles(_Gate, 'sqlite')
def _gate_sqlite(join, sql_compiler, **kw):
    return _cross_join(join, sql_compiler, **kw)


def _gated(from_, flag):
    """(FROM clause, condition): ``from_`` read only when ``flag`` holds."""
    gate = sa.select(flag.label('go')).subquery('gate')
    return _Gate(gate, from_, sa.true()), gate.c.go


def _narrow(sample_filter, groupby, aggregates):
    """True when the narrow (meter, time, volume) index holds every column read."""
    f = sample_filter
    return (f.meter is not None and not groupby and not f.metaquery
            and all(v is None for v in (f.user, f.project, f.resource, f.source, f.message_id))
            and all(a.func in _NARROW_AGGREGATES for a in aggregates))


def _column(samples, name):
    return {'user_id': samples.c.user_id, 'project_id': samples.c.project_id,
            'resource_id': samples.c.resource_id, 'source': samples.c.source}[name]


def _metadata_group(samples, path, dialect):
    """The JSON value at ``path`` (JSON null and a missing key are both SQL NULL)."""
    if dialect == 'postgresql':
        node = samples.c.metadata.op('#>', return_type=postgresql.JSONB)(
            sa.literal(path.split('.'), sa.ARRAY(sa.Text)))
        return sa.func.nullif(node, sa.literal_column("'null'::jsonb"),
                             type_=postgresql.JSONB)
    node = samples.c.metadata.op('->', return_type=sa.Text)(
        sa.literal(complex_query.sqlite_path(path)))
    return sa.func.nullif(node, 'null', type_=sa.Text)


def group_text(value):
    """A metadata group value as the API prints metadata (§12.6): str() of non-strings."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


class _Groups:
    """The groupby expressions and how to read their values back.

    ``by_pair``: resource_id is read from meter_resources, the outer loop
    of the per-(resource, meter) plan, so SQLite sees the groups in order.
    """

    def __init__(self, groupby, dialect, samples=_S, by_pair=False):
        self.names = list(groupby)
        self.exprs, self.decoders = [], []
        for name in self.names:
            if name.startswith('resource_metadata.'):
                path = name[len('resource_metadata.'):]
                self.exprs.append(_metadata_group(samples, path, dialect))
                self.decoders.append(group_text if dialect == 'postgresql'
                                     else _decode_sqlite_json)
            else:
                column = (_MR.c.resource_id if by_pair and name == 'resource_id'
                          else _column(samples, name))
                self.exprs.append(column.collate('C') if dialect == 'postgresql' else column)
                self.decoders.append(None)
        self.has_metadata = any(d is not None for d in self.decoders)

    def values(self, row, offset):
        values = row[offset:offset + len(self.names)]
        if not self.has_metadata:
            return dict(zip(self.names, values))
        return {name: decode(value) if decode else value
                for name, decode, value in zip(self.names, self.decoders, values)}


def _decode_sqlite_json(text):
    return None if text is None else group_text(json.loads(text))


def _variance(samples, dialect):
    """Population variance of volume in the same pass (the reader takes the root)."""
    if dialect == 'postgresql':
        return sa.func.var_pop(samples.c.volume)
    return sa.func.meterd_var_pop(samples.c.volume)  # registered by sqlite_functions


def _int(value):
    # The period is inlined: the bucket expression must read the same in
    # every branch, and its integer division must stay integral.
    return sa.literal_column(str(int(value)), sa.BigInteger)


def _anchor(sample_filter, dialect):
    """Bucket origin: the (widened) lower bound, else the earliest matching sample.

    The subquery reads an alias of samples: uncorrelated, it runs once.
    """
    if sample_filter.start_timestamp is not None:
        return sa.literal(timestamps.to_micros(sample_filter.start_timestamp), sa.BigInteger)
    inner = _S.alias('matching')
    conds = filters.sample_conditions(sample_filter, dialect, table=inner)
    return sa.select(sa.func.min(inner.c.timestamp)).where(*conds).scalar_subquery()


def _sqrt_var(value):
    return math.sqrt(max(float(value), 0.0))


def _measures(samples, aggregates, dialect):
    """(key, SQL expression, reader) per requested value; the standard set when none asked.

    The standard set needs no reader: count(*) is an integer and min, max,
    sum and avg of the float volume column are floats on every database.
    """
    volume = samples.c.volume
    if not aggregates:
        return [('count', sa.func.count(), None), ('min', sa.func.min(volume), None),
                ('max', sa.func.max(volume), None), ('sum', sa.func.sum(volume), None),
                ('avg', sa.func.avg(volume), None)]
    out = []
    for agg in aggregates:
        if agg.func == 'count':
            out.append((agg.key, sa.func.count(), float))
        elif agg.func in ('min', 'max', 'sum', 'avg'):
            out.append((agg.key, getattr(sa.func, agg.func)(volume), float))
        elif agg.func == 'stddev':
            out.append((agg.key, _variance(samples, dialect), _sqrt_var))
        else:
            out.append((agg.key, sa.func.count(sa.distinct(_column(samples, agg.param))),
                        float))
    return out


class _Select:
    """The columns, conditions and group keys of one branch over ``samples``.

    Rows are (u, first_ts, last_ts[, bucket, anchor], g0.., m0..): the
    reader's layout.
    """

    def __init__(self, samples, sample_filter, period, groupby, aggregates, dialect,
                 by_pair=False, conds=None, anchor=None):
        self.samples = samples
        self.conds = (filters.sample_conditions(sample_filter, dialect, table=samples)
                      if conds is None else conds)
        self.groups = _Groups(groupby, dialect, samples, by_pair)
        self.measures = _measures(samples, aggregates, dialect)
        ts = samples.c.timestamp
        self.columns = [sa.func.min(ts).label('first_ts'), sa.func.max(ts).label('last_ts')]
        if period:
            anchor = _anchor(sample_filter, dialect) if anchor is None else anchor
            self.columns += [((ts - anchor) // _int(period * _US)).label('bucket'),
                             anchor.label('anchor')]
        self.columns += [g.label(f'g{i}') for i, g in enumerate(self.groups.exprs)]
        self.columns += [expr.label(f'm{i}')
                         for i, (_key, expr, _read) in enumerate(self.measures)]
        self.keys = ['bucket'] if period else []
        self.group_keys = [f'g{i}' for i in range(len(self.groups.exprs))]

    def select(self, unit, from_, gate, *conds, by_unit=False):
        """The branch over ``from_``, read only when the one-time ``gate`` holds."""
        # GROUP BY and ORDER BY name the output columns: the expressions carry
        # bound parameters, and PostgreSQL only matches expressions, not values.
        keys = self.keys + (['u'] if by_unit else []) + self.group_keys
        if gate is not None:
            from_, go = _gated(from_, gate)
            conds += (go,)
        stmt = (sa.select(unit.label('u'), *self.columns).select_from(from_)
                .where(*self.conds, *conds))
        if not keys:
            # One partition: without a GROUP BY no sample still makes a row.
            return stmt.having(sa.func.count() > 0)
        return stmt.group_by(*map(sa.literal_column, keys))


def _unit_count(name):
    """How many units the meters named ``name`` (one per type and unit) have."""
    return (sa.select(sa.func.count(sa.distinct(_M.c.unit))).where(_M.c.name == name)
            .scalar_subquery())


#: Samples per period bucket from which one seek and four short scans per
#: bucket beat sorting the window's samples into buckets (SQLite's sorter
#: costs ~0.4 us a sample, a bucket's seeks ~10 us).
DENSE_BUCKET = 32


def _seekable(sample_filter, period, groupby, aggregates, dialect):
    """Plain time buckets of a bounded window: the shape of the bucket-seek statement."""
    return (dialect == 'sqlite' and period and not aggregates
            and _narrow(sample_filter, groupby, aggregates)
            and sample_filter.start_timestamp is not None
            and sample_filter.end_timestamp is not None)


def _param(key):
    return sa.bindparam(key, None, type_=sa.BigInteger if key != 'name' else sa.Text,
                        required=False)


def _seek_buckets(step, p):
    """The bucket-seek branch of plain time buckets on SQLite (guarded: dense windows only).

    SQLite cannot group an index range by an expression of the time without
    sorting it, and the sort is most of the work of an hourly month. Here a
    recursive CTE seeks the first sample of each non-empty bucket (one index
    seek past the previous bucket) and short scans of the narrow index read
    each bucket's aggregates. ``avg`` is sum / count, exactly SQLite's
    avg(): both come from the same double sum. The plan runs only for one
    meter of the name and at least DENSE_BUCKET samples a bucket on average
    (a count that stops there); else its CTE is empty and the sorting
    branch, guarded by that emptiness, answers.

    :param p: the named parameters (name, anchor, low, high, enough).
    :returns: (the branch's SELECT, the materialized buckets CTE).
    """
    meter_id = sa.select(sa.func.min(_M.c.id)).where(_M.c.name == p['name']).scalar_subquery()
    one_meter = (sa.select(sa.func.count()).where(_M.c.name == p['name'])
                 .scalar_subquery()) == 1
    ts = _NARROW.c.timestamp

    def aggregate(func, lower, upper):
        return (sa.select(func).select_from(_NARROW)
                .where(_NARROW.c.meter_id == meter_id, ts >= lower, ts < upper)
                .scalar_subquery())

    window = (sa.select(sa.literal_column('1')).select_from(_NARROW)
              .where(_NARROW.c.meter_id == meter_id, ts >= p['low'], ts < p['high'])
              .limit(p['enough']).subquery())
    dense = sa.select(sa.func.count()).select_from(window).scalar_subquery() >= p['enough']
    firsts = (sa.select(aggregate(sa.func.min(ts), p['low'], p['high']).label('first'))
              .where(one_meter, dense).cte('firsts', recursive=True))

    def bucket_end(first):
        return p['anchor'] + ((first - p['anchor']) // _int(step) + 1) * _int(step)

    firsts = firsts.union_all(
        sa.select(aggregate(sa.func.min(ts), bucket_end(firsts.c.first), p['high']))
        .where(firsts.c.first.is_not(None)))
    first = firsts.c.first
    end = sa.func.min(bucket_end(first), p['high'])
    volume = _NARROW.c.volume
    per_bucket = (sa.select(first.label('first'),
                            aggregate(sa.func.max(ts), first, end).label('last'),
                            aggregate(sa.func.count(), first, end).label('n'),
                            aggregate(sa.func.min(volume), first, end).label('low'),
                            aggregate(sa.func.max(volume), first, end).label('high'),
                            aggregate(sa.func.sum(volume), first, end).label('total'))
                  .where(first.is_not(None)).cte('buckets').prefix_with('MATERIALIZED'))
    b = per_bucket.c
    unit = sa.select(sa.func.min(_M.c.unit)).where(_M.c.name == p['name']).scalar_subquery()
    branch = sa.select(unit.label('u'), b.first.label('first_ts'), b.last.label('last_ts'),
                       ((b.first - p['anchor']) // _int(step)).label('bucket'),
                       p['anchor'].label('anchor'), b.n.label('m0'), b.low.label('m1'),
                       b.high.label('m2'), b.total.label('m3'), (b.total / b.n).label('m4'))
    return branch, per_bucket


_NO_GROUPS = _Groups((), 'sqlite')
_STANDARD = _measures(_S, (), 'sqlite')
#: Compiles statements to text with named parameters.
_NAMED_SQLITE = sqlite.dialect(paramstyle='named')


@functools.lru_cache(maxsize=64)
def _bucket_statement(period):
    """Plain time buckets of one meter name over a bounded window on SQLite.

    Built and compiled once per period: the statement is large (~3 ms to
    build and key each time) and only its values change. Its three
    branches: bucket seeks (dense windows), the narrow index grouped and
    sorted (sparse windows), and per unit through the join (a name with
    several units).

    :returns: (the statement as text, the default values of its parameters).
    """
    p = {key: _param(key) for key in ('name', 'anchor', 'low', 'high', 'enough', 'limit')}
    step = period * _US
    name_ids = sa.select(_M.c.id).where(_M.c.name == p['name'])
    seek, per_bucket = _seek_buckets(step, p)
    several = _unit_count(p['name']) > 1
    unit = sa.select(sa.func.min(_M.c.unit)).where(_M.c.name == p['name']).scalar_subquery()
    narrow_conds = [_NARROW.c.meter_id.in_(name_ids), _NARROW.c.timestamp >= p['low'],
                    _NARROW.c.timestamp < p['high']]
    narrow = _Select(_NARROW, None, period, (), (), 'sqlite', conds=narrow_conds,
                     anchor=p['anchor'])
    grouped = narrow.select(unit, _NARROW, sa.and_(~several, ~sa.exists(per_bucket.select())))
    conds = [_S.c.meter_id.in_(name_ids), _S.c.timestamp >= p['low'],
             _S.c.timestamp < p['high']]
    generic = _Select(_S, None, period, (), (), 'sqlite', conds=conds, anchor=p['anchor'])
    by_unit = generic.select(_M.c.unit, _S.join(_M, _S.c.meter_id == _M.c.id), several,
                             by_unit=True)
    stmt = (sa.union_all(seek, grouped, by_unit)
            .order_by(sa.literal_column('bucket'), sa.literal_column('u'))
            .limit(p['limit']))
    compiled = stmt.compile(dialect=_NAMED_SQLITE)
    return sa.text(str(compiled)), compiled.construct_params()


def _bucket_values(sample_filter, period, limit):
    """The values of _bucket_statement's parameters for one request."""
    f = sample_filter
    anchor = timestamps.to_micros(f.start_timestamp)
    low = anchor + (1 if f.start_timestamp_op == 'gt' else 0)
    high = timestamps.to_micros(f.end_timestamp) + (1 if f.end_timestamp_op == 'le' else 0)
    buckets = max(1, -(-(high - anchor) // (period * _US)))
    return {'name': f.meter, 'anchor': anchor, 'low': low, 'high': high,
            'enough': DENSE_BUCKET * buckets, 'limit': -1 if limit is None else limit}


def _sqlite_rows(result):
    """The result's rows as plain DB-API tuples (SQLite's values need no type
    processing), a fetch error wrapped as SQLAlchemy wraps it: a 503, not a 500."""
    dialect = result.context.dialect
    dbapi = dialect.loaded_dbapi
    try:
        return result.cursor.fetchall()
    except dbapi.Error as err:
        raise sa.exc.DBAPIError.instance(None, None, err, dbapi.Error,
                                         dialect=dialect) from err
    finally:
        result.close()


def build(sample_filter, period, groupby, aggregates, dialect, limit=None):
    """The one SELECT, and a reader turning its rows into ``models.Statistics``.

    A meter name almost always has one unit (one meter, or several types
    sharing it). Then the unit is a constant of the statement, not a
    per-sample join and group key, and SQLite reads as a hand-written query
    would: plain time buckets scan the narrow (meter, time, volume) index;
    ``groupby=resource_id`` walks meter_resources (one row per (resource,
    meter) pair, in resource order) seeking the (resource, meter, time, ...)
    index per pair, so its groups arrive in order without sorting the
    meter's samples. A name with several units takes a second UNION ALL
    branch grouping by unit through the join; a one-time scalar subquery of
    the same statement gates both branches (``_Gate``), so only one of them
    reads samples. Plain time buckets of a bounded window on SQLite have
    their own statement, built once per period (``_bucket_statement``).
    """
    if _seekable(sample_filter, period, groupby, aggregates, dialect):
        text, defaults = _bucket_statement(period)
        values = dict(defaults, **_bucket_values(sample_filter, period, limit))
        return text.bindparams(**values), _reader(period, _NO_GROUPS, _STANDARD, False, dialect)
    text = (lambda e: e.collate('C')) if dialect == 'postgresql' else (lambda e: e)
    generic = _Select(_S, sample_filter, period, groupby, aggregates, dialect)
    join = _S.join(_M, _S.c.meter_id == _M.c.id)
    name = sample_filter.meter
    if name is None:
        stmt = generic.select(text(_M.c.unit), join, None, by_unit=True)
    else:
        several = _unit_count(name) > 1
        unit = sa.select(sa.func.min(_M.c.unit)).where(_M.c.name == name).scalar_subquery()
        if 'resource_id' in groupby:
            fast = _Select(_S, sample_filter, period, groupby, aggregates, dialect,
                           by_pair=True)
            pairs = _PairLoop(_MR, _S, sa.and_(_S.c.resource_id == _MR.c.resource_id,
                                               _S.c.meter_id == _MR.c.meter_id))
            # Not gated: behind a gate SQLite loses the pairs' order and
            # sorts the samples. (A name with several units walks its pairs
            # for nothing: the rare case.)
            branch = fast.select(text(unit), pairs, None, ~several,
                                 _MR.c.meter_id.in_(filters.meter_ids_named(name)))
        elif _narrow(sample_filter, groupby, aggregates):
            fast = _Select(_NARROW, sample_filter, period, groupby, aggregates, dialect)
            branch = fast.select(text(unit), _NARROW, ~several)
        else:
            branch = generic.select(text(unit), _S, ~several)
        by_unit = generic.select(text(_M.c.unit), join, several, by_unit=True)
        stmt = sa.union_all(branch, by_unit)
    order = (generic.keys if period else ['first_ts']) + ['u'] + generic.group_keys
    stmt = stmt.order_by(*[sa.literal_column(k).nulls_first() if k in generic.group_keys
                           else sa.literal_column(k) for k in order])
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt, _reader(period, generic.groups, generic.measures, bool(aggregates), dialect)


def _reader(period, groups, measures, selectable, dialect):
    """The function turning the statement's result into ``models.Statistics``, in order.

    Rows are (unit, first_ts, last_ts[, bucket, anchor], groups..., measures...).
    """
    step = period * _US if period else 0
    first_measure = 3 + (2 if period else 0)
    first_group = first_measure
    first_measure += len(groups.names)
    grouped = bool(groups.names)
    readers = [(key, read) for key, _expr, read in measures]
    standard = [(key, key == 'count') for key, _r in readers
                if key in storage.STANDARD_AGGREGATES]
    statistics = models.Statistics
    period = period or 0

    def times(row):
        first_us, last_us = row[1], row[2]
        if not step:
            return first_us, last_us
        start_us = row[4] + row[3] * step
        end_us = start_us + step
        if end_us > MAX_MICROS:
            raise exception.ClientSideError(f'Invalid period {period}: date value out of range')
        return start_us, end_us

    def entry(row):
        start_us, end_us = times(row)
        group = groups.values(row, first_group) if grouped else None
        if not selectable:
            count, min_, max_, sum_, avg = row[first_measure:]
            return statistics(row[0], period, start_us, end_us, row[1], row[2], group,
                              count, min_, max_, sum_, avg)
        aggregate = {key: read(value)
                     for (key, read), value in zip(readers, row[first_measure:])}
        fields = {key: int(aggregate[key]) if is_count else aggregate[key]
                  for key, is_count in standard}
        return statistics(row[0], period, start_us, end_us, row[1], row[2], group,
                          aggregate=aggregate, **fields)

    def read(result):
        if dialect == 'sqlite':
            rows = _sqlite_rows(result)
        else:
            rows = result.all()
        out = [entry(row) for row in rows]
        if groups.has_metadata:
            # SQL ordered JSON texts; the contract orders the decoded values.
            out.sort(key=lambda s: (s.period_start, s.unit,
                                    [(v is not None, v) for v in s.groupby.values()]))
        return out

    return read
