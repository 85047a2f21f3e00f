"""SQLAlchemy Core driver: the embedded SQLite default and PostgreSQL (psycopg).

Reads and writes live in the ``storage.sqlalchemy`` modules; this one owns the
engine, the schema lifecycle and the translation of database errors.
"""

import contextlib
import os
import urllib.parse
import weakref

from oslo_log import log
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from meterd import exception
from meterd import storage
from meterd.storage import base
from meterd.storage.sqlalchemy import complex_query as sql_complex_query
from meterd.storage.sqlalchemy import expiry
from meterd.storage.sqlalchemy import groupcommit
from meterd.storage.sqlalchemy import ingest
from meterd.storage.sqlalchemy import reads
from meterd.storage.sqlalchemy import sqlite_functions
from meterd.storage.sqlalchemy import statistics as sql_statistics
from meterd.storage.sqlalchemy import tables
from meterd.storage.sqlalchemy import writer_process

LOG = log.getLogger(__name__)
#: Rows of a streamed answer (a complex query) converted per step.
STREAM_CHUNK = 1000


def _sqlite_file(url):
    """The file of a ``sqlite:///`` URL; None for other URLs and in-memory databases."""
    if urllib.parse.urlsplit(url).scheme != 'sqlite':
        return None
    path = url[len('sqlite:///'):]
    return path if path and path != ':memory:' else None


def _normalise_url(url):
    """``postgresql://`` means psycopg 3 here; SQLite paths get their directory created."""
    if urllib.parse.urlsplit(url).scheme == 'postgresql':
        return 'postgresql+psycopg' + url[len('postgresql'):]
    directory = os.path.dirname(_sqlite_file(url) or '')
    if directory:
        os.makedirs(directory, exist_ok=True)
    return url


def _sqlite_pragmas(conf):
    """Every SQLite connection's settings, in the order they are applied.

    ``temp_store=FILE``: a sort larger than the page cache (a complex query
    ordered by volume over a million samples) spills to a temporary file.
    Kept in memory, that sort took the API process to 684 MB, and it kept it.
    The writer child, which sorts nothing, keeps MEMORY (``_sqlite_writer_child``).
    """
    db = conf.database
    return {'journal_mode': 'WAL', 'synchronous': db.sqlite_synchronous,
            'foreign_keys': 'ON', 'busy_timeout': 30000,
            'cache_size': -int(db.sqlite_cache_size_kib),
            'wal_autocheckpoint': int(db.sqlite_wal_autocheckpoint),
            'journal_size_limit': int(db.sqlite_wal_autocheckpoint) * 4096,
            'temp_store': 'FILE'}


class Connection(base.Connection):
    """One engine per API process; a small connection pool shared by its green threads."""

    CAPABILITIES = base.SHIPPED_CAPABILITIES
    STORAGE_CAPABILITIES = base.SHIPPED_STORAGE_CAPABILITIES

    def __init__(self, url, conf):
        self.conf = conf
        self._url = url
        self.engine = self._create_engine(_normalise_url(url), conf)
        self.dialect = self.engine.dialect.name
        storage.connect_with_retries(self._ping, url, conf, sa_exc.DBAPIError)
        self._writer = groupcommit.GroupWriter(self._write_samples)
        self._writer_child = self._sqlite_writer_child(url, conf)
        self.upgrade()
        # Workers are forked after the app (and this engine) was built: a
        # child must never reuse the parent's pooled connections.
        forget = weakref.WeakMethod(self._forget_parent_connections)
        os.register_at_fork(after_in_child=lambda: (forget() or (lambda: None))())

    def _forget_parent_connections(self):
        self.engine.dispose(close=False)
        self._writer = groupcommit.GroupWriter(self._write_samples)

    # -- engine and schema ------------------------------------------------

    def _create_engine(self, url, conf):
        db = conf.database
        if url.startswith('sqlite'):
            engine = sa.create_engine(
                url, pool_size=db.pool_size, max_overflow=db.pool_size,
                poolclass=sa.pool.QueuePool,
                connect_args={'check_same_thread': False, 'timeout': 30,
                              'isolation_level': None})
            pragmas = _sqlite_pragmas(conf)

            @event.listens_for(engine, 'connect')
            def _on_connect(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                for name, value in pragmas.items():
                    cur.execute(f'PRAGMA {name}={value}')
                cur.close()
                sqlite_functions.register(dbapi_conn)

            # pysqlite's own transaction handling defers BEGIN; take it over so
            # a write transaction starts with BEGIN IMMEDIATE (no upgrade deadlocks).
            @event.listens_for(engine, 'begin')
            def _on_begin(conn):
                conn.exec_driver_sql('BEGIN IMMEDIATE' if conn.info.get('write')
                                     else 'BEGIN')

            return engine
        return sa.create_engine(url, pool_size=db.pool_size, max_overflow=db.pool_size,
                                pool_pre_ping=True)

    @staticmethod
    def _sqlite_writer_child(url, conf):
        """The writer process for a SQLite file (used under eventlet, see writer_process)."""
        path = _sqlite_file(url)
        if path is None or '?' in path:
            return None
        # Its statements are 32-row INSERTs: their statement journals stay in
        # memory (spilled to files, they cost the writer 20% of W1).
        return writer_process.WriterClient(path, dict(_sqlite_pragmas(conf),
                                                      temp_store='MEMORY'))

    def _ping(self):
        with self.engine.connect() as conn:
            conn.exec_driver_sql('SELECT 1')

    def upgrade(self):
        with self.begin(write=True) as conn:
            if self.dialect == 'postgresql':
                # Several workers may start at once: serialise schema creation.
                conn.exec_driver_sql('SELECT pg_advisory_xact_lock(727365)')
            tables.metadata.create_all(conn, checkfirst=True)
            # create_all() skips the indexes of tables that already exist.
            for table in tables.metadata.sorted_tables:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)
            for name in tables.OBSOLETE_INDEXES:
                conn.exec_driver_sql(f'DROP INDEX IF EXISTS {name}')
            current = conn.execute(sa.select(sa.func.max(tables.schema_version.c.version)))
            if (current.scalar() or 0) < tables.SCHEMA_VERSION:
                conn.execute(tables.schema_version.insert().values(
                    version=tables.SCHEMA_VERSION))

    def clear(self):
        with self.begin(write=True) as conn:
            for table in (tables.samples, tables.meter_resources, tables.resources,
                          tables.resource_owners, tables.meters):
                conn.execute(table.delete())

    def close(self):
        if self._writer_child is not None:
            self._writer_child.close()
        self.engine.dispose()

    @contextlib.contextmanager
    def begin(self, write=False):
        """A transaction; ``write`` takes SQLite's write lock up front."""
        with self.translate_errors():
            with self.engine.connect() as conn:
                conn.info['write'] = write
                try:
                    with conn.begin():
                        yield conn
                finally:
                    conn.info['write'] = False

    @contextlib.contextmanager
    def read(self):
        """A ``reads.DriverConnection`` for reads of driver SQL (no transaction set-up)."""
        with self.translate_errors():
            # engine.connect(), not raw_connection(): checkout errors come wrapped,
            # and a disconnect found at checkout invalidates the pool.
            with self.engine.connect() as conn:
                yield reads.DriverConnection(conn.connection.dbapi_connection, conn.dialect)

    @contextlib.contextmanager
    def translate_errors(self):
        """Database library errors -> MeterdError at the driver boundary."""
        try:
            yield
        except sa_exc.OperationalError as err:
            LOG.error('Database operation failed on %s: %s',
                      storage.mask_url(self._url), type(err.orig).__name__)
            raise exception.StorageUnavailable() from err
        except sa_exc.InterfaceError as err:
            raise exception.StorageUnavailable() from err
        except sa_exc.IntegrityError as err:
            raise exception.Conflict('The data conflicts with stored data.') from err

    # -- metering reads and writes (the metering API issue) ----------------

    def record_samples(self, samples):
        rows = ingest.prepare(samples)  # here: the writer's time is what every POST waits on
        if not rows:
            return
        if self._writer_child is not None and groupcommit.green():
            self._writer_child.record(rows)
        else:
            self._writer.record(rows)

    def _write_samples(self, rows):
        """One write transaction of ``ingest.prepare``'d samples; on SQLite run off the
        eventlet hub (see groupcommit)."""
        with self.translate_errors():
            with self.engine.connect() as conn:
                conn.info['write'] = True
                try:
                    if self.dialect == 'sqlite':
                        groupcommit.offload(self._record_in, conn, rows)
                    else:
                        self._record_in(conn, rows)
                finally:
                    conn.info['write'] = False

    def _record_in(self, conn, rows):
        with conn.begin():
            ingest.record(conn, self.dialect, rows)

    def get_samples(self, sample_filter, limit=None):
        if limit == 0:
            return iter(())
        with self.translate_errors():
            return reads.get_samples(self.begin, self.read, self.dialect, sample_filter, limit)

    def get_meters(self, sample_filter, limit=None, unique=False):
        if limit == 0:
            return iter(())
        with self.translate_errors():
            return reads.get_meters(self.begin, self.read, self.dialect, sample_filter, limit,
                                    unique)

    def get_resources(self, sample_filter, limit=None):
        if limit == 0:
            return iter(())
        with self.translate_errors():
            return reads.get_resources(self.begin, self.dialect, sample_filter, limit)

    def get_meter_names_by_resource(self, resource_ids, project=None):
        return reads.get_meter_names_by_resource(self.read, resource_ids, project)

    def clear_expired_metering_data(self, ttl):
        cutoff = expiry.cutoff_micros(ttl)
        removed = 0
        while True:
            with self.begin(write=True) as conn:
                batch = expiry.delete_samples(conn, cutoff)
            removed += batch
            if batch < expiry.BATCH:
                break
        with self.begin(write=True) as conn:
            if self.dialect == 'postgresql':
                # No sample may arrive for a row while it is pruned (SQLite's
                # BEGIN IMMEDIATE already serialises writers).
                conn.exec_driver_sql('LOCK TABLE samples IN SHARE MODE')
            expiry.prune(conn, cutoff)
        return removed

    # -- statistics and complex query (the statistics issue) ---------------

    def get_meter_statistics(self, sample_filter, period=None, groupby=(),
                             aggregates=(), limit=None):
        if limit == 0:
            return []
        stmt, read = sql_statistics.build(sample_filter, period, groupby, aggregates,
                                          self.dialect, limit)
        with self.begin() as conn:
            return self._offload(lambda: read(conn.execute(stmt)))

    def query_samples(self, filter_expr=None, orderby=None, limit=None):
        if limit == 0:
            return iter(())
        stmt = sql_complex_query.build(filter_expr, orderby, limit, self.dialect)
        return self._stream(stmt, reads.fast_sample_converter(self.dialect))

    def _stream(self, stmt, convert):
        """``convert(row)`` for the rows of ``stmt``, fetched ``STREAM_CHUNK`` at a time.

        An ordering of the caller's choice allows no keyset pages: the answer
        comes from one statement, read as it is sent. Built whole, a million
        samples took the server to 5 GB. The read holds its connection (and
        SQLite snapshot) until the last row is sent or the client goes.
        """
        try:
            with self.begin() as conn:
                result = self._offload(lambda: conn.execution_options(
                    stream_results=True, yield_per=STREAM_CHUNK).execute(stmt))
                while True:
                    chunk = self._offload(lambda: [convert(row) for row in
                                                   result.fetchmany(STREAM_CHUNK)])
                    if not chunk:
                        return
                    yield from chunk
        except sa_exc.DataError as err:
            # PostgreSQL's regex engine refuses a few patterns RE2 accepts.
            raise exception.ClientSideError(
                'Filter expression not valid: the database cannot evaluate a value of '
                'the filter (for =~, use the RE2 subset PostgreSQL also reads)') from err

    def _offload(self, read):
        """Run one long read (query and row conversion) on SQLite in a native thread,
        so the eventlet hub keeps serving other requests meanwhile (sqlite3
        releases the GIL while it works)."""
        if self.dialect == 'sqlite':
            return groupcommit.offload(read)
        return read()
