"""W1 ingest: bodies are encoded before the clock, each posted once, failures stop the run."""

import json
import os
import threading

import pytest

from tools.bench import client as bench_client
from tools.bench import dataset
from tools.bench import workloads


def small():
    return dataset.Dataset(seed=7, resources=7, samples_per_pair=3, projects=3, users=5)


class FakeClient:
    """Records the POSTs; answers the statistics poll with what was posted so far."""

    def __init__(self, server):
        self.server = server

    def get(self, path, params=None, **kwargs):
        if path == '/':
            return bench_client.Response(200, b'{}')
        meter = path.split('/')[3]
        with self.server.lock:
            count = sum(len(json.loads(b)) for m, b in self.server.posts if m == meter)
        return bench_client.Response(200, json.dumps([{'count': count}]).encode())

    def post(self, path, body, params=None, expect=(200,)):
        assert isinstance(body, bytes)
        meter = path.rsplit('/', 1)[1]
        with self.server.lock:
            self.server.posts.append((meter, body))
            fail = len(self.server.posts) == self.server.fail_at
        if fail:
            raise bench_client.HTTPError(f'POST {path} -> 500')
        return bench_client.Response(201, b'[]')

    def close(self):
        pass


class FakeServer:
    def __init__(self, fail_at=None):
        self.lock = threading.Lock()
        self.posts = []
        self.fail_at = fail_at


def context(data, server):
    ctx = workloads.Context(base_url='http://127.0.0.1:1', dataset=data)
    ctx.client = lambda: FakeClient(server)
    return ctx


def test_spooled_bodies_are_the_json_of_every_batch_in_order(tmp_path):
    data = small()
    spool, index = workloads.spool_bodies(data, 3, directory=tmp_path)
    try:
        read = [(meter, json.loads(os.pread(spool.fileno(), length, offset)), count)
                for meter, offset, length, count in index]
    finally:
        spool.close()
    assert read == [(meter, samples, len(samples)) for meter, samples in data.batches(3)]
    assert sum(count for _, _, _, count in index) == data.total
    assert list(tmp_path.iterdir()) == []  # unlinked: nothing is left behind


def test_ingest_posts_every_body_once_and_waits_until_all_are_counted():
    data = small()
    server = FakeServer()
    out = workloads.ingest(context(data, server), clients=3, batch=4)
    expected = [(meter, json.dumps(samples).encode()) for meter, samples in data.batches(4)]
    assert sorted(server.posts) == sorted(expected)
    assert (out['samples'], out['clients'], out['batch']) == (data.total, 3, 4)
    assert out['post']['n'] == len(expected)
    assert out['samples_per_s'] > 0 and 'visible_after_s' in out
    assert out['queryable_samples_per_s'] <= out['samples_per_s']


def test_a_failed_post_stops_the_ingest():
    server = FakeServer(fail_at=5)
    with pytest.raises(RuntimeError, match='ingest failed: .*500'):
        workloads.ingest(context(small(), server), clients=2, batch=2)
    assert len(server.posts) < small().batch_count(2)


def test_the_http_limit_serves_meterd_s_answer_from_the_bare_stack(monkeypatch):
    """A real bare_http process: every request gets the bytes of one R2 answer."""
    answer = json.dumps([{'counter_name': 'cpu_util', 'counter_volume': 1.0}] * 5).encode()

    class OneAnswer:
        def get(self, path, params=None, **kwargs):
            assert path == '/v2/meters/cpu_util'
            return bench_client.Response(200, answer)

        def close(self):
            pass

    ctx = workloads.Context('http://127.0.0.1:9', small())
    monkeypatch.setattr(workloads.Context, 'client',
                        lambda self: OneAnswer() if self.base_url.endswith(':9')
                        else bench_client.Client(self.base_url))
    result = workloads.http_limit(ctx, clients=2, seconds=0.5)
    assert result['body_bytes'] == len(answer)
    assert result['requests'] > 0 and result['req_per_s'] > 0
