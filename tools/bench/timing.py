"""Percentiles and latency summaries: the arithmetic behind every figure in the report."""

import math
import time


def percentile(values, q):
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks.

    The same definition as numpy's default and ``statistics.quantiles(...,
    method='inclusive')``: rank ``(n - 1) * q / 100`` in the sorted values.

    :raises ValueError: no values, or ``q`` outside 0..100.
    """
    if not values:
        raise ValueError('percentile of no values')
    if not 0 <= q <= 100:
        raise ValueError('q must be within 0..100')
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(seconds):
    """``{n, p50_ms, p95_ms, min_ms, max_ms, mean_ms}`` of durations given in seconds."""
    ms = [s * 1000.0 for s in seconds]
    return {'n': len(ms),
            'p50_ms': round(percentile(ms, 50), 3),
            'p95_ms': round(percentile(ms, 95), 3),
            'min_ms': round(min(ms), 3),
            'max_ms': round(max(ms), 3),
            'mean_ms': round(sum(ms) / len(ms), 3)}


def measure(call, repeat, warmup):
    """Run ``call()`` ``warmup`` times untimed, then ``repeat`` times timed; the durations."""
    for _ in range(warmup):
        call()
    durations = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        durations.append(time.perf_counter() - t0)
    return durations


def measure_interleaved(calls, repeat, warmup):
    """Like ``measure`` for several calls taken in turn within each round, so that
    figures compared as a ratio see the same moments of a noisy machine.

    :returns: one list of durations per call, in the order of ``calls``.
    """
    for _ in range(warmup):
        for call in calls:
            call()
    durations = [[] for _ in calls]
    for _ in range(repeat):
        for call, out in zip(calls, durations):
            t0 = time.perf_counter()
            call()
            out.append(time.perf_counter() - t0)
    return durations
