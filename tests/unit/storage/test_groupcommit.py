"""Group commit: batches queued behind a running transaction share the next one."""

import threading
import time

import pytest

from meterd.storage.sqlalchemy import groupcommit


class Store:
    """A ``write`` that records each transaction; the first one can be held open."""

    def __init__(self, hold_first=False):
        self.transactions = []
        self.release = threading.Event()
        self.entered = threading.Event()
        self.hold_first = hold_first
        self.lock = threading.Lock()

    def write(self, samples):
        if self.hold_first and not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(30)
        if 'bad' in samples:
            raise ValueError('bad sample')
        with self.lock:
            self.transactions.append(list(samples))


def _wait_for(predicate):
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, 'condition not reached'
        time.sleep(0.001)


def _post_while_first_is_held(store, writer, batches):
    """Start ``first`` then, while its transaction is open, queue ``batches``."""
    results = {}

    def post(name, samples):
        try:
            writer.record(samples)
            results[name] = 'ok'
        except Exception as err:
            results[name] = err

    first = threading.Thread(target=post, args=('first', ['f1']))
    first.start()
    assert store.entered.wait(30)
    others = [threading.Thread(target=post, args=(name, samples))
              for name, samples in batches]
    for t in others:
        t.start()
    _wait_for(lambda: len(writer._pending) == len(batches))
    store.release.set()
    for t in [first] + others:
        t.join(30)
    return results


def test_a_lone_batch_is_one_transaction():
    store = Store()
    groupcommit.GroupWriter(store.write).record(['a', 'b'])
    assert store.transactions == [['a', 'b']]


def test_batches_queued_behind_a_transaction_share_the_next_one():
    store = Store(hold_first=True)
    writer = groupcommit.GroupWriter(store.write)
    results = _post_while_first_is_held(
        store, writer, [('b', ['b1', 'b2']), ('c', ['c1']), ('d', ['d1'])])
    assert results == {'first': 'ok', 'b': 'ok', 'c': 'ok', 'd': 'ok'}
    assert store.transactions[0] == ['f1']
    assert len(store.transactions) == 2
    assert sorted(store.transactions[1]) == ['b1', 'b2', 'c1', 'd1']


def test_a_failing_batch_fails_alone_and_its_neighbours_are_stored():
    store = Store(hold_first=True)
    writer = groupcommit.GroupWriter(store.write)
    results = _post_while_first_is_held(
        store, writer, [('b', ['b1']), ('bad', ['x', 'bad']), ('d', ['d1'])])
    assert isinstance(results.pop('bad'), ValueError)
    assert results == {'first': 'ok', 'b': 'ok', 'd': 'ok'}
    stored = sorted(s for t in store.transactions for s in t)
    assert stored == ['b1', 'd1', 'f1']


def test_the_error_of_a_lone_batch_reaches_its_caller():
    writer = groupcommit.GroupWriter(Store().write)
    with pytest.raises(ValueError, match='bad sample'):
        writer.record(['bad'])
    writer.record(['ok'])  # the writer is usable afterwards


def test_a_group_never_exceeds_max_samples_unless_one_batch_does():
    store = Store(hold_first=True)
    writer = groupcommit.GroupWriter(store.write, max_samples=3)
    results = _post_while_first_is_held(
        store, writer, [('b', ['b1', 'b2']), ('c', ['c1', 'c2']), ('big', ['g'] * 5)])
    assert set(results.values()) == {'ok'}
    assert all(len(t) <= 3 or len(set(t)) == 1 for t in store.transactions)
    assert sorted(s for t in store.transactions for s in t) == sorted(
        ['f1', 'b1', 'b2', 'c1', 'c2'] + ['g'] * 5)


def test_offload_runs_inline_without_eventlet():
    assert groupcommit.offload(lambda a, b: a + b, 2, 3) == 5
