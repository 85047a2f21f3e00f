"""Statistics parameters (spec §9.5): period, groupby, aggregates, partition caps, clamping.

The texts of the errors are the §15 catalogue's; the partition cap is ours
(a statistics answer has no limit, so the cap keeps one request bounded).
"""

import math

from meterd.api import validation
from meterd import exception
from meterd import storage

#: Largest period accepted up front (spec §9.5 [rec]): about 317 years.
MAX_PERIOD = 10 ** 10
_METADATA = 'resource_metadata.'
_CAP_OPTION = '[api] max_statistics_partitions'


def period(args):
    """The ``period`` argument in seconds, or None for one bucket per partition.

    :raises exception.InvalidFieldValue: not an integer, or given twice.
    :raises exception.ClientSideError: ``Period must be positive.`` for a
        period <= 0; ``Invalid period <p>: date value out of range`` above
        ``MAX_PERIOD``.
    """
    value = validation.int_param(args, 'period')
    if value is None:
        return None
    if value <= 0:
        raise exception.ClientSideError('Period must be positive.')
    if value > MAX_PERIOD:
        raise exception.ClientSideError(f'Invalid period {value}: date value out of range')
    return value


def _valid_groupby(field):
    if field in storage.GROUPBY_FIELDS:
        return True
    if not field.startswith(_METADATA):
        return False
    path = field[len(_METADATA):]
    return all(path.split('.'))


def groupby(args):
    """The de-duplicated ``groupby`` fields, in the order first given.

    :raises exception.ClientSideError: ``Unknown argument: "{'wtf'}": Invalid
        groupby fields`` naming the invalid ones as a Python set literal.
    """
    fields = args.getall('groupby')
    invalid = {f for f in fields if not _valid_groupby(f)}
    if invalid:
        raise exception.ClientSideError(f'Unknown argument: "{invalid}": Invalid groupby fields')
    return tuple(dict.fromkeys(fields))


def aggregates(args):
    """``aggregate.func``/``aggregate.param`` bound by position into ``storage.Aggregate``s.

    Every function is checked before anything runs; identical (func, param)
    pairs are kept once. Parameters are checked by ``check_params``, later,
    as the reference did (after the query).

    :raises exception.InvalidFieldValue: an item without ``func``.
    :raises exception.ClientSideError: ``Invalid aggregation function: <f>``.
    """
    funcs = args.getall('aggregate.func')
    params = args.getall('aggregate.param')
    items = []
    for i in range(max(len(funcs), len(params))):
        func = funcs[i] if i < len(funcs) else ''
        param = params[i] if i < len(params) else ''
        if not func:
            raise exception.InvalidFieldValue('func', 'None', 'Mandatory field missing.')
        items.append(storage.Aggregate(func, param or None))
    for item in items:
        if item.func not in storage.AGGREGATE_FUNCTIONS:
            raise exception.ClientSideError(f'Invalid aggregation function: {item.func}')
    return tuple(dict.fromkeys(items))


def check_params(items):
    """``cardinality`` needs a field; the other functions take no parameter.

    :raises exception.ClientSideError: ``Bad aggregate: <func>.<param>``
        (``None`` when the parameter is missing).
    """
    for item in items:
        if item.func == 'cardinality':
            ok = item.param in storage.CARDINALITY_FIELDS
        else:
            ok = item.param is None
        if not ok:
            raise exception.ClientSideError(f'Bad aggregate: {item.func}.{item.param}')


def _too_many(cap):
    return exception.ClientSideError(
        f'The statistics would have more than {cap} entries; ask for a longer period, '
        f'a shorter time window or fewer groups (the limit is {_CAP_OPTION})')


def check_window(sample_filter, period_s, cap):
    """Reject up front a bounded window holding more than ``cap`` periods.

    :raises exception.ClientSideError: naming ``[api] max_statistics_partitions``.
    """
    start, end = sample_filter.start_timestamp, sample_filter.end_timestamp
    if not period_s or start is None or end is None or end <= start:
        return
    if math.ceil((end - start).total_seconds() / period_s) > cap:
        raise _too_many(cap)


def check_count(statistics, cap):
    """The driver was asked for ``cap`` + 1 partitions; getting them means too many.

    :raises exception.ClientSideError: naming ``[api] max_statistics_partitions``.
    """
    if len(statistics) > cap:
        raise _too_many(cap)


def clamp(stat, start, end):
    """Clamp durations to the client's own timestamp bounds (not widened), spec §9.5.

    ``start``/``end`` are integer microseconds (or None), like the entry's
    timestamps. When the clamped start falls after the clamped end both
    become None, and so does the duration the view derives from them.
    """
    first, last = stat.duration_start, stat.duration_end
    if start is not None and first is not None and first < start:
        first = start
    if end is not None and last is not None and last > end:
        last = end
    if first is None or last is None or first > last:
        first = last = None
    if first is stat.duration_start and last is stat.duration_end:
        return stat  # the common case: no copy per entry
    return stat._replace(duration_start=first, duration_end=last)
