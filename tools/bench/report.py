"""The targets of the performance issue, each figure set against them, as a table and JSON."""

import dataclasses
import json
import math

MB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Target:
    """One reported figure: where it comes from in the results and what it must reach.

    ``goal`` is an absolute target in ``unit``; ``ref`` names a reference
    limit (``reference`` results: (workload, field)) and ``ref_goal`` the
    ratio to it that must hold. ``higher`` says which direction is better.
    """

    id: str
    label: str
    source: tuple
    unit: str
    higher: bool = False
    goal: float | None = None
    ref: tuple | None = None
    ref_goal: float | None = None
    scale: float = 1.0


TARGETS = (
    Target('W1', 'ingest, queryable on 201', ('W1', 'queryable_samples_per_s'), 'samples/s',
           higher=True, goal=25000, ref=('insert', 'rows_per_s'), ref_goal=0.4),
    Target('W1a', 'ingest until the last 201', ('W1', 'samples_per_s'), 'samples/s',
           higher=True),
    Target('W1p', 'ingest POST of 100 samples, p50', ('W1', 'post', 'p50_ms'), 'ms'),
    Target('W2', 'single-sample POST, p50', ('W2', 'p50_ms'), 'ms', goal=2),
    Target('R1', 'GET /v2/meters limit=100, p50', ('R1_100', 'p50_ms'), 'ms', goal=10),
    Target('R1*', 'GET /v2/meters unlimited, p50', ('R1_all', 'p50_ms'), 'ms', goal=150),
    Target('R2', 'sample page of meter+resource, p50', ('R2', 'p50_ms'), 'ms', goal=5),
    Target('C', 'R2 from 10 clients', ('C', 'req_per_s'), 'req/s', higher=True, goal=1500,
           ref=('C', 'req_per_s')),
    Target('R3', 'hourly statistics, 30 days, p50', ('R3', 'p50_ms'), 'ms',
           ref=('R3', 'p50_ms'), ref_goal=1.3),
    Target('R4', 'statistics groupby resource, p50', ('R4', 'p50_ms'), 'ms', goal=80,
           ref=('R4', 'p50_ms')),
    Target('R4+', '... + stddev + cardinality, p50', ('R4_agg', 'p50_ms'), 'ms', goal=100,
           ref=('R4_agg', 'p50_ms')),
    Target('R5', 'statistics of one resource, p50', ('R5', 'p50_ms'), 'ms'),
    Target('R6', 'complex query, p50', ('R6', 'p50_ms'), 'ms', goal=50),
    Target('R7', 'GET /v2/resources page, p50', ('R7_list', 'p50_ms'), 'ms', goal=10),
    Target('R7s', 'GET /v2/resources/{id}, p50', ('R7_show', 'p50_ms'), 'ms', goal=3),
    Target('R8', 'GET /v2/samples page, p50', ('R8_list', 'p50_ms'), 'ms'),
    Target('R8s', 'GET /v2/samples/{id}, p50', ('R8_show', 'p50_ms'), 'ms'),
    Target('S', 'stream 1M samples: RSS peak growth / answer', ('S', 'peak_growth_ratio'),
           'x', goal=0.1),
    Target('S2', '... as a complex query by volume', ('S2', 'peak_growth_ratio'), 'x',
           goal=0.1),
    Target('M', 'server RSS after the run', ('M', 'rss_bytes'), 'MB', goal=120, scale=MB),
    Target('Mdb', 'database size', ('M', 'db_bytes'), 'MB', scale=MB),
)


def lookup(results, path):
    """``results[a][b]...`` or None when any step is missing."""
    value = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _meets(value, goal, higher):
    return value >= goal if higher else value <= goal


def evaluate(results, reference=None):
    """One dict per target: value, goal, ratio, reference, ratio to it and verdict.

    ``ok`` is True when every stated goal holds, False when one is missed,
    None when the figure has no goal or was not measured.
    """
    rows = []
    for t in TARGETS:
        raw = lookup(results, t.source)
        value = raw / t.scale if isinstance(raw, (int, float)) else None
        row = {'id': t.id, 'label': t.label, 'unit': t.unit, 'value': value,
               'higher_is_better': t.higher, 'goal': t.goal, 'ratio': None,
               'reference': None, 'ref_ratio': None, 'ref_goal': t.ref_goal, 'ok': None,
               'error': (lookup(results, t.source[:1] + ('error',))
                         or (lookup(results, t.source[:1] + ('visible_error',))
                             if value is None else None))}
        verdicts = []
        if value is not None and t.goal is not None:
            row['ratio'] = value / t.goal
            verdicts.append(_meets(value, t.goal, t.higher))
        ref = lookup(reference or {}, t.ref) if t.ref else None
        if value is not None and isinstance(ref, (int, float)) and ref > 0:
            row['reference'] = ref
            row['ref_ratio'] = value / ref
            if t.ref_goal is not None:
                verdicts.append(_meets(row['ref_ratio'], t.ref_goal, t.higher))
        if verdicts:
            row['ok'] = all(verdicts)
        rows.append(row)
    return rows


def _num(value):
    if value is None:
        return '-'
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000:
        return f'{value:,.0f}'
    if abs(value) >= 100:
        return f'{value:.1f}'
    return f'{value:.3g}' if abs(value) < 1 else f'{value:.2f}'


def _goal(goal, higher, suffix=''):
    if goal is None:
        return '-'
    return ('>= ' if higher else '<= ') + _num(goal) + suffix


def table(rows):
    """The rows as a fixed-width text table."""
    header = ('id', 'figure', 'meterd', 'unit', 'target', 'ratio', 'limit', 'x limit',
              'target', 'ok')
    lines = []
    for r in rows:
        if r['error']:
            lines.append((r['id'], r['label'], 'error', '', '', '', '', '', '', 'ERR'))
            continue
        lines.append((
            r['id'], r['label'], _num(r['value']), r['unit'],
            _goal(r['goal'], r['higher_is_better']), _num(r['ratio']),
            _num(r['reference']), _num(r['ref_ratio']),
            _goal(r['ref_goal'], r['higher_is_better'], 'x'),
            {True: 'ok', False: 'MISS', None: ''}[r['ok']]))
    widths = [max(len(str(x[i])) for x in [header] + lines) for i in range(len(header))]
    fmt = '  '.join('{:<%d}' % w if i < 2 or i == 3 else '{:>%d}' % w
                    for i, w in enumerate(widths))
    out = [fmt.format(*header), fmt.format(*('-' * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    for r in rows:
        if r['error']:
            out.append(f"{r['id']}: {r['error']}")
    return '\n'.join(out)


def write_json(path, document):
    with open(path, 'w') as f:
        json.dump(document, f, indent=2, sort_keys=True, default=str)
        f.write('\n')
