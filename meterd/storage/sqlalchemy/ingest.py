"""The write path: one transaction per batch of samples, meters and resources kept current.

Per batch: the meter catalogue rows (insert-if-missing, one SELECT back),
the samples (one executemany with ids allocated up front), then one upsert
per touched (resource, meter), resource and (resource, owner) with the
batch pre-aggregated in Python, so a batch costs a handful of statements.
"""

import json

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from meterd.storage.sqlalchemy import tables
from meterd import timestamps


def _insert(dialect, table):
    module = postgresql if dialect == 'postgresql' else sqlite
    return module.insert(table)


def _meter_ids(conn, dialect, samples):
    """{(name, type, unit): id}, creating the missing catalogue rows."""
    triples = {(s.counter_name, s.counter_type, s.counter_unit) for s in samples}
    conn.execute(_insert(dialect, tables.meters).on_conflict_do_nothing(),
                 [{'name': n, 'type': t, 'unit': u} for n, t, u in triples])
    m = tables.meters.c
    rows = conn.execute(sa.select(m.id, m.name, m.type, m.unit)
                        .where(m.name.in_({t[0] for t in triples})))
    return {(name, kind, unit): id_ for id_, name, kind, unit in rows}


def _allocate_ids(conn, dialect, count):
    """``count`` new, increasing sample ids: storage order is id order."""
    if dialect == 'postgresql':
        rows = conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('samples', 'id')) "
            "FROM generate_series(1, %(n)s)", {'n': count})
        return sorted(r[0] for r in rows)
    # SQLite: the caller holds the write lock (BEGIN IMMEDIATE), so max(id) is stable.
    top = conn.exec_driver_sql('SELECT COALESCE(MAX(id), 0) FROM samples').scalar()
    return list(range(top + 1, top + 1 + count))


def _later(new, old):
    """True when sample row ``new`` describes a resource rather than ``old`` (§9.7)."""
    return (new['timestamp'], new['id']) >= (old['timestamp'], old['id'])


def _rollup(rows, key):
    """Per key: first/last timestamps and the row with the greatest (timestamp, id)."""
    groups = {}
    for row in rows:
        k = key(row)
        group = groups.get(k)
        if group is None:
            groups[k] = {'first': row['timestamp'], 'last': row['timestamp'], 'row': row}
            continue
        group['first'] = min(group['first'], row['timestamp'])
        group['last'] = max(group['last'], row['timestamp'])
        if _later(row, group['row']):
            group['row'] = row
    return groups


def _greatest(table, excluded, column):
    """excluded.column when the incoming sample is at least as new as the stored one."""
    newer = excluded.last_sample_timestamp >= table.c.last_sample_timestamp
    return sa.case((newer, getattr(excluded, column)), else_=table.c[column])


def _upsert_rollup(conn, dialect, table, index_elements, values):
    stmt = _insert(dialect, table)
    excluded = stmt.excluded
    first = sa.case(
        (excluded.first_sample_timestamp < table.c.first_sample_timestamp,
         excluded.first_sample_timestamp),
        else_=table.c.first_sample_timestamp)
    last = sa.case(
        (excluded.last_sample_timestamp > table.c.last_sample_timestamp,
         excluded.last_sample_timestamp),
        else_=table.c.last_sample_timestamp)
    updates = {c: _greatest(table, excluded, c)
               for c in ('user_id', 'project_id', 'source', 'metadata', 'last_sample_id')
               if c in table.c}
    updates.update(first_sample_timestamp=first, last_sample_timestamp=last)
    conn.execute(stmt.on_conflict_do_update(index_elements=index_elements, set_=updates),
                 values)


def _rollup_values(group, **extra):
    row = group['row']
    return dict(extra, resource_id=row['resource_id'], user_id=row['user_id'],
                project_id=row['project_id'], source=row['source'],
                metadata=row['metadata'], first_sample_timestamp=group['first'],
                last_sample_timestamp=group['last'], last_sample_id=row['id'])


def record(conn, dialect, samples):
    """Insert ``samples`` (models.Sample) and update the catalogue, inside ``conn``'s transaction."""
    meter_ids = _meter_ids(conn, dialect, samples)
    ids = _allocate_ids(conn, dialect, len(samples))
    now = timestamps.to_micros(timestamps.utcnow())
    rows = [{
        'id': id_,
        'meter_id': meter_ids[(s.counter_name, s.counter_type, s.counter_unit)],
        'resource_id': s.resource_id, 'user_id': s.user_id, 'project_id': s.project_id,
        'source': s.source, 'volume': float(s.counter_volume),
        'timestamp': timestamps.to_micros(s.timestamp), 'recorded_at': now,
        'message_id': s.message_id, 'message_signature': s.message_signature,
        'metadata': s.resource_metadata or {},
    } for id_, s in zip(ids, samples)]
    conn.execute(tables.samples.insert(), rows)

    # meter_resources: the most recently stored sample of each pair (§9.2).
    latest_pair = {}
    for row in rows:
        latest_pair[(row['resource_id'], row['meter_id'])] = row
    stmt = _insert(dialect, tables.meter_resources)
    cols = ('user_id', 'project_id', 'source', 'metadata', 'last_sample_id')
    conn.execute(
        stmt.on_conflict_do_update(index_elements=['resource_id', 'meter_id'],
                                   set_={c: stmt.excluded[c] for c in cols}),
        [{'resource_id': r['resource_id'], 'meter_id': r['meter_id'], 'user_id': r['user_id'],
          'project_id': r['project_id'], 'source': r['source'], 'metadata': r['metadata'],
          'last_sample_id': r['id']} for r in latest_pair.values()])

    by_resource = _rollup(rows, lambda r: r['resource_id'])
    _upsert_rollup(conn, dialect, tables.resources, ['resource_id'],
                   [_rollup_values(g) for g in by_resource.values()])
    by_owner = _rollup(rows, lambda r: (r['resource_id'], owner_key(
        r['user_id'], r['project_id'], r['source'])))
    _upsert_rollup(conn, dialect, tables.resource_owners, ['resource_id', 'owner_key'],
                   [_rollup_values(g, owner_key=k[1]) for k, g in by_owner.items()])


def owner_key(user_id, project_id, source):
    """The ``resource_owners`` key: distinct for every (user, project, source), nulls included."""
    return json.dumps([user_id, project_id, source], ensure_ascii=False)
