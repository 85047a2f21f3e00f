"""SQL driver frame: SQLite pragmas, racing schema creation, and an unreachable database.

Driver-only tests (they look at SQL connections); the contract suite covers
behaviour every backend shares.
"""

import multiprocessing
import os
import socket
import threading
import urllib.parse

import pytest
import sqlalchemy as sa
import webtest

from meterd.api import app as api_app
from meterd import exception
from meterd import storage
from meterd.storage import impl_sqlalchemy
from meterd.storage.sqlalchemy import tables
from tests import conftest as root
from tests.functional.storage import conftest as storage_conftest
from tests.functional.storage import test_contract_metering as metering

SQL_BACKENDS = ('sqlite', 'postgresql')


@pytest.fixture(params=SQL_BACKENDS)
def sql_url(request, tmp_path):
    gen = storage_conftest.BACKENDS[request.param](tmp_path)
    yield next(gen)
    gen.close()


def test_sqlite_connections_use_wal_full_sync_and_foreign_keys(tmp_path):
    conn = storage.get_connection(root.make_conf(tmp_path), url=f'sqlite:///{tmp_path}/p.db')
    try:
        with conn.engine.connect() as c:
            pragma = lambda name: c.exec_driver_sql(f'PRAGMA {name}').scalar()  # noqa: E731
            assert pragma('journal_mode') == 'wal'
            assert pragma('synchronous') == 2  # FULL
            assert pragma('foreign_keys') == 1
            assert pragma('wal_autocheckpoint') == 40000
            assert pragma('journal_size_limit') == 40000 * 4096
            assert pragma('temp_store') == 1  # FILE: large sorts spill to disk
    finally:
        conn.close()


def test_the_sqlite_writer_child_keeps_its_statement_journals_in_memory(tmp_path):
    """Readers spill large sorts to files; the writer's small statements stay in memory."""
    child = impl_sqlalchemy.Connection._sqlite_writer_child(
        f'sqlite:///{tmp_path}/p.db', root.make_conf(tmp_path))
    pragmas = [arg for arg in child._command if '=' in arg]
    assert 'temp_store=MEMORY' in pragmas and 'synchronous=FULL' in pragmas


def test_sqlite_directory_is_created(tmp_path):
    url = f'sqlite:///{tmp_path}/deep/er/m.db'
    storage.get_connection(root.make_conf(tmp_path), url=url).close()
    assert os.path.isfile(tmp_path / 'deep' / 'er' / 'm.db')


def _schema_state(url):
    engine = sa.create_engine(url.replace('postgresql://', 'postgresql+psycopg://', 1))
    try:
        with engine.connect() as c:
            names = set(sa.inspect(c).get_table_names())
            versions = c.execute(sa.select(tables.schema_version.c.version)).scalars().all()
    finally:
        engine.dispose()
    return names, versions


def _upgrade_in_process(url, state_path, barrier):
    conf = root.make_conf(state_path)
    barrier.wait(timeout=60)
    storage.get_connection(conf, url=url).close()


def test_processes_racing_to_create_the_schema_all_succeed(sql_url, tmp_path):
    ctx = multiprocessing.get_context('spawn')
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=_upgrade_in_process, args=(sql_url, tmp_path, barrier))
             for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]
    names, versions = _schema_state(sql_url)
    assert set(tables.metadata.tables) <= names
    assert versions == [tables.SCHEMA_VERSION]


def test_threads_racing_to_create_the_schema_all_succeed(sql_url, tmp_path):
    barrier = threading.Barrier(4)
    errors = []

    def _run():
        try:
            _upgrade_in_process(sql_url, tmp_path, barrier)
        except Exception as err:  # collected: a thread's exception is lost otherwise
            errors.append(err)
    threads = [threading.Thread(target=_run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert _schema_state(sql_url)[1] == [tables.SCHEMA_VERSION]


def test_upgrade_from_schema_2_keeps_samples_and_swaps_the_indexes(sql_url, tmp_path):
    """A database of the previous generation: its samples stay, its scattered indexes go."""
    conf = root.make_conf(tmp_path)
    conn = storage.get_connection(conf, url=sql_url)
    conn.record_samples([metering.make(resource='r1', volume=7.0)])
    with conn.engine.begin() as c:
        for name in tables.OBSOLETE_INDEXES[1:]:
            c.exec_driver_sql(f'CREATE INDEX {name} ON samples (resource_id)')
        c.execute(tables.schema_version.delete())
        c.execute(tables.schema_version.insert().values(version=2))
    conn.close()
    conn = storage.get_connection(conf, url=sql_url)
    try:
        with conn.engine.connect() as c:
            indexes = {ix['name'] for ix in sa.inspect(c).get_indexes('samples')}
        volumes = [s.counter_volume for s in conn.get_samples(storage.SampleFilter())]
    finally:
        conn.close()
    assert volumes == [7.0]
    assert not indexes & set(tables.OBSOLETE_INDEXES)
    assert {ix.name for ix in tables.samples.indexes} <= indexes
    assert _schema_state(sql_url)[1] == [2, tables.SCHEMA_VERSION]


# -- the database going away and coming back -----------------------------------------


class TcpProxy:
    """A TCP relay on 127.0.0.1 that can be cut (connections reset) and restored."""

    def __init__(self, target):
        self.target = target
        self.port = None
        self._listener = None
        self._socks = []
        self._lock = threading.Lock()

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(('127.0.0.1', self.port or 0))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._socks += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        # shutdown() first: close() alone leaves a blocked accept() listening.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@pytest.fixture
def proxied_postgresql(tmp_path):
    """(proxy, URL through it with a password) for a fresh PostgreSQL schema."""
    gen = storage_conftest.BACKENDS['postgresql'](tmp_path)
    url = next(gen)
    parts = urllib.parse.urlsplit(url)
    proxy = TcpProxy((parts.hostname, parts.port or 5432))
    proxy.start()
    # trust auth ignores the password; it is there to prove it is never logged.
    netloc = f'{parts.username or "postgres"}:s3cr3t-pw@127.0.0.1:{proxy.port}'
    yield proxy, urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    proxy.stop()
    gen.close()


def _app(tmp_path, url, **database):
    conf = root.make_conf(tmp_path, api={'auth_strategy': 'noauth'},
                          database=dict(database, connection=url))
    return webtest.TestApp(api_app.load_app(conf))


def test_unreachable_database_is_503_json_and_the_service_recovers(proxied_postgresql,
                                                                   tmp_path, capsys):
    proxy, url = proxied_postgresql
    app = _app(tmp_path, url)
    app.get('/v2/meters', headers=root.ADMIN, status=200)

    proxy.stop()
    resp = app.get('/v2/meters', headers=root.ADMIN, status=503)
    assert resp.json == {'error_message': {
        'faultcode': 'Server', 'debuginfo': None,
        'faultstring': 'The storage backend is unavailable; try again later.'}}
    assert resp.headers['x-openstack-request-id'].startswith('req-')

    proxy.start()
    assert app.get('/v2/meters', headers=root.ADMIN, status=200).json == []
    logged = ''.join(capsys.readouterr())
    assert 's3cr3t-pw' not in logged
    assert 'postgres:***@127.0.0.1' in logged


def test_database_unreachable_at_start_is_storage_unavailable(proxied_postgresql, tmp_path):
    proxy, url = proxied_postgresql
    proxy.stop()
    with pytest.raises(exception.StorageUnavailable):
        _app(tmp_path, url, max_retries=1, retry_interval=0.0)
