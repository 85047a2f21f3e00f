"""The meterd-api under test: which databases to run on, its config, the process, its memory.

SQLite (a fresh file) is always measured. MongoDB joins when
METERD_TEST_MONGODB_URL is set and PostgreSQL when asked for with
METERD_TEST_POSTGRESQL_URL set; each gets a dedicated, dropped-afterwards
database named after the benchmark run so a shared server is never touched
beyond it.
"""

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

from tools.bench import client as bench_client

ENV_URLS = {'mongodb': 'METERD_TEST_MONGODB_URL',
            'postgresql': 'METERD_TEST_POSTGRESQL_URL'}
BACKENDS = ('sqlite', 'postgresql', 'mongodb')


@dataclasses.dataclass
class Backend:
    """One database the API runs on: its storage URL and, for SQLite, the file."""

    name: str
    url: str
    path: str | None = None


def backend_names(requested, env):
    """The backends of a run: ``requested`` as given, else SQLite plus MongoDB when
    METERD_TEST_MONGODB_URL is set.

    :raises ValueError: an unknown name, or a server backend whose URL variable is unset.
    """
    names = list(requested) if requested else ['sqlite'] + (
        ['mongodb'] if env.get(ENV_URLS['mongodb']) else [])
    for name in names:
        if name not in BACKENDS:
            raise ValueError(f'unknown backend {name!r} (choices: {", ".join(BACKENDS)})')
        if name in ENV_URLS and not env.get(ENV_URLS[name]):
            raise ValueError(f'backend {name} needs {ENV_URLS[name]}')
    return names


def with_database(url, dbname):
    """``url`` pointing at database ``dbname`` instead (query and credentials kept)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path='/' + dbname))


def backend(name, workdir, env, run_id):
    """The Backend for ``name``: a new SQLite file in ``workdir`` or a fresh database."""
    if name == 'sqlite':
        path = os.path.join(workdir, 'meterd.sqlite')
        return Backend('sqlite', 'sqlite:///' + path, path)
    return Backend(name, with_database(env[ENV_URLS[name]], f'meterd_bench_{run_id}'))


def create_database(target):
    """Create the dedicated server database (PostgreSQL; MongoDB creates on first write)."""
    if target.name != 'postgresql':
        return
    import psycopg
    admin = with_database(target.url, 'postgres')
    dbname = urllib.parse.urlsplit(target.url).path.lstrip('/')
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
        conn.execute(f'CREATE DATABASE "{dbname}"')


def drop_database(target):
    """Drop the dedicated server database after the run (SQLite goes with the workdir)."""
    dbname = urllib.parse.urlsplit(target.url).path.lstrip('/')
    if target.name == 'postgresql':
        import psycopg
        with psycopg.connect(with_database(target.url, 'postgres'), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    elif target.name == 'mongodb':
        import pymongo
        mongo = pymongo.MongoClient(target.url, serverSelectionTimeoutMS=5000)
        try:
            mongo.drop_database(dbname)
        finally:
            mongo.close()


def database_size(target):
    """Bytes the database occupies: SQLite file + WAL, or what the server reports."""
    if target.name == 'sqlite':
        return sum(os.path.getsize(target.path + suffix)
                   for suffix in ('', '-wal', '-shm') if os.path.exists(target.path + suffix))
    if target.name == 'postgresql':
        import psycopg
        with psycopg.connect(target.url) as conn:
            return conn.execute('SELECT pg_database_size(current_database())').fetchone()[0]
    import pymongo
    mongo = pymongo.MongoClient(target.url, serverSelectionTimeoutMS=5000)
    try:
        stats = mongo.get_default_database().command('dbstats')
        return int(stats['storageSize'] + stats['indexSize'])
    finally:
        mongo.close()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def config_text(target, port, state_path):
    """meterd.conf for the benchmark: noauth on loopback, the backend's URL, shipped defaults."""
    return ('[DEFAULT]\n'
            f'state_path = {state_path}\n'
            '\n[api]\n'
            'host = 127.0.0.1\n'
            f'port = {port}\n'
            'auth_strategy = noauth\n'
            '\n[database]\n'
            f'connection = {target.url}\n')


class ServerProcess:
    """``python -m meterd.cmd.api`` in a child process, logging to a file."""

    def __init__(self, target, workdir):
        self.target = target
        self.port = free_port()
        self.base_url = f'http://127.0.0.1:{self.port}'
        self.conf_path = os.path.join(workdir, f'meterd-{target.name}.conf')
        self.log_path = os.path.join(workdir, f'meterd-{target.name}.log')
        with open(self.conf_path, 'w') as f:
            f.write(config_text(target, self.port, workdir))
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=60):
        log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'meterd.cmd.api', '--config-file', self.conf_path],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        probe = bench_client.Client(self.base_url)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f'meterd-api exited with {self.proc.returncode}; '
                                   f'see {self.log_path}')
            try:
                probe.get('/')
                return
            except OSError:
                time.sleep(0.1)
            finally:
                probe.close()
        self.stop()
        raise RuntimeError(f'meterd-api did not answer within {timeout}s; see {self.log_path}')

    def stop(self, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def rss_bytes(pid):
    """Resident set size of ``pid`` and its children (a multi-worker server)."""
    import psutil
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total
