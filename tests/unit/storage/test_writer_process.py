"""The SQLite writer child: its socket protocol, grouping and per-batch failures."""

import datetime
import socket
import threading
import time

import pytest

from meterd.storage import models
from meterd.storage.sqlalchemy import ingest
from meterd.storage.sqlalchemy import writer_process
from tests import conftest as root


def _batch(resource, count, meter='cpu'):
    return ingest.prepare([models.Sample(
        'p:openstack', meter, 'gauge', '%', float(i), 'u', 'p', resource,
        datetime.datetime(2024, 3, 1, 0, 0, i), {'n': i}, f'{resource}-{i}')
        for i in range(count)])


@pytest.fixture
def child(tmp_path):
    """``serve`` on a thread over a socketpair, on a database with meterd's schema."""
    from meterd import storage

    url = f'sqlite:///{tmp_path}/w.db'
    driver = storage.get_connection(root.make_conf(tmp_path), url=url)
    db = writer_process.connect(str(tmp_path / 'w.db'), ['journal_mode=WAL', 'busy_timeout=30000'])
    ours, theirs = socket.socketpair()
    thread = threading.Thread(target=writer_process.serve,
                              args=(theirs, db, writer_process._load_ingest()), daemon=True)
    thread.start()
    yield ours, driver
    ours.close()
    thread.join(10)
    assert not thread.is_alive(), 'the writer did not end at end of stream'
    theirs.close()
    db.close()
    driver.close()


def _send(sock, *batches):
    for seq, rows in batches:
        sock.sendall(writer_process._frame((seq, rows)))


def _answers(sock, count):
    return dict(writer_process._read_frame(sock) for _ in range(count))


def _stored(driver):
    with driver.engine.connect() as conn:
        return sorted(r[0] for r in conn.exec_driver_sql('SELECT message_id FROM samples'))


def test_each_batch_is_answered_after_its_commit(child):
    sock, driver = child
    _send(sock, (1, _batch('a', 3)), (2, _batch('b', 2)))
    assert _answers(sock, 2) == {1: None, 2: None}
    assert _stored(driver) == ['a-0', 'a-1', 'a-2', 'b-0', 'b-1']
    with driver.engine.connect() as conn:
        assert conn.exec_driver_sql(
            'SELECT resource_id FROM resources ORDER BY 1').all() == [('a',), ('b',)]


def test_a_faulty_batch_fails_alone(child):
    sock, driver = child
    faulty = _batch('x', 1)
    faulty[0] = (faulty[0][0], faulty[0][1][:-1])  # a row one column short
    _send(sock, (1, _batch('a', 2)), (2, faulty), (3, _batch('c', 1)))
    answers = _answers(sock, 3)
    assert answers[1] is None and answers[3] is None
    kind, message = answers[2]
    assert kind == 'error' and message
    assert _stored(driver) == ['a-0', 'a-1', 'c-0']


def test_batches_waiting_together_share_one_transaction(child, monkeypatch):
    sock, driver = child
    # Both frames are on the socket before the writer looks: one group.
    frames = [writer_process._frame((n, _batch(f'r{n}', 2))) for n in (1, 2)]
    transactions = []
    real = writer_process._Writer._transaction

    def counting(self, prepared):
        transactions.append(len(prepared))
        return real(self, prepared)

    monkeypatch.setattr(writer_process._Writer, '_transaction', counting)
    sock.sendall(b''.join(frames))
    assert _answers(sock, 2) == {1: None, 2: None}
    assert transactions in ([4], [2, 2])  # [2, 2] only if the writer read between frames
    assert len(_stored(driver)) == 4


def test_a_group_stops_at_max_group_samples(monkeypatch):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.sendall(b''.join(writer_process._frame((n, [('row',)] * 3)) for n in range(4)))
        assert [seq for seq, _rows in writer_process._next_group(theirs, 6)] == [0, 1]
        assert [seq for seq, _rows in writer_process._next_group(theirs, 100)] == [2, 3]
        ours.close()
        assert writer_process._next_group(theirs, 100) is None


def test_an_idle_writer_copies_the_log_back_into_the_database_file(child, tmp_path,
                                                                   monkeypatch):
    """Readers of a fully checkpointed WAL read the database file alone."""
    monkeypatch.setattr(writer_process, 'IDLE_CHECKPOINT_SECONDS', 0.2)
    sock, driver = child
    database = tmp_path / 'w.db'
    before = database.stat().st_size
    _send(sock, (1, _batch('a', 50)), (2, _batch('b', 50)))
    assert _answers(sock, 2) == {1: None, 2: None}
    deadline = time.monotonic() + 10
    while database.stat().st_size <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert database.stat().st_size > before
    # The file grows as the child's checkpoint starts; ours is refused (busy)
    # until that one has finished copying.
    busy = 1
    with driver.engine.connect() as conn:
        while busy and time.monotonic() < deadline:
            busy, log, copied = conn.exec_driver_sql('PRAGMA wal_checkpoint(PASSIVE)').one()
            time.sleep(0.05)
    assert (busy, copied) == (0, log)
    assert len(_stored(driver)) == 100
