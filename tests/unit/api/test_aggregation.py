"""Statistics parameters: period, groupby, aggregates, caps and clamping (no server)."""

import datetime

import pytest
from webob import multidict

from meterd.api import aggregation
from meterd import exception
from meterd import storage
from meterd.storage import models

T = datetime.datetime(2012, 8, 28)


def args(*pairs):
    return multidict.MultiDict(list(pairs))


def message(func, *a):
    with pytest.raises(exception.InvalidInput) as err:
        func(*a)
    return str(err.value)


def test_period_absent_and_valid():
    assert aggregation.period(args()) is None
    assert aggregation.period(args(('period', '3600'))) == 3600
    assert aggregation.period(args(('period', str(10 ** 10)))) == 10 ** 10


@pytest.mark.parametrize('raw', ['0', '-1', '-86400'])
def test_period_must_be_positive(raw):
    assert message(aggregation.period, args(('period', raw))) == 'Period must be positive.'


def test_period_not_an_integer_or_twice():
    assert message(aggregation.period, args(('period', '1.5'))) == (
        "Invalid input for field/attribute period. Value: '1.5'. unable to convert to int")
    assert message(aggregation.period, args(('period', '1'), ('period', '2'))).startswith(
        'Invalid input for field/attribute period.')


def test_absurd_period():
    assert message(aggregation.period, args(('period', str(10 ** 10 + 1)))) == (
        'Invalid period 10000000001: date value out of range')


def test_groupby_dedupes_and_keeps_first_order():
    assert aggregation.groupby(args(('groupby', 'source'), ('groupby', 'user_id'),
                                    ('groupby', 'source'))) == ('source', 'user_id')
    assert aggregation.groupby(args(('groupby', 'resource_metadata.flavor.name'))) == (
        'resource_metadata.flavor.name',)
    assert aggregation.groupby(args()) == ()


@pytest.mark.parametrize('field', ['wtf', 'metadata.x', 'resource_metadata.',
                                   'resource_metadata.a..b', 'resource_metadata', ''])
def test_groupby_invalid_fields(field):
    assert message(aggregation.groupby, args(('groupby', field))) == (
        'Unknown argument: "' + str({field}) + '": Invalid groupby fields')


def test_groupby_error_names_only_the_invalid_ones():
    text = message(aggregation.groupby, args(('groupby', 'user_id'), ('groupby', 'wtf')))
    assert text == 'Unknown argument: "{\'wtf\'}": Invalid groupby fields'


def test_aggregates_bind_by_position_and_dedupe():
    got = aggregation.aggregates(args(
        ('aggregate.func', 'cardinality'), ('aggregate.param', 'resource_id'),
        ('aggregate.func', 'cardinality'), ('aggregate.param', 'resource_id'),
        ('aggregate.func', 'cardinality'), ('aggregate.param', 'user_id'),
        ('aggregate.func', 'avg')))
    assert got == (storage.Aggregate('cardinality', 'resource_id'),
                   storage.Aggregate('cardinality', 'user_id'), storage.Aggregate('avg'))


def test_empty_param_means_none():
    assert aggregation.aggregates(args(('aggregate.func', 'max'),
                                       ('aggregate.param', ''))) == (
        storage.Aggregate('max'),)


def test_unknown_function_is_checked_for_every_item():
    assert message(aggregation.aggregates, args(
        ('aggregate.func', 'max'), ('aggregate.func', 'median'))) == (
        'Invalid aggregation function: median')


def test_param_without_function():
    assert message(aggregation.aggregates, args(('aggregate.param', 'resource_id'))) == (
        "Invalid input for field/attribute func. Value: 'None'. Mandatory field missing.")


@pytest.mark.parametrize('func,param,text', [
    ('cardinality', None, 'Bad aggregate: cardinality.None'),
    ('cardinality', 'volume', 'Bad aggregate: cardinality.volume'),
    ('stddev', 'resource_id', 'Bad aggregate: stddev.resource_id'),
    ('count', 'x', 'Bad aggregate: count.x'),
])
def test_bad_parameters(func, param, text):
    assert message(aggregation.check_params, [storage.Aggregate(func, param)]) == text


def test_good_parameters():
    aggregation.check_params([storage.Aggregate('cardinality', f)
                              for f in ('resource_id', 'user_id', 'project_id', 'source')]
                             + [storage.Aggregate('stddev')])


def test_window_cap():
    f = storage.SampleFilter(start_timestamp=T, end_timestamp=T + datetime.timedelta(hours=10))
    aggregation.check_window(f, 3600, 10)
    assert '[api] max_statistics_partitions' in message(aggregation.check_window, f, 3599, 10)
    aggregation.check_window(storage.SampleFilter(start_timestamp=T), 1, 10)
    aggregation.check_window(f, None, 1)


def test_count_cap():
    aggregation.check_count([1, 2], 2)
    assert '[api] max_statistics_partitions' in message(aggregation.check_count, [1, 2, 3], 2)


#: Statistics timestamps and clamp bounds are integer microseconds.
T_US = 1_346_112_000_000_000  # 2012-08-28T00:00:00
MINUTE = 60_000_000
HOUR = 60 * MINUTE


def stat(first, last):
    return models.Statistics(unit='u', period=0, period_start=first, period_end=last,
                             duration_start=first, duration_end=last)


def test_clamp_to_the_original_bounds():
    s = stat(T_US - 5 * MINUTE, T_US + 24 * HOUR + 5 * MINUTE)
    end = T_US + 23 * HOUR + 59 * MINUTE
    got = aggregation.clamp(s, T_US, end)
    assert (got.duration_start, got.duration_end) == (T_US, end)
    assert (got.period_start, got.period_end) == (s.period_start, s.period_end)


def test_clamp_without_bounds_keeps_durations():
    s = stat(T_US, T_US + HOUR)
    assert aggregation.clamp(s, None, None) is s


def test_clamp_crossing_gives_nulls():
    s = stat(T_US - 5 * MINUTE, T_US - 5 * MINUTE)
    got = aggregation.clamp(s, T_US, None)
    assert (got.duration_start, got.duration_end) == (None, None)
