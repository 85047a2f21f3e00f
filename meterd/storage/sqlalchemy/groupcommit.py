"""Group commit: sample batches posted concurrently share one write transaction.

Every commit costs an fsync (SQLite ``synchronous=FULL``) and rewrites the
index pages it touched, so N concurrent POSTs committing one by one pay N
times what one transaction holding all of them costs. Batches are queued;
the first waiting request writes every queued batch in one transaction and
each request answers only after the transaction holding its samples
committed, so "durable and visible on return" still holds. If that shared
transaction fails, its batches are written again one by one: only a faulty
batch fails, the others are not affected by their neighbour.

This is the writer of PostgreSQL, and of SQLite off eventlet (tests, the
command-line tools). An API process on eventlet hands the batches for a
SQLite file to a writer child process instead (``writer_process``), which
groups them the same way; only an in-memory SQLite database still writes
from here, in a native thread (``eventlet.tpool``), so the hub keeps
serving requests meanwhile.
"""

import os
import threading

from eventlet import patcher
from eventlet import tpool

from meterd.storage.sqlalchemy import ingest

#: Native threads for offloaded database work (unless EVENTLET_THREADPOOL_SIZE
#: says otherwise). glibc gives each thread its own malloc arena and keeps what
#: a thread freed: with eventlet's default of 20, SQLite's sorters and page
#: caches spread over many arenas and the benchmark's reads took the server
#: from 85 MB to 296 MB (4 threads: 148 MB, 2: 122 MB, 1: 109 MB). With one,
#: the hub still never waits for the database; offloaded jobs (group writes,
#: statistics, complex queries) take turns in arrival order.
OFFLOAD_THREADS = 1

_pool_sized = False


def green():
    """Whether this process runs on eventlet (threads are green threads)."""
    return patcher.is_monkey_patched('thread')


def offload(func, *args):
    """``func(*args)`` in a native thread when the process runs on eventlet, else inline."""
    if green():
        global _pool_sized
        if not _pool_sized:
            # Before tpool's lazy start; later calls would not resize it.
            if 'EVENTLET_THREADPOOL_SIZE' not in os.environ:
                tpool.set_num_threads(OFFLOAD_THREADS)
            _pool_sized = True
        return tpool.execute(func, *args)
    return func(*args)


class _Batch:
    __slots__ = ('samples', 'wake', 'done', 'stored', 'error')

    def __init__(self, samples):
        self.samples = samples
        self.wake = threading.Event()
        self.done = False
        self.stored = False
        self.error = None


class GroupWriter:
    """Serialise writers and merge the batches that queue up behind a transaction.

    :param write: ``callable(samples)`` storing one list of samples in one
        transaction, raising on failure.
    """

    def __init__(self, write, max_samples=ingest.MAX_GROUP_SAMPLES):
        self._write = write
        self._max = max_samples
        self._lock = threading.Lock()
        self._pending = []
        self._writing = False

    def record(self, samples):
        """Store ``samples`` all-or-nothing; returns once they are committed.

        :raises: whatever ``write`` raised for this batch.
        """
        batch = _Batch(samples)
        with self._lock:
            self._pending.append(batch)
            lead = not self._writing
            self._writing = True
        if not lead:
            batch.wake.wait()
        if not batch.done:
            # Either first in line, or handed the lead by the previous writer.
            self._lead(batch)
        if batch.error is not None:
            raise batch.error

    def _take(self):
        with self._lock:
            group, size = [], 0
            while self._pending and (not group
                                     or size + len(self._pending[0].samples) <= self._max):
                batch = self._pending.pop(0)
                group.append(batch)
                size += len(batch.samples)
            return group

    def _lead(self, own):
        try:
            while not own.done:
                self._commit(self._take())
        finally:
            with self._lock:
                if self._pending:
                    self._pending[0].wake.set()  # the next in line leads
                else:
                    self._writing = False

    def _commit(self, group):
        try:
            for index, error in ingest.write_batches(self._write,
                                                     [batch.samples for batch in group]):
                # An error is re-raised in the thread that posted the batch.
                group[index].stored, group[index].error = error is None, error
        except BaseException as err:
            for batch in group:
                if not batch.stored and batch.error is None:
                    batch.error = err
            raise
        finally:
            for batch in group:
                batch.done = True
                batch.wake.set()
