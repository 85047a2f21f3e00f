"""Terminal charts and PNG output of statistics."""

import pytest

from meterd.cli import plot


def stat(start, avg, period=3600, groupby=None, **aggregate):
    doc = {'period_start': start, 'period': period, 'avg': avg, 'groupby': groupby}
    if aggregate:
        doc['aggregate'] = aggregate
    return doc


def test_sparkline_scales_between_min_and_max():
    assert plot.sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == '▁▂▃▄▅▆▇█'
    assert plot.sparkline([10, 20, None, 30]) == '▁▅·█'


def test_flat_and_empty_sparklines():
    assert plot.sparkline([5, 5, 5]) == '▄▄▄'
    assert plot.sparkline([None, None]) == '··'
    assert plot.sparkline([]) == ''


def test_bars_have_eighth_cell_resolution():
    assert plot.bar(10, 30, 8) == '██▋'    # 21.33 eighths -> 21 = 2 cells + 5/8
    assert plot.bar(20, 30, 8) == '█████▍'  # 42.67 -> 43 = 5 cells + 3/8
    assert plot.bar(30, 30, 8) == '████████'
    assert plot.bar(0, 30, 8) == ''
    assert plot.bar(None, 30, 8) == '·'


def test_series_fills_the_periods_the_api_left_out():
    stats = [stat('2026-01-01T00:00:00', 10), stat('2026-01-01T01:00:00', 20),
             stat('2026-01-01T03:00:00', 30)]
    assert plot.series(stats, 'avg') == (
        ['2026-01-01T00:00:00', '2026-01-01T01:00:00', '2026-01-01T02:00:00',
         '2026-01-01T03:00:00'], [10, 20, None, 30])


def test_series_reads_selectable_aggregates():
    stats = [stat('2026-01-01T00:00:00', None, **{'cardinality/resource_id': 2.0}),
             stat('2026-01-01T01:00:00', None, **{'cardinality/resource_id': 3.0})]
    assert plot.series(stats, 'cardinality/resource_id')[1] == [2.0, 3.0]


def test_terminal_chart_of_a_known_series():
    stats = [stat('2026-01-01T00:00:00', 10.0), stat('2026-01-01T01:00:00', 20.0),
             stat('2026-01-01T03:00:00', 30.0)]
    assert plot.terminal_chart(stats, 'avg', cells=8) == '\n'.join([
        'avg  min 10  max 30  ▁▅·█',
        '2026-01-01T00:00:00 │██▋     │ 10',
        '2026-01-01T01:00:00 │█████▍  │ 20',
        '2026-01-01T02:00:00 │·       │',
        '2026-01-01T03:00:00 │████████│ 30'])


def test_terminal_chart_draws_one_block_per_group():
    stats = [stat('2026-01-01T00:00:00', 1.5, groupby={'resource_id': 'a'}),
             stat('2026-01-01T00:00:00', 3.0, groupby={'resource_id': 'b'})]
    assert plot.terminal_chart(stats, 'avg', cells=4) == '\n'.join([
        'avg [resource_id=a]  min 1.5  max 1.5  ▄',
        '2026-01-01T00:00:00 │████│ 1.5',
        '',
        'avg [resource_id=b]  min 3  max 3  ▄',
        '2026-01-01T00:00:00 │████│ 3'])


def test_png_is_written_when_matplotlib_is_installed(tmp_path):
    pytest.importorskip('matplotlib')
    from matplotlib import image

    path = tmp_path / 'chart.png'
    stats = [stat('2026-01-01T00:00:00', 10.0), stat('2026-01-01T02:00:00', 30.0)]
    plot.write_png(stats, 'avg', str(path), title='cpu: avg')
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert image.imread(str(path)).shape[:2] == (400, 1000)
