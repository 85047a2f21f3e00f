"""A 201 means committed: concurrent writers, kill -9 mid-load, rejected batches."""

import collections
import sqlite3
import threading
import time

from meterd import storage
from tests import conftest as root
from tests.functional.hardening import conftest as hc

WRITERS = 8
POSTS_PER_WRITER = 500


def _all_samples(server):
    resp = server.request('GET', '/v2/samples', params={'limit': 100000}, headers=hc.ADMIN,
                          timeout=120)
    assert resp.status_code == 200
    return resp.json()


def _writer(server, index, count, acked, errors, stop=None):
    session = hc.requests.Session()
    for i in range(count):
        if stop is not None and stop.is_set():
            return
        body = [hc.sample('load', f'w{index}', volume=float(i), project_id='p',
                          resource_metadata={'seq': i})]
        try:
            resp = session.post(f'{server.base}/v2/meters/load', json=body, headers=hc.ADMIN,
                                timeout=60)
        except hc.requests.RequestException as err:
            errors.append(repr(err))
            if stop is not None:
                return
            continue
        if resp.status_code == 201:
            acked.append(resp.json()[0]['message_id'])
        else:
            errors.append(f'{resp.status_code} {resp.text[:200]}')


def test_sqlite_runs_in_wal_with_synchronous_full_by_default(tmp_path):
    conf = root.make_conf(tmp_path)
    assert conf.database.sqlite_synchronous == 'FULL'
    conn = storage.get_connection(conf, url=f'sqlite:///{tmp_path}/wal.db')
    try:
        with conn.engine.connect() as db:
            assert db.exec_driver_sql('PRAGMA journal_mode').scalar() == 'wal'
            assert db.exec_driver_sql('PRAGMA synchronous').scalar() == 2
    finally:
        conn.close()
    with sqlite3.connect(tmp_path / 'wal.db') as raw:
        assert raw.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'


def test_concurrent_single_sample_posts_are_each_stored_once(server):
    acked, errors = [], []
    threads = [threading.Thread(target=_writer, args=(server, w, POSTS_PER_WRITER, acked, errors))
               for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[:5]
    assert len(acked) == WRITERS * POSTS_PER_WRITER
    stored = collections.Counter(s['id'] for s in _all_samples(server))
    assert set(stored) == set(acked)
    assert max(stored.values()) == 1


def test_every_acknowledged_sample_survives_kill_9(server_factory, tmp_path):
    workdir = str(tmp_path / 'crash')
    server = server_factory(workdir=workdir)
    acked, errors = [], []
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(server, w, 100000, acked, errors, stop))
               for w in range(WRITERS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert len(acked) >= 300
    restarted = hc.ServerProcess(workdir, {})
    restarted.start()
    try:
        stored = collections.Counter(s['id'] for s in _all_samples(restarted))
    finally:
        restarted.stop()
    missing = set(acked) - set(stored)
    assert not missing, f'{len(missing)} acknowledged samples lost'
    assert max(stored.values()) == 1


def test_a_rejected_batch_stores_nothing(app):
    batch = [hc.sample('cpu', f'r{i}', project_id='p') for i in range(200)]
    batch.append(hc.sample('cpu', 'bad', counter_type='nope'))
    app.post_json('/v2/meters/cpu', batch, headers=hc.ADMIN, status=400)
    batch[-1] = hc.sample('cpu', 'bad', counter_volume='NaN')
    app.post_json('/v2/meters/cpu', batch, headers=hc.ADMIN, status=400)
    batch[-1] = hc.sample('other', 'bad')
    app.post_json('/v2/meters/cpu', batch, headers=hc.ADMIN, status=400)
    assert app.get('/v2/samples', headers=hc.ADMIN).json == []
    assert app.get('/v2/meters', headers=hc.ADMIN).json == []
    assert app.get('/v2/resources', headers=hc.ADMIN).json == []
