"""The write path: one transaction per batch of samples, meters and resources kept current.

Per batch: the meter catalogue rows (one SELECT; insert-if-missing only for
new ones), the samples (ids allocated up front), then one upsert per touched
(resource, meter), resource and (resource, owner) with the batch
pre-aggregated in Python, so a batch costs a handful of statements. The
statements are plain SQL (the same ON CONFLICT text on SQLite and
PostgreSQL) run with tuples: per-row ORM/Core parameter processing would cost
more than the database work.

Rows go in as multi-row VALUES statements, up to ``CHUNK_ROWS`` rows each,
not as executemany: sqlite3 takes the GIL back after every row of an
executemany, and when the writer is a thread of an eventlet process the hub
holds it most of the time, so the writer advanced about one row per GIL
hand-over. One statement per chunk is bound in one go and then runs without
the GIL. Chunks stay small: each prepared statement text is kept compiled
by the connection, and 256-row ones cost the writer 2 MB more.
"""

import json

from meterd import timestamps


_ROLLUP_COLUMNS = ('resource_id', 'user_id', 'project_id', 'source', 'metadata',
                   'first_sample_timestamp', 'last_sample_timestamp', 'last_sample_id')
_DESCRIBING = ('user_id', 'project_id', 'source', 'metadata', 'last_sample_id')
#: What the transaction decides first, then what ``prepare`` computes beforehand.
_SAMPLE_COLUMNS = ('id', 'meter_id', 'recorded_at', 'resource_id', 'user_id', 'project_id',
                   'source', 'volume', 'timestamp', 'message_id', 'message_signature',
                   'metadata')


def _placeholders(dialect, columns):
    """Positional markers; PostgreSQL casts the JSON text into its jsonb column."""
    mark = '%s' if dialect == 'postgresql' else '?'
    json_mark = 'CAST(%s AS jsonb)' if dialect == 'postgresql' else '?'
    return ', '.join(json_mark if c == 'metadata' else mark for c in columns)


#: Upper bound of samples in one shared transaction of posted batches (bounds
#: its lock time; see groupcommit and writer_process).
MAX_GROUP_SAMPLES = 5000

def write_batches(write, batches):
    """Store ``batches`` with ``write(rows)``: in one call, or each alone if that fails.

    Yields ``(index, None or the exception)`` per batch, so a faulty batch
    fails alone and its neighbours are stored. The group commit of either
    writer (``groupcommit``, ``writer_process``) is this over what queued up.
    """
    if len(batches) > 1:
        try:
            write([row for rows in batches for row in rows])
        except Exception:
            pass  # written again batch by batch below
        else:
            for index in range(len(batches)):
                yield index, None
            return
    for index, rows in enumerate(batches):
        try:
            write(rows)
        except Exception as err:
            yield index, err
        else:
            yield index, None


#: Rows per multi-row INSERT; a remainder is split into powers of two, so a
#: table has at most six statement texts (a bounded prepared-statement cache).
CHUNK_ROWS = 32


def _chunks(rows, size=CHUNK_ROWS):
    """``rows`` in slices of ``size`` rows, then of the powers of two below it."""
    start, count = 0, len(rows)
    while start < count:
        left = count - start
        step = size if left >= size else 1 << (left.bit_length() - 1)
        yield rows[start:start + step]
        start += step


def _values_sql(head, row_marks, tail, count):
    """``head VALUES (row), (row), ... tail`` for ``count`` rows."""
    return f'{head} VALUES {", ".join([f"({row_marks})"] * count)}{tail}'


def _insert_rows(conn, statement, rows):
    """Run ``statement`` (``(head, row_marks, tail)``) over ``rows``, chunk by chunk."""
    head, marks, tail = statement
    texts = {}
    for chunk in _chunks(rows):
        sql = texts.get(len(chunk))
        if sql is None:
            sql = texts[len(chunk)] = _values_sql(head, marks, tail, len(chunk))
        conn.exec_driver_sql(sql, tuple(value for row in chunk for value in row))


def _rollup_sql(dialect, table, key_columns):
    """Upsert widening first/last and taking the description of the newest sample (§9.7).

    ``>=``: on equal timestamps the sample stored later describes the row.
    """
    columns = key_columns + tuple(c for c in _ROLLUP_COLUMNS if c not in key_columns)
    newer = f'excluded.last_sample_timestamp >= {table}.last_sample_timestamp'
    sets = [f'{c} = CASE WHEN {newer} THEN excluded.{c} ELSE {table}.{c} END'
            for c in _DESCRIBING]
    sets.append(f'first_sample_timestamp = CASE WHEN excluded.first_sample_timestamp < '
                f'{table}.first_sample_timestamp THEN excluded.first_sample_timestamp '
                f'ELSE {table}.first_sample_timestamp END')
    sets.append(f'last_sample_timestamp = CASE WHEN excluded.last_sample_timestamp > '
                f'{table}.last_sample_timestamp THEN excluded.last_sample_timestamp '
                f'ELSE {table}.last_sample_timestamp END')
    return (f'INSERT INTO {table} ({", ".join(columns)})', _placeholders(dialect, columns),
            f' ON CONFLICT ({", ".join(key_columns)}) DO UPDATE SET {", ".join(sets)}')


def _statements(dialect):
    """The write statements as ``(head, one row's markers, tail)`` of driver SQL."""
    mr_columns = ('resource_id', 'meter_id') + _DESCRIBING
    return {
        'samples': (f'INSERT INTO samples ({", ".join(_SAMPLE_COLUMNS)})',
                    _placeholders(dialect, _SAMPLE_COLUMNS), ''),
        # The most recently stored sample describes the (resource, meter) pair (§9.2).
        'meter_resources': (
            f'INSERT INTO meter_resources ({", ".join(mr_columns)})',
            _placeholders(dialect, mr_columns),
            ' ON CONFLICT (resource_id, meter_id) DO UPDATE SET '
            + ', '.join(f'{c} = excluded.{c}' for c in _DESCRIBING)),
        'resources': _rollup_sql(dialect, 'resources', ('resource_id',)),
        'resource_owners': _rollup_sql(dialect, 'resource_owners',
                                       ('resource_id', 'owner_key')),
    }


_SQL = {dialect: _statements(dialect) for dialect in ('sqlite', 'postgresql')}


def _meter_ids(conn, dialect, prepared):
    """{(name, type, unit): id}, creating the missing catalogue rows."""
    triples = {meter for meter, _values in prepared}
    names = sorted({t[0] for t in triples})
    mark = '%s' if dialect == 'postgresql' else '?'
    query = (f'SELECT id, name, type, unit FROM meters '
             f'WHERE name IN ({", ".join([mark] * len(names))})')
    known = {(name, kind, unit): id_
             for id_, name, kind, unit in conn.exec_driver_sql(query, tuple(names))}
    missing = triples - known.keys()
    if missing:
        conn.exec_driver_sql(
            f'INSERT INTO meters (name, type, unit) VALUES ({mark}, {mark}, {mark}) '
            f'ON CONFLICT (name, type, unit) DO NOTHING', sorted(missing))
        known = {(name, kind, unit): id_
                 for id_, name, kind, unit in conn.exec_driver_sql(query, tuple(names))}
    return known


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


def _rollup(rows, key):
    """Per key: [first, last, newest row] where newest has the greatest (timestamp, id).

    Rows come in id order, so ``>=`` on the timestamp keeps the later of equals.
    """
    groups = {}
    for row in rows:
        k = key(row)
        ts = row[_TS]
        group = groups.get(k)
        if group is None:
            groups[k] = [ts, ts, row]
        else:
            if ts < group[0]:
                group[0] = ts
            if ts >= group[1]:
                group[1] = ts
                group[2] = row
    return groups


def _metadata_encoder():
    """Stored metadata JSON: compact, non-ASCII kept, NaN/Infinity refused.

    JSONEncoder.encode builds its C encoder anew on every call, which cost
    as much as encoding a sample's metadata; the C encoder is built once here
    (as ``JSONEncoder.iterencode`` builds it, without the circular-reference
    markers: posted metadata is decoded JSON, a tree).
    """
    encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(',', ':'))
    make = getattr(json.encoder, 'c_make_encoder', None)
    if make is None:
        return encoder.encode
    chunks = make(None, encoder.default, json.encoder.encode_basestring, None,
                  encoder.key_separator, encoder.item_separator, encoder.sort_keys,
                  encoder.skipkeys, encoder.allow_nan)
    return lambda value: ''.join(chunks(value, 0))


_encode_metadata = _metadata_encoder()

# Positions in a samples row tuple (the _SAMPLE_COLUMNS order).
_ID, _METER, _RES, _USER, _PROJ, _SRC, _TS, _META = 0, 1, 3, 4, 5, 6, 8, 11


def prepare(samples):
    """``samples`` (models.Sample) as ``record`` takes them: (meter, row values after recorded_at).

    Done by the caller before the batch queues for a write transaction: the
    conversions and the metadata JSON then cost the writer nothing (under
    eventlet the writer is the thread every concurrent POST waits on).
    """
    dumps = _encode_metadata
    to_micros = timestamps.to_micros
    return [((s.counter_name, s.counter_type, s.counter_unit),
             (s.resource_id, s.user_id, s.project_id, s.source, float(s.counter_volume),
              to_micros(s.timestamp), s.message_id, s.message_signature,
              dumps(s.resource_metadata or {})))
            for s in samples]


def record(conn, dialect, prepared):
    """Insert ``prepare``'d samples and update the catalogue in ``conn``'s transaction."""
    sql = _SQL[dialect]
    meter_ids = _meter_ids(conn, dialect, prepared)
    ids = _allocate_ids(conn, dialect, len(prepared))
    now = timestamps.to_micros(timestamps.utcnow())
    rows = [(id_, meter_ids[meter], now, *values)
            for id_, (meter, values) in zip(ids, prepared)]
    _insert_rows(conn, sql['samples'], rows)

    latest_pair = {}
    for row in rows:
        latest_pair[(row[_RES], row[_METER])] = row
    _insert_rows(conn, sql['meter_resources'], [
        (r[_RES], r[_METER], r[_USER], r[_PROJ], r[_SRC], r[_META], r[_ID])
        for r in latest_pair.values()])

    by_resource = _rollup(rows, lambda r: r[_RES])
    _insert_rows(conn, sql['resources'], [
        (rid, r[_USER], r[_PROJ], r[_SRC], r[_META], first, last, r[_ID])
        for rid, (first, last, r) in by_resource.items()])
    owner_keys = {}

    def resource_owner(r):
        owner = (r[_USER], r[_PROJ], r[_SRC])
        key = owner_keys.get(owner)
        if key is None:
            key = owner_keys[owner] = owner_key(*owner)
        return r[_RES], key
    by_owner = _rollup(rows, resource_owner)
    _insert_rows(conn, sql['resource_owners'], [
        (rid, key, r[_USER], r[_PROJ], r[_SRC], r[_META], first, last, r[_ID])
        for (rid, key), (first, last, r) in by_owner.items()])


#: json.dumps(..., ensure_ascii=False) without building an encoder per call.
_encode_owner = json.JSONEncoder(ensure_ascii=False).encode


def owner_key(user_id, project_id, source):
    """The ``resource_owners`` key: distinct for every (user, project, source), nulls included."""
    return _encode_owner([user_id, project_id, source])
