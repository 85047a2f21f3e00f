"""The benchmark run: reference limits, then per backend a server, the workloads, the report."""

import argparse
import datetime
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time

from tools.bench import dataset as bench_dataset
from tools.bench import reference
from tools.bench import report
from tools.bench import server as bench_server
from tools.bench import workloads


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='python -m tools.bench',
        description='Load a seeded metering dataset into meterd over HTTP and measure ingest, '
                    'reads, concurrency and memory against the raw SQLite limits of this '
                    'machine.')
    parser.add_argument('--scale', type=int, default=bench_dataset.FULL_SCALE,
                        help='samples in the dataset, a multiple of 1000 (default 1,000,000; '
                             '100000 for a quick run)')
    parser.add_argument('--seed', type=int, default=42, help='dataset seed (default 42)')
    parser.add_argument('--repeat', type=int, default=20,
                        help='timed requests per read figure (default 20)')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed requests before each read figure (default 3)')
    parser.add_argument('--backend', action='append', choices=bench_server.BACKENDS,
                        help='database(s) to run meterd on (repeatable; default sqlite, '
                             'plus mongodb when METERD_TEST_MONGODB_URL is set; postgresql '
                             'reads METERD_TEST_POSTGRESQL_URL)')
    parser.add_argument('--url', help='measure a running meterd-api (noauth) at this URL '
                                      'instead of starting one')
    parser.add_argument('--server-pid', type=int,
                        help='with --url: its process id, for the memory figures')
    parser.add_argument('--no-load', action='store_true',
                        help='with --url: the dataset is already loaded; skip W1')
    parser.add_argument('--skip-reference', action='store_true',
                        help='do not measure the raw sqlite3 limits')
    parser.add_argument('--clients', type=int, default=4, help='W1 ingest clients (default 4)')
    parser.add_argument('--concurrency-clients', type=int, default=10,
                        help='C: concurrent clients (default 10)')
    parser.add_argument('--concurrency-seconds', type=float, default=10.0,
                        help='C: seconds of load (default 10)')
    parser.add_argument('--stream-limit', type=int, default=1_000_000,
                        help='S, S2: the limit of the streamed /v2/samples request and '
                             'complex query')
    parser.add_argument('--json', default='bench-results.json',
                        help='where to write the JSON results (default ./bench-results.json)')
    parser.add_argument('--workdir', help='directory for databases and logs (default: a '
                                          'temporary one, removed afterwards)')
    args = parser.parse_args(argv)
    try:
        bench_dataset.Dataset.from_scale(args.scale, args.seed)
    except ValueError as err:
        parser.error(f'--scale: {err}')
    if args.repeat < 1 or args.warmup < 0:
        parser.error('--repeat must be >= 1 and --warmup >= 0')
    if (args.server_pid or args.no_load) and not args.url:
        parser.error('--server-pid and --no-load need --url')
    return args


def machine():
    """What the figures were measured on."""
    info = {'nproc': os.cpu_count(), 'python': platform.python_version(),
            'sqlite': sqlite3.sqlite_version, 'platform': platform.platform()}
    try:
        import psutil
        info['memory_mb'] = round(psutil.virtual_memory().total / report.MB)
    except ImportError:
        pass
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['cpu'] = line.split(':', 1)[1].strip()
                    break
        info['loadavg_at_start'] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def log(message):
    print(f'[{time.strftime("%H:%M:%S")}] {message}', file=sys.stderr, flush=True)


def run_workloads(ctx, args, target, load=True, raw=None):
    """Every workload against one server; failures are recorded, not fatal.

    ``raw``: the reference queries to interleave with R3/R4 (SQLite runs).
    """
    results = {}
    steps = []
    if load:
        steps.append(('W1', lambda: workloads.ingest(ctx, clients=args.clients)))
    steps += [
        ('W2', lambda: workloads.single_post(ctx)),
        ('R', lambda: workloads.reads(ctx, raw)),
        ('C', lambda: workloads.concurrency(ctx, clients=args.concurrency_clients,
                                            seconds=args.concurrency_seconds)),
    ]
    if raw is not None:  # the run is set against limits: C's is the bare HTTP stack
        steps.append(('C0', lambda: workloads.http_limit(
            ctx, clients=args.concurrency_clients, seconds=args.concurrency_seconds)))
    steps += [
        ('S', lambda: workloads.streaming(ctx, limit=args.stream_limit)),
        ('S2', lambda: workloads.query_streaming(ctx, limit=args.stream_limit)),
        ('M', lambda: workloads.memory(ctx, target)),
    ]
    for name, step in steps:
        log(f'{name} ...')
        t0 = time.perf_counter()
        try:
            out = step()
        except Exception as err:
            out = {'error': str(err)[:500]}
        if name == 'R':
            results.update(out)
        elif name == 'C0':  # a limit, like the bare SQL of R3/R4
            results.setdefault('raw', {})['C'] = out
        else:
            results[name] = out
        log(f'{name} done in {time.perf_counter() - t0:.1f}s'
            + (f': {out["error"]}' if 'error' in out else ''))
    return results


def reference_path(workdir):
    return os.path.join(workdir, 'reference.sqlite')


def measure_reference(data, args, workdir):
    """The raw limits; the reference database stays for the interleaved R3/R4."""
    path = reference_path(workdir)
    log(f'reference: raw sqlite3 insert of {data.total:,} rows ...')
    ref = {'insert': reference.insert_rate(data, path)}
    log(f'reference: {ref["insert"]["rows_per_s"]:,.0f} rows/s; R3/R4 bare SQL ...')
    ref.update(reference.query_limits(data, path, args.repeat, args.warmup))
    return ref


def run_reference(document, name):
    """The limits a run is judged against: SQLite runs only, with the R3/R4 figures
    measured interleaved with that run's requests when there are some."""
    if name not in ('sqlite', 'url') or 'reference' not in document:
        return None
    ref = dict(document['reference'])
    ref.update(document['runs'][name]['results'].get('raw', {}))
    return ref


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    data = bench_dataset.Dataset.from_scale(args.scale, args.seed)
    workdir = args.workdir or tempfile.mkdtemp(prefix='meterd-bench-')
    os.makedirs(workdir, exist_ok=True)
    document = {'date': datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec='seconds'),
                'machine': machine(), 'scale': data.total, 'seed': data.seed,
                'repeat': args.repeat, 'warmup': args.warmup, 'runs': {}}
    log(f'dataset: {data.resources:,} resources x {len(bench_dataset.METERS)} meters x '
        f'{data.samples_per_pair} samples = {data.total:,}; workdir {workdir}')
    raw = None
    try:
        if not args.skip_reference:
            document['reference'] = measure_reference(data, args, workdir)
            raw = reference.RawQueries(data, reference_path(workdir))
        if args.url:
            ctx = workloads.Context(args.url, data, args.repeat, args.warmup, args.server_pid)
            document['runs']['url'] = {'url': args.url, 'results': run_workloads(
                ctx, args, None, load=not args.no_load, raw=raw)}
        else:
            names = bench_server.backend_names(args.backend, os.environ)
            for name in names:
                document['runs'][name] = run_backend(
                    name, data, args, workdir, raw if name == 'sqlite' else None)
    finally:
        if raw is not None:
            raw.close()
        if args.workdir:
            for suffix in ('', '-wal', '-shm'):
                if os.path.exists(reference_path(workdir) + suffix):
                    os.remove(reference_path(workdir) + suffix)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    for name, run in document['runs'].items():
        run['checks'] = report.evaluate(run['results'], run_reference(document, name))
        print(f'\nmeterd on {name} - {data.total:,} samples - {document["date"]} - '
              f'{document["machine"].get("nproc")} CPUs, '
              f'{document["machine"].get("memory_mb")} MB')
        print(report.table(run['checks']))
    report.write_json(args.json, document)
    print(f'\nJSON results: {os.path.abspath(args.json)}')
    return 0


def run_backend(name, data, args, workdir, raw=None):
    run_id = f'{os.getpid()}_{int(time.time())}'
    target = bench_server.backend(name, workdir, os.environ, run_id)
    bench_server.create_database(target)
    proc = bench_server.ServerProcess(target, workdir)
    log(f'{name}: starting meterd-api on {proc.base_url}')
    try:
        proc.start()
        ctx = workloads.Context(proc.base_url, data, args.repeat, args.warmup, proc.pid)
        results = run_workloads(ctx, args, target, raw=raw)
    finally:
        proc.stop()
        if name != 'sqlite':
            bench_server.drop_database(target)
    return {'url': storage_label(target), 'results': results}


def storage_label(target):
    """The backend without credentials, for the report."""
    from meterd import storage
    return storage.mask_url(target.url) if target.name != 'sqlite' else 'sqlite (temporary file)'
