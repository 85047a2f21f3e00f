"""Figures against targets: ratios, reference limits and verdicts of the benchmark report."""

from tools.bench import report


def rows_by_id(results, reference=None):
    return {r['id']: r for r in report.evaluate(results, reference)}


def test_latency_under_its_goal_is_ok_with_ratio_value_over_goal():
    row = rows_by_id({'R2': {'p50_ms': 4.0}})['R2']
    assert (row['value'], row['goal'], row['ratio'], row['ok']) == (4.0, 5, 0.8, True)


def test_latency_over_its_goal_is_a_miss():
    row = rows_by_id({'R7_show': {'p50_ms': 4.5}})['R7s']
    assert row['ratio'] == 1.5 and row['ok'] is False


def test_throughput_needs_both_the_absolute_goal_and_the_ratio_to_the_raw_limit():
    results = {'W1': {'queryable_samples_per_s': 30000.0}}
    rows = rows_by_id(results, {'insert': {'rows_per_s': 60000.0}})
    assert rows['W1']['ref_ratio'] == 0.5 and rows['W1']['ok'] is True
    rows = rows_by_id(results, {'insert': {'rows_per_s': 100000.0}})
    assert rows['W1']['ref_ratio'] == 0.3 and rows['W1']['ok'] is False
    rows = rows_by_id({'W1': {'queryable_samples_per_s': 20000.0}},
                      {'insert': {'rows_per_s': 40000.0}})
    assert rows['W1']['ref_ratio'] == 0.5 and rows['W1']['ok'] is False


def test_statistics_are_judged_by_their_ratio_to_the_bare_sql():
    reference = {'R3': {'p50_ms': 40.0}}
    assert rows_by_id({'R3': {'p50_ms': 50.0}}, reference)['R3']['ok'] is True
    row = rows_by_id({'R3': {'p50_ms': 60.0}}, reference)['R3']
    assert row['ref_ratio'] == 1.5 and row['ok'] is False


def test_a_reference_without_a_ratio_goal_is_informative_only():
    row = rows_by_id({'R4': {'p50_ms': 70.0}}, {'R4': {'p50_ms': 35.0}})['R4']
    assert row['ref_ratio'] == 2.0 and row['ok'] is True


def test_memory_is_reported_in_megabytes():
    row = rows_by_id({'M': {'rss_bytes': 150 * report.MB, 'db_bytes': 10 * report.MB}})['M']
    assert row['value'] == 150 and row['ok'] is False


def test_unmeasured_figures_have_no_verdict_and_errors_are_carried():
    rows = rows_by_id({'R6': {'error': 'POST /v2/query/samples -> 500'}})
    assert rows['R6']['value'] is None and rows['R6']['ok'] is None
    assert rows['R6']['error'] == 'POST /v2/query/samples -> 500'
    assert rows['R5']['error'] is None and rows['R5']['ok'] is None


def test_a_failed_visibility_check_is_the_w1_error():
    rows = rows_by_id({'W1': {'samples_per_s': 30000.0, 'visible_error': 'counts differ'}})
    assert rows['W1']['error'] == 'counts differ'
    assert rows['W1a']['value'] == 30000.0 and rows['W1a']['error'] is None


def test_table_lists_every_target_and_the_errors():
    text = report.table(report.evaluate({'R2': {'p50_ms': 6.0}, 'R6': {'error': 'boom'}}))
    for target in report.TARGETS:
        assert f'\n{target.id} ' in text
    assert 'MISS' in text and 'R6: boom' in text
