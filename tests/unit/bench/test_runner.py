"""The benchmark command: option checks and how runs per backend are assembled."""

import json

import pytest

from tools.bench import runner


@pytest.mark.parametrize('argv, message', [
    (['--scale', '1500'], 'multiple of 1000'),
    (['--repeat', '0'], '--repeat'),
    (['--server-pid', '12'], 'need --url'),
    (['--no-load'], 'need --url'),
])
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        runner.parse_args(argv)
    assert message in capsys.readouterr().err


def test_defaults_are_the_full_workload():
    args = runner.parse_args([])
    assert (args.scale, args.repeat, args.clients, args.concurrency_clients,
            args.concurrency_seconds, args.stream_limit) == (1_000_000, 20, 4, 10, 10.0,
                                                             1_000_000)


def test_each_backend_is_run_and_only_sqlite_is_set_against_the_sqlite_limits(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('METERD_TEST_MONGODB_URL', 'mongodb://127.0.0.1:27017/meterd')
    seen = []

    class FakeRawQueries:
        QUERIES = {'R3': 'SELECT 1'}
        closed = False

        def __init__(self, data, path):
            pass

        def close(self):
            FakeRawQueries.closed = True

    def fake_run_backend(name, data, args, workdir, raw=None):
        seen.append((name, data.total, raw is not None))
        results = {'R3': {'p50_ms': 6.0}, 'R4': {'p50_ms': 8.0}}
        if raw is not None:
            results['raw'] = {'R3': {'p50_ms': 5.0}}
        return {'url': name, 'results': results}

    def fake_reference(data, args, workdir):
        return {'R3': {'p50_ms': 4.0}, 'R4': {'p50_ms': 2.0}}

    monkeypatch.setattr(runner, 'run_backend', fake_run_backend)
    monkeypatch.setattr(runner, 'measure_reference', fake_reference)
    monkeypatch.setattr(runner.reference, 'RawQueries', FakeRawQueries)
    out = tmp_path / 'bench.json'
    assert runner.main(['--scale', '2000', '--json', str(out)]) == 0
    assert seen == [('sqlite', 2000, True), ('mongodb', 2000, False)]
    assert FakeRawQueries.closed
    document = json.loads(out.read_text())
    checks = {name: {c['id']: c for c in run['checks']}
              for name, run in document['runs'].items()}
    # R3 against the interleaved raw figure, R4 against the stand-alone one.
    assert checks['sqlite']['R3']['ref_ratio'] == 1.2
    assert checks['sqlite']['R4']['ref_ratio'] == 4.0
    assert checks['mongodb']['R3']['ref_ratio'] is None
    assert document['scale'] == 2000 and document['machine']['nproc'] >= 1
    printed = capsys.readouterr().out
    assert 'meterd on sqlite' in printed and 'meterd on mongodb' in printed


def test_the_bare_http_limit_runs_only_where_limits_are_and_lands_beside_the_raw_sql(
        monkeypatch):
    calls = []
    for name in ('single_post', 'reads', 'concurrency', 'http_limit', 'streaming',
                 'query_streaming', 'memory'):
        monkeypatch.setattr(runner.workloads, name,
                            lambda *a, _n=name, **k: calls.append(_n) or {'n': _n})
    monkeypatch.setattr(runner, 'log', lambda message: None)
    args = runner.parse_args([])
    with_limits = runner.run_workloads(object(), args, None, load=False, raw=object())
    assert calls == ['single_post', 'reads', 'concurrency', 'http_limit', 'streaming',
                     'query_streaming', 'memory']
    assert with_limits['raw'] == {'C': {'n': 'http_limit'}} and 'C0' not in with_limits
    calls.clear()
    runner.run_workloads(object(), args, None, load=False, raw=None)
    assert 'http_limit' not in calls
