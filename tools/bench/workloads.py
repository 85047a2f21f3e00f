"""The measured workloads: W1/W2 writes, R1-R8 reads, C concurrency, S/S2 streaming, M memory.

Each takes a ``Context`` and returns a plain dict for the report. Requests
vary the resource they ask about (a fixed stride through the resource
table) so no figure is one cached row. Every loop is bounded by a count or a
deadline; every client talks to 127.0.0.1 only.
"""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

from tools.bench import client as bench_client
from tools.bench import dataset as bench_dataset
from tools.bench import server as bench_server
from tools.bench import timing

_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: The meter of the single-sample POSTs (kept apart from the dataset's meters).
W2_METER = 'bench.latency'
STAT_METER = 'cpu_util'


@dataclasses.dataclass
class Context:
    base_url: str
    dataset: bench_dataset.Dataset
    repeat: int = 20
    warmup: int = 3
    pid: int | None = None
    resources: list = dataclasses.field(default_factory=list)

    def __post_init__(self):
        if not self.resources:
            self.resources = self.dataset.resource_table()

    def client(self):
        return bench_client.Client(self.base_url)

    def rotating(self):
        """An endless, deterministic walk over the resources (stride coprime to most sizes)."""
        n = len(self.resources)
        i = 0
        while True:
            yield self.resources[(i * 7919) % n]
            i += 1

    def window(self):
        """q terms for the dataset's 30 days."""
        return [('timestamp', 'ge', self.dataset.start.isoformat()),
                ('timestamp', 'lt', self.dataset.end.isoformat())]


def _timed(ctx, request, raw=None):
    """Summary of ``request()`` after warm-up, plus the item count of the last answer.

    With ``raw`` (a no-argument callable running the reference query), the two
    are timed in turn and ``(meterd summary, raw summary)`` is returned.
    """
    last = {}

    def call():
        last['resp'] = request()

    if raw is None:
        summary = timing.summarize(timing.measure(call, ctx.repeat, ctx.warmup))
    else:
        ours, theirs = timing.measure_interleaved([call, raw], ctx.repeat, ctx.warmup)
        summary = timing.summarize(ours)
    body = last['resp'].json()
    summary['items'] = len(body) if isinstance(body, list) else 1
    return summary if raw is None else (summary, timing.summarize(theirs))


# -- writes ------------------------------------------------------------------

def spool_bodies(dataset, batch, directory=None):
    """Every W1 body, JSON-encoded before the clock starts, in an unlinked temporary file.

    Building and encoding the samples is client work (about 10 us a sample,
    on the cores the server runs on) that the ingest rate must not include;
    the raw reference likewise builds its rows before its timed section. At
    full scale the bodies take ~540 MB: a list of them would be that much
    client RSS, while in a file they are page cache the kernel may write
    back. The index holds ``(meter, offset, length, samples)`` per body, a few
    MB at 1,000,000 samples; a worker reads a body with one ``os.pread``.

    :returns: (open binary file, index in posting order). Close the file.
    """
    spool = tempfile.TemporaryFile(dir=directory)
    index, offset = [], 0
    try:
        for meter, samples in dataset.batches(batch):
            body = json.dumps(samples).encode()
            spool.write(body)
            index.append((meter, offset, len(body), len(samples)))
            offset += len(body)
        spool.flush()
    except BaseException:
        spool.close()
        raise
    return spool, index


def ingest(ctx, clients=4, batch=100, visible_timeout=120):
    """W1: the whole dataset in ``batch``-sample POSTs from ``clients`` threads.

    The bodies are encoded first (``spool_bodies``); the clock covers the
    POSTs only. The rate counts until the data is queryable: after the last
    201 the statistics of every meter are polled until they count every sample.
    """
    spool, index = spool_bodies(ctx.dataset, batch)
    try:
        return _post_bodies(ctx, spool.fileno(), index, clients, batch, visible_timeout)
    finally:
        spool.close()


def _post_bodies(ctx, fd, index, clients, batch, visible_timeout):
    bodies = iter(index)
    lock = threading.Lock()
    latencies = [[] for _ in range(clients)]
    errors = []
    posted = [0] * clients
    connected = threading.Barrier(clients + 1)

    def worker(slot):
        http = ctx.client()
        try:
            try:
                http.get('/')  # connect before the clock starts
            finally:
                connected.wait()
            while not errors:
                with lock:
                    item = next(bodies, None)
                if item is None:
                    return
                meter, offset, length, count = item
                body = os.pread(fd, length, offset)
                t0 = time.perf_counter()
                http.post('/v2/meters/' + meter, body, expect=(201,))
                latencies[slot].append(time.perf_counter() - t0)
                posted[slot] += count
        except Exception as err:  # reported, and stops the other workers
            errors.append(repr(err))
        finally:
            http.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    connected.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    t_last = time.perf_counter()
    if errors:
        raise RuntimeError(f'ingest failed: {errors[0]}')
    total = sum(posted)
    out = {'samples': total, 'clients': clients, 'batch': batch,
           'seconds': round(t_last - t0, 3),
           'samples_per_s': round(total / (t_last - t0), 1),
           'post': timing.summarize([d for per in latencies for d in per])}
    try:
        visible_after = _wait_visible(ctx, t_last, visible_timeout)
    except Exception as err:  # the ingest figures stand; the report shows why W1 has none
        out['visible_error'] = str(err)[:300]
    else:
        out['visible_after_s'] = round(visible_after, 3)
        out['queryable_samples_per_s'] = round(total / (t_last - t0 + visible_after), 1)
    return out


def _wait_visible(ctx, t_last, timeout):
    """Seconds from the last 201 to the start of the poll that saw every sample."""
    http = ctx.client()
    expected = ctx.dataset.samples_per_meter
    deadline = time.perf_counter() + timeout
    try:
        while True:
            started = time.perf_counter()
            counts = []
            for meter in bench_dataset.METER_NAMES:
                stats = http.get(f'/v2/meters/{meter}/statistics').json()
                counts.append(sum(s['count'] for s in stats))
            if all(c == expected for c in counts):
                return started - t_last
            if started > deadline:
                raise RuntimeError(f'not all samples visible after {timeout}s: {counts}, '
                                   f'expected {expected} per meter')
            time.sleep(0.05)
    finally:
        http.close()


def single_post(ctx):
    """W2: one-sample POSTs, one after another."""
    http = ctx.client()
    resources = ctx.rotating()

    def request():
        r = next(resources)
        return http.post('/v2/meters/' + W2_METER, [{
            'counter_name': W2_METER, 'counter_type': 'gauge', 'counter_unit': 'ms',
            'counter_volume': 1.5, 'resource_id': r.resource_id,
            'project_id': r.project_id, 'user_id': r.user_id,
            'resource_metadata': ctx.dataset.metadata(r, 0)}], expect=(201,))

    try:
        return _timed(ctx, request)
    finally:
        http.close()


# -- reads -------------------------------------------------------------------

def _complex_query_body(ctx):
    """R6: 100 of one meter's samples, largest volume first, over a set of 20
    resources and one flavor (the set's most common)."""
    chosen = ctx.resources[:20]
    flavors = [r.flavor[0] for r in chosen]
    flavor = max(sorted(set(flavors)), key=flavors.count)
    expr = {'and': [{'=': {'meter': STAT_METER}},
                    {'in': {'resource': [r.resource_id for r in chosen]}},
                    {'=': {'metadata.flavor.name': flavor}}]}
    return {'filter': json.dumps(expr), 'orderby': json.dumps([{'volume': 'desc'}]),
            'limit': 100}


def reads(ctx, raw=None):
    """R1-R8, each its median and p95 over ``ctx.repeat`` requests after warm-up.

    With ``raw`` (a ``reference.RawQueries``), R3 and R4 alternate with their
    bare-SQL references; those figures go to ``out['raw']``.
    """
    http = ctx.client()
    walk = ctx.rotating()
    window = ctx.window()
    hourly = bench_client.q(*window) + [('period', '3600')]
    grouped = bench_client.q(*window) + [('groupby', 'resource_id')]
    grouped_agg = grouped + [('aggregate.func', 'cardinality'),
                             ('aggregate.param', 'user_id'),
                             ('aggregate.func', 'stddev')]
    query_body = _complex_query_body(ctx)
    stat_path = f'/v2/meters/{STAT_METER}/statistics'
    cases = {
        'R1_100': lambda: http.get('/v2/meters', [('limit', '100')]),
        'R1_all': lambda: http.get('/v2/meters', [('limit', '1000000')]),
        'R2': lambda: http.get(f'/v2/meters/{STAT_METER}', bench_client.q(
            ('resource_id', 'eq', next(walk).resource_id)) + [('limit', '100')]),
        'R3': lambda: http.get(stat_path, hourly),
        'R4': lambda: http.get(stat_path, grouped),
        'R4_agg': lambda: http.get(stat_path, grouped_agg),
        'R5': lambda: http.get(stat_path, bench_client.q(
            ('resource_id', 'eq', next(walk).resource_id))),
        'R6': lambda: http.post('/v2/query/samples', query_body),
        'R7_list': lambda: http.get('/v2/resources'),
        'R7_show': lambda: http.get('/v2/resources/' + next(walk).resource_id),
        'R8_list': lambda: http.get('/v2/samples'),
    }
    out = {}
    try:
        for name, request in cases.items():
            try:
                if raw is not None and name in raw.QUERIES:
                    out[name], ref = _timed(ctx, request, lambda n=name: raw.run(n))
                    out.setdefault('raw', {})[name] = ref
                else:
                    out[name] = _timed(ctx, request)
            except Exception as err:  # one broken endpoint must not hide the others
                out[name] = {'error': str(err)[:300]}
        try:
            ids = [s['id'] for s in http.get('/v2/samples', [('limit', '50')]).json()]
            pick = iter(ids * (1 + (ctx.repeat + ctx.warmup) // max(1, len(ids))))
            out['R8_show'] = _timed(ctx, lambda: http.get('/v2/samples/' + next(pick)))
        except Exception as err:
            out['R8_show'] = {'error': str(err)[:300]}
    finally:
        http.close()
    return out


def concurrency(ctx, clients=10, seconds=10.0, max_requests=1_000_000):
    """C: R2 from ``clients`` threads with keep-alive connections for ``seconds``."""
    counts = [0] * clients
    latencies = [[] for _ in range(clients)]
    errors = []
    start = threading.Barrier(clients + 1)
    stop_at = []

    def worker(slot):
        http = ctx.client()
        n = len(ctx.resources)
        i = slot
        try:
            http.get('/')  # connect before the clock starts
            start.wait()
            while time.perf_counter() < stop_at[0] and counts[slot] < max_requests:
                r = ctx.resources[(i * 7919) % n]
                i += clients
                t0 = time.perf_counter()
                http.get(f'/v2/meters/{STAT_METER}',
                         bench_client.q(('resource_id', 'eq', r.resource_id))
                         + [('limit', '100')])
                latencies[slot].append(time.perf_counter() - t0)
                counts[slot] += 1
        except Exception as err:
            errors.append(repr(err))
        finally:
            http.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at.append(time.perf_counter() + seconds)
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f'concurrency failed: {errors[0]}')
    total = sum(counts)
    return dict(timing.summarize([d for per in latencies for d in per]),
                clients=clients, seconds=round(elapsed, 3), requests=total,
                req_per_s=round(total / elapsed, 1))


def http_limit(ctx, clients=10, seconds=10.0):
    """C against the bare HTTP stack (``bare_http``) answering one R2 answer of meterd's."""
    http = ctx.client()
    try:
        body = http.get(f'/v2/meters/{STAT_METER}', bench_client.q(
            ('resource_id', 'eq', ctx.resources[0].resource_id)) + [('limit', '100')]).body
    finally:
        http.close()
    with tempfile.NamedTemporaryFile(suffix='.json') as f:
        f.write(body)
        f.flush()
        proc = subprocess.Popen([sys.executable, '-m', 'tools.bench.bare_http', f.name],
                                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                cwd=_PROJECT_ROOT)
        try:
            port = int(proc.stdout.readline())
            bare = dataclasses.replace(ctx, base_url=f'http://127.0.0.1:{port}', pid=None)
            result = concurrency(bare, clients=clients, seconds=seconds)
        finally:
            proc.terminate()
            proc.wait(30)
    return dict(result, body_bytes=len(body))


def streaming(ctx, limit=1_000_000, interval=0.02):
    """S: one client asks for ``limit`` samples; the server's RSS before, at peak
    (sampled every ``interval`` s during the answer) and after."""
    return _streamed(ctx, limit, interval, '/v2/samples', params=[('limit', str(limit))])


def query_streaming(ctx, limit=1_000_000, interval=0.02):
    """S2: S for a complex query of ``limit`` samples ordered by volume, an order
    no index gives: the database sorts them all before the first is sent."""
    body = {'orderby': json.dumps([{'counter_volume': 'desc'}]), 'limit': limit}
    return _streamed(ctx, limit, interval, '/v2/query/samples', method='POST', body=body)


def _streamed(ctx, limit, interval, path, **request):
    if ctx.pid is None:
        return {'error': 'server pid unknown (give --server-pid with --url)'}
    http = ctx.client()
    before = bench_server.rss_bytes(ctx.pid)
    peak = [before]
    done = threading.Event()

    def sampler():
        while not done.is_set():
            peak[0] = max(peak[0], bench_server.rss_bytes(ctx.pid))
            done.wait(interval)

    watcher = threading.Thread(target=sampler, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    try:
        _status, size = http.stream(path, **request)
    finally:
        elapsed = time.perf_counter() - t0
        done.set()
        watcher.join()
        http.close()
    after = bench_server.rss_bytes(ctx.pid)
    return {'limit': limit, 'answer_bytes': size, 'seconds': round(elapsed, 3),
            'rss_before': before, 'rss_peak': peak[0], 'rss_after': after,
            'peak_growth_ratio': round((peak[0] - before) / size, 4) if size else None}


def memory(ctx, target):
    """M: server RSS now (after the run) and the database's size on disk."""
    out = {}
    if ctx.pid is not None:
        out['rss_bytes'] = bench_server.rss_bytes(ctx.pid)
    if target is not None:
        out['db_bytes'] = bench_server.database_size(target)
    return out
