"""Sample expiry for the SQL driver: delete old samples, then the bookkeeping they leave behind.

Samples go in batches, each its own transaction, so ingestion never waits for
the whole run. Pruning then looks only at rows an expiry can have made stale
and is state based: a run interrupted between the two steps is completed by
the next one.
"""

import sqlalchemy as sa

from meterd.storage.sqlalchemy import tables
from meterd import timestamps

#: Samples deleted per transaction.
BATCH = 5000
_MICROS = 1_000_000
_DESCRIPTION = ('user_id', 'project_id', 'source', 'metadata')


def cutoff_micros(ttl):
    """Samples with a timestamp below this (microseconds since the epoch) are expired."""
    return timestamps.to_micros(timestamps.utcnow()) - int(ttl) * _MICROS


def delete_samples(conn, cutoff):
    """Delete up to BATCH samples older than ``cutoff``; returns how many went."""
    s = tables.samples
    batch = sa.select(s.c.id).where(s.c.timestamp < cutoff).limit(BATCH)
    return conn.execute(s.delete().where(s.c.id.in_(batch.scalar_subquery()))).rowcount


def _owned_by(row_table, keys):
    """Samples of the row: same values in ``keys`` (a null owner matches a null)."""
    s = tables.samples
    return sa.and_(*(s.c[k].is_not_distinct_from(row_table.c[k]) for k in keys))


def _redescribe(conn, table, keys, order_by):
    """Rows whose last sample expired: drop them when nothing is left, else re-describe.

    ``order_by`` picks the sample that now describes the row: the newest
    stored one for ``meter_resources``, the one with the greatest timestamp
    (ties: stored last) for ``resources``.
    """
    s = tables.samples
    stale = ~sa.exists().where(s.c.id == table.c.last_sample_id)
    owned = _owned_by(table, keys)
    conn.execute(table.delete().where(stale, ~sa.exists().where(owned)))
    newest = sa.select(s).where(owned).order_by(*order_by).limit(1)
    values = {c: newest.with_only_columns(s.c[c]).scalar_subquery() for c in _DESCRIPTION}
    values['last_sample_id'] = newest.with_only_columns(s.c.id).scalar_subquery()
    conn.execute(table.update().where(stale).values(**values))


def prune(conn, cutoff):
    """Remove or correct meters, meter_resources and resources after samples expired.

    A resource losing its oldest samples keeps its row with
    ``first_sample_timestamp`` recomputed; one losing all goes, as do
    (resource, meter) pairs and meters without samples.
    """
    s = tables.samples
    mr, res, meters = tables.meter_resources, tables.resources, tables.meters
    _redescribe(conn, mr, ('resource_id', 'meter_id'), (s.c.id.desc(),))
    _redescribe(conn, res, ('resource_id',), (s.c.timestamp.desc(), s.c.id.desc()))
    aged = res.c.first_sample_timestamp < cutoff
    owned = s.c.resource_id == res.c.resource_id
    conn.execute(res.delete().where(aged, ~sa.exists().where(owned)))
    first = sa.select(sa.func.min(s.c.timestamp)).where(owned).scalar_subquery()
    conn.execute(res.update().where(aged).values(first_sample_timestamp=first))
    _prune_owners(conn, cutoff)
    conn.execute(meters.delete().where(
        ~sa.exists().where(s.c.meter_id == meters.c.id),
        ~sa.exists().where(mr.c.meter_id == meters.c.id)))


def _prune_owners(conn, cutoff):
    """The same for the per-owner rollup ``resource_owners`` (owner-filtered resource lists)."""
    s, ro = tables.samples, tables.resource_owners
    keys = ('resource_id', 'user_id', 'project_id', 'source')
    _redescribe(conn, ro, keys, (s.c.timestamp.desc(), s.c.id.desc()))
    aged = ro.c.first_sample_timestamp < cutoff
    owned = _owned_by(ro, keys)
    conn.execute(ro.delete().where(aged, ~sa.exists().where(owned)))
    first = sa.select(sa.func.min(s.c.timestamp)).where(owned).scalar_subquery()
    conn.execute(ro.update().where(aged).values(first_sample_timestamp=first))
