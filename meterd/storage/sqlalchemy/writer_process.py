"""The SQLite sample writer as a child process of an eventlet API process.

A writer thread in the API process shares the GIL with the hub: each time
sqlite3 hands the GIL back, the writer waits for the hub to finish what it
is parsing, and the two took turns instead of working side by side. The
child has a GIL of its own. Each POST sends its ``ingest.prepare``'d batch
over a socket and answers once the child reports the transaction holding it
committed ("durable and visible on return" holds as before). The child
groups whatever batches are waiting into one transaction, as the in-process
group commit does, and writes a failed group's batches again one by one, so
only a faulty batch fails.

Frames on the socket: a 4-byte big-endian length, then a pickle. Requests
are ``(seq, prepared rows)``; answers ``(seq, None)`` or ``(seq, (kind,
message))`` with kind ``conflict``, ``unavailable`` or ``error``.

The child runs this file as a script and loads ``ingest`` by its path:
imported through their package, the storage options and plugin machinery
(oslo.config, oslo.log, stevedore) would double its memory. It ignores
SIGINT and SIGTERM (sent to the whole process group by a terminal or a
service manager) and ends when the API process closes the socket, after
the batches already sent.
"""

import argparse
import importlib.util
import logging
import os
import pickle
import select
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading

from meterd import exception

# Standard logging, not oslo.log: the child must not import it (oslo.log
# routes these records in the API process all the same).
LOG = logging.getLogger(__name__)
_HEADER = struct.Struct('>I')
#: The directory holding the ``meterd`` package.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _frame(obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data)) + data


def _read_exact(sock, size):
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b''.join(chunks)


def _read_frame(sock):
    """The next object on ``sock``, or None at end of stream."""
    header = _read_exact(sock, _HEADER.size)
    if header is None:
        return None
    data = _read_exact(sock, _HEADER.unpack(header)[0])
    return None if data is None else pickle.loads(data)


# -- the API process side ------------------------------------------------------

class _Waiter:
    __slots__ = ('done', 'error')

    def __init__(self):
        self.done = threading.Event()  # green under eventlet
        self.error = None


class WriterClient:
    """Hands batches to the writer child and waits for their commit (API process side).

    The child is started with the first batch of a process (so each forked
    API worker has its own) and again after it died; batches in flight when
    it dies fail with StorageUnavailable.
    """

    def __init__(self, database, pragmas):
        # -P: the script's directory (holding a statistics.py) stays off sys.path;
        # -S: no site-packages (2.4 MB less); meterd is found through PYTHONPATH.
        self._command = [sys.executable, '-P', '-S', os.path.abspath(__file__),
                         '--database', database]
        for name, value in pragmas.items():
            self._command += ['--pragma', f'{name}={value}']
        self._lock = threading.Lock()  # green: serialises senders on the socket
        self._pid = None
        self._sock = None
        self._child = None
        self._waiting = {}
        self._seq = 0

    def record(self, prepared):
        waiter = _Waiter()
        with self._lock:
            if self._pid != os.getpid() or self._sock is None:
                try:
                    self._start()
                except OSError as err:
                    LOG.error('Cannot start the SQLite sample writer: %s', err)
                    raise exception.StorageUnavailable() from err
            self._seq += 1
            seq = self._seq
            self._waiting[seq] = waiter
            frame = _frame((seq, prepared))
            try:
                self._sock.sendall(frame)
            except OSError:
                self._waiting.pop(seq, None)
                self._lost(self._sock)
                raise exception.StorageUnavailable()
        waiter.done.wait()
        if waiter.error is not None:
            kind, message = waiter.error
            if kind == 'conflict':
                raise exception.Conflict('The data conflicts with stored data.')
            if kind == 'unavailable':
                raise exception.StorageUnavailable()
            raise RuntimeError(f'sample writer: {message}')

    def _start(self):
        import eventlet  # only API processes on eventlet use the child

        parent, child = socket.socketpair()
        # The child finds this meterd even when it runs from a source tree.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [_PACKAGE_ROOT, os.environ.get('PYTHONPATH')])))
        try:
            self._child = subprocess.Popen(
                self._command + ['--fd', str(child.fileno())], pass_fds=[child.fileno()],
                stdin=subprocess.DEVNULL, close_fds=True, env=env)
        finally:
            child.close()
        self._pid = os.getpid()
        self._sock = parent
        self._waiting = {}
        eventlet.spawn_n(self._read_answers, parent)
        LOG.info('SQLite sample writer started (pid %d)', self._child.pid)

    def _read_answers(self, sock):
        while True:
            try:
                answer = _read_frame(sock)
            except Exception:  # a broken stream: as if the child had gone
                answer = None
            if answer is None:
                self._lost(sock)
                return
            seq, error = answer
            waiter = self._waiting.pop(seq, None)
            if waiter is not None:
                waiter.error = error
                waiter.done.set()

    def _lost(self, sock):
        """The child is gone: fail what it held; the next batch starts another."""
        if sock is not self._sock:
            return
        self._sock = None
        sock.close()
        waiting, self._waiting = self._waiting, {}
        for waiter in waiting.values():
            waiter.error = ('unavailable', 'the sample writer exited')
            waiter.done.set()
        if self._child is not None:
            LOG.error('SQLite sample writer (pid %d) exited (status %s); %d POST(s) in '
                      'flight answered 503; the next POST starts another',
                      self._child.pid, self._child.poll(), len(waiting))

    def close(self):
        """End the child after the batches it holds (end of stream on its socket)."""
        if self._sock is not None and self._pid == os.getpid():
            self._sock.close()
            self._sock = None
            if self._child is not None:
                self._child.wait()


# -- the child -----------------------------------------------------------------

class _DriverConnection:
    """What ``ingest.record`` calls on a connection, over a bare sqlite3 one."""

    def __init__(self, db):
        self._db = db

    def exec_driver_sql(self, sql, params=()):
        if isinstance(params, list):
            return _Result(self._db.executemany(sql, params))
        return _Result(self._db.execute(sql, params))


class _Result:
    def __init__(self, cursor):
        self._cursor = cursor

    def __iter__(self):
        return iter(self._cursor)

    def scalar(self):
        row = self._cursor.fetchone()
        return None if row is None else row[0]


def _kind(err):
    if isinstance(err, sqlite3.IntegrityError):
        return 'conflict'
    if isinstance(err, sqlite3.OperationalError):
        return 'unavailable'
    return 'error'


def _load_ingest():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ingest.py')
    spec = importlib.util.spec_from_file_location('_meterd_writer_ingest', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Writer:
    def __init__(self, db, ingest):
        self._db = db
        self._conn = _DriverConnection(db)
        self._ingest = ingest

    def _transaction(self, prepared):
        self._db.execute('BEGIN IMMEDIATE')
        try:
            self._ingest.record(self._conn, 'sqlite', prepared)
            self._db.commit()
        except BaseException:
            if self._db.in_transaction:  # also after a failed COMMIT
                self._db.rollback()
            raise

    def write(self, batches):
        """``[(seq, prepared), ...]`` -> ``[(seq, error or None), ...]``."""
        answers = []
        for index, err in self._ingest.write_batches(self._transaction,
                                                     [rows for _seq, rows in batches]):
            seq, rows = batches[index]
            if err is not None:
                print(f'meterd sample writer: a batch of {len(rows)} sample(s) failed: '
                      f'{type(err).__name__}: {err}', file=sys.stderr, flush=True)
                err = (_kind(err), str(err))
            answers.append((seq, err))
        return answers


def _next_group(sock, max_samples):
    """The waiting batches, at least one (blocking for it); None at end of stream."""
    first = _read_frame(sock)
    if first is None:
        return None
    group, size = [first], len(first[1])
    while size < max_samples and select.select([sock], [], [], 0)[0]:
        batch = _read_frame(sock)
        if batch is None:
            break
        group.append(batch)
        size += len(batch[1])
    return group


#: Seconds without a batch after which the child copies the WAL back into the
#: database file. Until then every read looks each page up in the log's index
#: first: after a million posted samples left 160 MB in it, sample pages took
#: 15% longer. A checkpoint that copied everything lets readers skip the log.
IDLE_CHECKPOINT_SECONDS = 1.0


def serve(sock, db, ingest):
    """Write what arrives on ``sock`` until the API process closes it (or goes away)."""
    writer = _Writer(db, ingest)
    logged = False  # written since the last checkpoint
    try:
        while True:
            if logged and not select.select([sock], [], [], IDLE_CHECKPOINT_SECONDS)[0]:
                _checkpoint(db)
                logged = False
            group = _next_group(sock, ingest.MAX_GROUP_SAMPLES)
            if group is None:
                return
            sock.sendall(b''.join(_frame(answer) for answer in writer.write(group)))
            logged = True
    except ConnectionError:
        return  # the API process is gone: nobody waits for the answers


def _checkpoint(db):
    """A passive checkpoint: it waits for no reader and blocks no writer."""
    try:
        db.execute('PRAGMA wal_checkpoint(PASSIVE)').fetchall()
    except sqlite3.Error as err:
        print(f'meterd sample writer: idle WAL checkpoint failed: {err}', file=sys.stderr,
              flush=True)


def connect(database, pragmas):
    db = sqlite3.connect(database, isolation_level=None, timeout=30,
                         check_same_thread=False)
    for pragma in pragmas:
        name, _, value = pragma.partition('=')
        db.execute(f'PRAGMA {name}={value}')
    return db


def main(argv=None):
    parser = argparse.ArgumentParser(description='meterd SQLite sample writer (started by '
                                                 'meterd-api; not for direct use)')
    parser.add_argument('--fd', type=int, required=True)
    parser.add_argument('--database', required=True)
    parser.add_argument('--pragma', action='append', default=[])
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sock = socket.socket(fileno=args.fd)
    sock.setblocking(True)  # the API process made its end non-blocking before the fork
    db = connect(args.database, args.pragma)
    try:
        serve(sock, db, _load_ingest())
    finally:
        db.close()
        sock.close()


if __name__ == '__main__':
    main()
