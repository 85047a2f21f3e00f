"""Percentile maths and latency summaries of the benchmark."""

import statistics

import pytest

from tools.bench import timing


@pytest.mark.parametrize('q, expected', [(0, 1), (50, 5.5), (95, 9.55), (100, 10), (25, 3.25)])
def test_percentile_interpolates_linearly_between_ranks(q, expected):
    assert timing.percentile(list(range(10, 0, -1)), q) == pytest.approx(expected)


def test_percentile_matches_statistics_quantiles_inclusive():
    values = [0.7, 3.1, 2.2, 9.0, 4.4, 4.4, 1.0, 12.5, 6.25, 3.0, 8.0]
    cuts = statistics.quantiles(values, n=20, method='inclusive')
    assert timing.percentile(values, 50) == pytest.approx(cuts[9])
    assert timing.percentile(values, 95) == pytest.approx(cuts[18])


def test_percentile_of_one_value_is_that_value():
    assert timing.percentile([4.2], 95) == 4.2


@pytest.mark.parametrize('values, q', [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_rejects_no_values_and_bad_q(values, q):
    with pytest.raises(ValueError):
        timing.percentile(values, q)


def test_summarize_reports_milliseconds():
    summary = timing.summarize([0.001 * i for i in range(1, 21)])
    assert summary == {'n': 20, 'p50_ms': 10.5, 'p95_ms': 19.05, 'min_ms': 1.0,
                       'max_ms': 20.0, 'mean_ms': 10.5}


def test_measure_runs_warmup_untimed_then_repeat_timed():
    calls = []
    durations = timing.measure(lambda: calls.append(1), repeat=20, warmup=3)
    assert len(calls) == 23
    assert len(durations) == 20 and all(d >= 0 for d in durations)


def test_measure_interleaved_alternates_the_calls_within_each_round():
    order = []
    durations = timing.measure_interleaved(
        [lambda: order.append('a'), lambda: order.append('b')], repeat=3, warmup=1)
    assert order == ['a', 'b'] * 4
    assert [len(d) for d in durations] == [3, 3]
