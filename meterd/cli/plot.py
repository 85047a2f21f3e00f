"""Charts of one statistics aggregate over time: terminal bars and sparklines, PNG files.

Periods the API left out (no samples) are drawn as gaps, so a quiet hour shows as a
hole rather than being silently skipped.
"""

import datetime

#: Eight heights of a sparkline cell, lowest first.
SPARKS = '▁▂▃▄▅▆▇█'
#: Partial bar cells in eighths: index n draws n/8 of a cell.
EIGHTHS = ' ▏▎▍▌▋▊▉'
FULL = '█'
#: Drawn where a period has no value.
GAP = '·'


def sparkline(values):
    """One character per value, scaled between the smallest and largest value.

    None is a gap (``·``); a flat series sits at mid height.
    """
    present = [v for v in values if v is not None]
    if not present:
        return GAP * len(values)
    lo, hi = min(present), max(present)
    out = []
    for v in values:
        if v is None:
            out.append(GAP)
        elif hi == lo:
            out.append(SPARKS[3])
        else:
            out.append(SPARKS[round((v - lo) / (hi - lo) * (len(SPARKS) - 1))])
    return ''.join(out)


def bar(value, top, cells):
    """A horizontal bar ``value / top`` of ``cells`` wide, in eighth-cell steps."""
    if value is None:
        return GAP
    if top <= 0 or value <= 0:
        return ''
    eighths = round(min(value, top) / top * cells * 8)
    return FULL * (eighths // 8) + (EIGHTHS[eighths % 8] if eighths % 8 else '')


def format_number(value):
    if value is None:
        return ''
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f'{value:.6g}'


def bars(labels, values, cells=40):
    """One line per (label, value): label, bar scaled to the largest value, the value.

    Bars start at zero, so negative values draw no bar (their number still shows).
    """
    present = [v for v in values if v is not None]
    top = max(present, default=0)
    label_width = max((len(label) for label in labels), default=0)
    numbers = [format_number(v) for v in values]
    lines = []
    for label, value, number in zip(labels, values, numbers):
        drawn = bar(value, top, cells)
        lines.append(f'{label.ljust(label_width)} │{drawn.ljust(cells)}│ {number}'.rstrip())
    return '\n'.join(lines)


def _parse_time(text):
    return datetime.datetime.fromisoformat(text)


def series(statistics, aggregate):
    """(period_start labels, values) of one aggregate, gaps filled in for empty periods.

    ``aggregate`` is a top-level field (``avg``) or an ``aggregate`` key
    (``stddev``, ``cardinality/resource_id``).
    """
    points = []
    for stat in statistics:
        value = stat.get(aggregate)
        if value is None:
            value = (stat.get('aggregate') or {}).get(aggregate)
        points.append((stat.get('period_start'), value, stat.get('period') or 0))
    points.sort(key=lambda p: p[0] or '')
    if not points:
        return [], []
    period = points[0][2]
    if period <= 0 or len(points) < 2:
        return [p[0] or '' for p in points], [p[1] for p in points]
    by_start = {p[0]: p[1] for p in points}
    start, end = _parse_time(points[0][0]), _parse_time(points[-1][0])
    step = datetime.timedelta(seconds=period)
    labels, values = [], []
    at = start
    while at <= end and len(labels) < 100000:
        label = at.isoformat()
        labels.append(label)
        values.append(by_start.get(label))
        at += step
    # Starts not on the grid of the first one (never expected) are shown as they are.
    for start_text, value, _ in points:
        if start_text not in labels:
            labels.append(start_text)
            values.append(value)
    return labels, values


def groups(statistics):
    """Statistics split by their ``groupby`` value, in first-seen order."""
    out = {}
    for stat in statistics:
        key = stat.get('groupby')
        name = ', '.join(f'{k}={v}' for k, v in sorted(key.items())) if key else ''
        out.setdefault(name, []).append(stat)
    return out


def terminal_chart(statistics, aggregate, cells=40):
    """The text chart printed by ``statistics --plot``: per group a header and bars."""
    blocks = []
    for name, stats in groups(statistics).items():
        labels, values = series(stats, aggregate)
        present = [v for v in values if v is not None]
        head = f'{aggregate}' + (f' [{name}]' if name else '')
        if present:
            head += (f'  min {format_number(min(present))}  max {format_number(max(present))}'
                     f'  {sparkline(values)}')
        blocks.append(head + '\n' + bars(labels, values, cells))
    return '\n\n'.join(blocks)


def write_png(statistics, aggregate, path, title=None):
    """Write a line chart of ``aggregate`` per period (one line per group) to ``path``.

    :raises ImportError: matplotlib is not installed.
    """
    import matplotlib

    matplotlib.use('Agg')
    from matplotlib import pyplot

    fig, ax = pyplot.subplots(figsize=(10, 4), dpi=100)
    try:
        for name, stats in groups(statistics).items():
            labels, values = series(stats, aggregate)
            times = [_parse_time(label) for label in labels]
            ax.plot(times, [float('nan') if v is None else v for v in values],
                    marker='o', markersize=3, label=name or aggregate)
        ax.set_ylabel(aggregate)
        ax.set_xlabel('period start (UTC)')
        if title:
            ax.set_title(title)
        ax.grid(True, alpha=0.3)
        if len(groups(statistics)) > 1:
            ax.legend(fontsize='small')
        fig.autofmt_xdate()
        fig.tight_layout()
        fig.savefig(path, format='png')
    finally:
        pyplot.close(fig)
