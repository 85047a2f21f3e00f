"""The reference limits on this machine: what bare stdlib sqlite3 does with the same rows.

Insert: ``executemany`` of the benchmark's rows into a samples table shaped
like meterd's (integer key, the two read indexes every sample store needs),
WAL, ``synchronous=FULL``, one transaction per 100 rows. Queries: R3 and R4
as hand-written SQL over a covering index. meterd's figures are divided by
these, which cancels most of the machine's speed and noise.
"""

import datetime
import hashlib
import json
import sqlite3
import time
import uuid

from tools.bench import dataset as bench_dataset
from tools.bench import timing

SCHEMA = (
    'CREATE TABLE samples ('
    ' id INTEGER PRIMARY KEY, meter_id INTEGER NOT NULL, resource_id TEXT NOT NULL,'
    ' user_id TEXT, project_id TEXT, source TEXT, volume REAL NOT NULL,'
    ' timestamp INTEGER NOT NULL, recorded_at INTEGER, message_id TEXT NOT NULL,'
    ' message_signature TEXT, metadata TEXT)',
    'CREATE INDEX ix_samples_meter_timestamp ON samples (meter_id, timestamp)',
    'CREATE INDEX ix_samples_resource_meter_timestamp'
    ' ON samples (resource_id, meter_id, timestamp)',
)

#: Built after the load, like an operator adding an index for a known report.
COVERING_INDEXES = (
    'CREATE INDEX ix_cover_meter_ts ON samples (meter_id, timestamp, volume)',
    'CREATE INDEX ix_cover_meter_resource'
    ' ON samples (meter_id, resource_id, timestamp, volume, user_id)',
)

INSERT = ('INSERT INTO samples (meter_id, resource_id, user_id, project_id, source, volume,'
          ' timestamp, recorded_at, message_id, message_signature, metadata)'
          ' VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')

#: R3: hourly buckets of one meter over the window (anchor = window start).
R3_SQL = ('SELECT (timestamp - :a) / :p AS bucket, count(*), min(volume), max(volume),'
          ' sum(volume), avg(volume), min(timestamp), max(timestamp)'
          ' FROM samples INDEXED BY ix_cover_meter_ts'
          ' WHERE meter_id = :m AND timestamp >= :a AND timestamp < :e'
          ' GROUP BY bucket ORDER BY bucket')
#: R4: one meter over the window, one group per resource.
R4_SQL = ('SELECT resource_id, count(*), min(volume), max(volume), sum(volume), avg(volume),'
          ' min(timestamp), max(timestamp)'
          ' FROM samples INDEXED BY ix_cover_meter_resource'
          ' WHERE meter_id = :m AND timestamp >= :a AND timestamp < :e'
          ' GROUP BY resource_id ORDER BY resource_id')
#: R4 with what population stddev and cardinality need.
R4_AGG_SQL = ('SELECT resource_id, count(*), sum(volume), sum(volume * volume),'
              ' count(DISTINCT user_id), min(timestamp), max(timestamp)'
              ' FROM samples INDEXED BY ix_cover_meter_resource'
              ' WHERE meter_id = :m AND timestamp >= :a AND timestamp < :e'
              ' GROUP BY resource_id ORDER BY resource_id')

_EPOCH = datetime.datetime(1970, 1, 1)
_ONE_US = datetime.timedelta(microseconds=1)


def _micros(naive_utc):
    """Microseconds since the epoch: meterd's stored timestamp form."""
    return (naive_utc - _EPOCH) // _ONE_US


def rows(dataset, batch):
    """The dataset as insert tuples, batch by batch (built outside the timed section)."""
    for meter, samples in dataset.batches(batch):
        meter_id = bench_dataset.METER_NAMES.index(meter) + 1
        now = int(time.time() * 1_000_000)
        out = []
        for s in samples:
            message_id = str(uuid.uuid1())
            out.append((meter_id, s['resource_id'], s['user_id'], s['project_id'],
                        s['project_id'] + ':openstack', s['counter_volume'],
                        _micros(datetime.datetime.fromisoformat(s['timestamp'])), now,
                        message_id,
                        hashlib.sha256(message_id.encode()).hexdigest(),
                        json.dumps(s['resource_metadata'])))
        yield out


def connect(path):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute('PRAGMA journal_mode=WAL')
    conn.execute('PRAGMA synchronous=FULL')
    conn.execute('PRAGMA cache_size=-65536')
    return conn


def insert_rate(dataset, path, batch=100):
    """Load the dataset; ``{rows, seconds, rows_per_s}`` over the timed executemany+COMMIT."""
    conn = connect(path)
    for stmt in SCHEMA:
        conn.execute(stmt)
    spent = 0.0
    count = 0
    for chunk in rows(dataset, batch):
        t0 = time.perf_counter()
        conn.execute('BEGIN')
        conn.executemany(INSERT, chunk)
        conn.execute('COMMIT')
        spent += time.perf_counter() - t0
        count += len(chunk)
    conn.close()
    return {'rows': count, 'seconds': round(spent, 3), 'rows_per_s': round(count / spent, 1),
            'batch': batch}


class RawQueries:
    """R3, R4 and R4 with stddev/cardinality inputs as bare SQL over covering indexes,
    runnable one at a time so they can be interleaved with meterd's requests."""

    QUERIES = {'R3': R3_SQL, 'R4': R4_SQL, 'R4_agg': R4_AGG_SQL}

    def __init__(self, dataset, path, meter='cpu_util'):
        self.conn = connect(path)
        for stmt in COVERING_INDEXES:
            self.conn.execute(stmt.replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS'))
        self.conn.execute('ANALYZE')
        self.params = {'m': bench_dataset.METER_NAMES.index(meter) + 1,
                       'a': _micros(dataset.start), 'e': _micros(dataset.end),
                       'p': 3600 * 1_000_000}

    def plan(self, name):
        return ' / '.join(row[-1] for row in self.conn.execute(
            'EXPLAIN QUERY PLAN ' + self.QUERIES[name], self.params))

    def run(self, name):
        """Run query ``name`` to completion; the number of rows."""
        return len(self.conn.execute(self.QUERIES[name], self.params).fetchall())

    def close(self):
        self.conn.close()


def query_limits(dataset, path, repeat, warmup, meter='cpu_util'):
    """Median and p95 of each RawQueries query run alone."""
    raw = RawQueries(dataset, path, meter)
    out = {}
    try:
        for name in raw.QUERIES:
            result = {}

            def call():
                result['rows'] = raw.run(name)

            summary = timing.summarize(timing.measure(call, repeat, warmup))
            out[name] = dict(summary, items=result['rows'], plan=raw.plan(name))
    finally:
        raw.close()
    return out
