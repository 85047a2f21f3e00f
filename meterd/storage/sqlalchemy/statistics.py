"""Statistics (spec §9.5) as one SQL statement: buckets, units and groups are one GROUP BY.

Timestamps are integer microseconds, so a period bucket is the integer
expression ``(timestamp - anchor) / period``. Without a lower time bound the
anchor is the earliest matching sample, found by a scalar subquery of the
same statement (one round trip, and an index seek on (meter_id, timestamp)).
"""

import json
import math

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from meterd import exception
from meterd import storage
from meterd.storage import models
from meterd.storage.sqlalchemy import complex_query
from meterd.storage.sqlalchemy import filters
from meterd.storage.sqlalchemy import tables
from meterd import timestamps

_US = 1_000_000
#: 9999-12-31T23:59:59.999999: a bucket may not end after it (spec §9.5 errors).
MAX_MICROS = timestamps.to_micros(timestamps.EPOCH.max)

_S = tables.samples
_M = tables.meters


def _column(name):
    return {'user_id': _S.c.user_id, 'project_id': _S.c.project_id,
            'resource_id': _S.c.resource_id, 'source': _S.c.source}[name]


def _metadata_group(path, dialect):
    """The JSON value at ``path`` (JSON null and a missing key are both SQL NULL)."""
    if dialect == 'postgresql':
        node = _S.c.metadata.op('#>', return_type=postgresql.JSONB)(
            sa.literal(path.split('.'), sa.ARRAY(sa.Text)))
        return sa.func.nullif(node, sa.literal_column("'null'::jsonb"),
                             type_=postgresql.JSONB)
    node = _S.c.metadata.op('->', return_type=sa.Text)(sa.literal(complex_query.sqlite_path(path)))
    return sa.func.nullif(node, 'null', type_=sa.Text)


def group_text(value):
    """A metadata group value as the API prints metadata (§12.6): str() of non-strings."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


class _Groups:
    """The groupby expressions and how to read their values back."""

    def __init__(self, groupby, dialect):
        self.names = list(groupby)
        self.exprs, self.decoders = [], []
        for name in self.names:
            if name.startswith('resource_metadata.'):
                path = name[len('resource_metadata.'):]
                self.exprs.append(_metadata_group(path, dialect))
                self.decoders.append(group_text if dialect == 'postgresql'
                                     else _decode_sqlite_json)
            else:
                column = _column(name)
                self.exprs.append(column.collate('C') if dialect == 'postgresql' else column)
                self.decoders.append(None)
        self.has_metadata = any(d is not None for d in self.decoders)

    def values(self, row, offset):
        if not self.names:
            return None
        out = {}
        for i, (name, decode) in enumerate(zip(self.names, self.decoders)):
            value = row[offset + i]
            out[name] = decode(value) if decode else value
        return out


def _decode_sqlite_json(text):
    return None if text is None else group_text(json.loads(text))


def _variance(dialect):
    """Population variance of volume in the same pass (the reader takes the root)."""
    if dialect == 'postgresql':
        return sa.func.var_pop(_S.c.volume)
    return sa.func.meterd_var_pop(_S.c.volume)  # registered by sqlite_functions


def _int(value):
    # Validated integers are inlined: the bucket expression must read the
    # same in SELECT, GROUP BY and ORDER BY.
    return sa.literal_column(str(int(value)), sa.BigInteger)


def _inner(sample_filter, dialect):
    """An uncorrelated subquery over the matching samples (aliased: no auto-correlation)."""
    inner = _S.alias('matching')
    conds = filters.sample_conditions(sample_filter, dialect, table=inner)
    return inner, conds


def _anchor(sample_filter, dialect):
    """Bucket origin: the (widened) lower bound, else the earliest matching sample."""
    if sample_filter.start_timestamp is not None:
        return _int(timestamps.to_micros(sample_filter.start_timestamp))
    inner, conds = _inner(sample_filter, dialect)
    return sa.select(sa.func.min(inner.c.timestamp)).where(*conds).scalar_subquery()


def _measures(aggregates, dialect):
    """(key, SQL expression, reader) per requested value; the standard set when none asked."""
    if not aggregates:
        return [('count', sa.func.count(), int),
                ('min', sa.func.min(_S.c.volume), float),
                ('max', sa.func.max(_S.c.volume), float),
                ('sum', sa.func.sum(_S.c.volume), float),
                ('avg', sa.func.avg(_S.c.volume), float)]
    out = []
    for agg in aggregates:
        if agg.func == 'count':
            out.append((agg.key, sa.func.count(), float))
        elif agg.func in ('min', 'max', 'sum', 'avg'):
            out.append((agg.key, getattr(sa.func, agg.func)(_S.c.volume), float))
        elif agg.func == 'stddev':
            out.append((agg.key, _variance(dialect),
                        lambda v: math.sqrt(max(float(v), 0.0))))
        else:
            out.append((agg.key, sa.func.count(sa.distinct(_column(agg.param))), float))
    return out


def _shared_unit(name):
    """True when two meters named ``name`` (types differ) share a unit."""
    return sa.exists(sa.select(_M.c.unit).where(_M.c.name == name)
                     .group_by(_M.c.unit).having(sa.func.count() > 1).correlate(None))


def build(sample_filter, period, groupby, aggregates, dialect, limit=None):
    """The one SELECT, and a reader turning its rows into ``models.Statistics``.

    Samples are grouped by meter id, not by unit through a join per sample:
    the (meter, resource) index then serves ``groupby=resource_id`` in order
    (no sort), and the unit is joined to the groups afterwards. That is
    exact unless two meters of the name (different types) share a unit;
    then a UNION ALL branch, guarded by a one-time EXISTS in the same
    statement, groups by unit through the join instead.
    """
    conds = filters.sample_conditions(sample_filter, dialect)
    groups = _Groups(groupby, dialect)
    measures = _measures(aggregates, dialect)
    unit = _M.c.unit.collate('C') if dialect == 'postgresql' else _M.c.unit
    cols = [sa.func.min(_S.c.timestamp).label('first_ts'),
            sa.func.max(_S.c.timestamp).label('last_ts')]
    # GROUP BY and ORDER BY name the output columns: the expressions carry
    # bound parameters, and PostgreSQL only matches expressions, not values.
    if period:
        anchor = _anchor(sample_filter, dialect)
        cols += [((_S.c.timestamp - anchor) // _int(period * _US)).label('bucket'),
                 sa.func.min(anchor).label('anchor')]
        keys = ['bucket']
    else:
        keys = []
    group_keys = [f'g{i}' for i in range(len(groups.exprs))]
    cols += [g.label(k) for k, g in zip(group_keys, groups.exprs)]
    cols += [expr.label(f'm{i}') for i, (_key, expr, _read) in enumerate(measures)]
    offset = 1 + (4 if period else 2)
    names = ['u'] + [c.name for c in cols]

    def grouped(unit_key, extra_cols, from_, *extra_conds):
        return (sa.select(*extra_cols, *cols).select_from(from_).where(*conds, *extra_conds)
                .group_by(*[sa.literal_column(k) for k in keys + [unit_key] + group_keys]))

    by_unit = grouped('u', [unit.label('u')], _S.join(_M, _S.c.meter_id == _M.c.id))
    if sample_filter.meter is not None:
        shared = _shared_unit(sample_filter.meter)
        per_meter = grouped('mid', [_S.c.meter_id.label('mid')], _S, ~shared).subquery()
        fast = (sa.select(unit.label('u'), *[per_meter.c[n] for n in names[1:]])
                .select_from(per_meter.join(_M, _M.c.id == per_meter.c.mid)))
        stmt = sa.union_all(fast, by_unit.where(shared))
    else:
        stmt = by_unit
    order = (keys if period else ['first_ts']) + ['u'] + group_keys
    stmt = stmt.order_by(*[sa.literal_column(k).nulls_first() if k in group_keys
                           else sa.literal_column(k) for k in order])
    if limit is not None:
        stmt = stmt.limit(limit)

    def read(result):
        # fetchall() in one call; the rows' values as plain tuples.
        out = [_statistics(tuple(row), period, groups, offset, measures, bool(aggregates))
               for row in result.all()]
        if groups.has_metadata:
            out.sort(key=lambda s: (s.period_start, s.unit,
                                    [(v is not None, v) for v in s.groupby.values()]))
        return out

    return stmt, read


def _statistics(row, period, groups, offset, measures, selectable):
    unit, first_us, last_us = row[0], row[1], row[2]
    if period:
        bucket, anchor = row[3], row[4]
        start_us = anchor + bucket * period * _US
        end_us = start_us + period * _US
        if end_us > MAX_MICROS:
            raise exception.ClientSideError(f'Invalid period {period}: date value out of range')
    else:
        start_us, end_us = first_us, last_us
    first = offset + len(groups.names)
    values = {key: reader(value)
              for (key, _e, reader), value in zip(measures, row[first:])}
    fields = {}
    if selectable:
        fields['aggregate'] = values
        for name in storage.STANDARD_AGGREGATES:
            if name in values:
                fields[name] = int(values[name]) if name == 'count' else values[name]
    else:
        fields.update(values)
    duration_start = timestamps.from_micros(first_us)
    duration_end = timestamps.from_micros(last_us)
    return models.Statistics(
        unit=unit, period=period or 0,
        period_start=timestamps.from_micros(start_us) if period else duration_start,
        period_end=timestamps.from_micros(end_us) if period else duration_end,
        duration_start=duration_start, duration_end=duration_end,
        groupby=groups.values(row, offset), **fields)
