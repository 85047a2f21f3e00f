"""Statistics (spec §9.5) as one aggregation pipeline per request.

Buckets are integer arithmetic on ``ts`` (Int64 microseconds):
``start = ts - (ts - A) mod period``. The anchor ``A`` is the lower time
bound when the filter has one; otherwise the earliest matching sample, found
in the same pipeline by a global ``$group`` whose ``$push``/``$unwind`` hands
every matching sample on with the anchor attached (``$setWindowFields`` would
do the same on MongoDB 5.0+, but neither on 4.x nor on mongomock). The pushed
projections are small, but all of them pass one stage: MongoDB's 100 MB
per-stage limit caps such a request at roughly a million samples — clients
should give a start bound (spec §16 #2), which needs no global stage.

``stddev`` is the population deviation from sums of (v - k) and (v - k)^2,
k being one volume of the partition (a second pass over the partition's
pushed volumes): well conditioned for large, close volumes, and it needs no
``$stdDevPop`` (which mongomock lacks).
"""

import math

import bson

from meterd import exception
from meterd import storage
from meterd.storage.mongodb import escaping
from meterd.storage.mongodb import filters
from meterd.storage.mongodb import schema
from meterd.storage import models
from meterd import timestamps

#: Buckets wider than any stored span: every sample falls in bucket 0 (no Int64 overflow).
_MAX_PERIOD_US = 2 ** 62



def _field(name):
    """A groupby/cardinality name -> the stored document path."""
    if name.startswith('resource_metadata.'):
        return filters.metadata_field(name[len('resource_metadata.'):])
    return name


def _wanted(aggregates):
    return {a.func for a in aggregates} if aggregates else set(storage.STANDARD_AGGREGATES)


def pipeline(sample_filter, period, groupby, aggregates):
    """The whole pipeline; returns (stages, anchor or None when computed in it)."""
    funcs = _wanted(aggregates)
    anchored = bool(period) and sample_filter.start_timestamp is None
    inputs = {'t': '$ts', 'v': '$counter_volume', 'u': '$counter_unit'}
    for i, name in enumerate(groupby):
        inputs[f'g{i}'] = {'$ifNull': [f'${_field(name)}', None]}
    cards = [a.param for a in aggregates if a.func == 'cardinality']
    for i, name in enumerate(cards):
        inputs[f'c{i}'] = f'${_field(name)}'

    stages = [{'$match': filters.sample_filter(sample_filter)}]
    if anchored:
        stages += [
            {'$group': {'_id': None, 'anchor': {'$min': '$ts'}, 'docs': {'$push': inputs}}},
            {'$unwind': '$docs'},
        ]
        ref = {k: f'$docs.{k}' for k in inputs}
        anchor = '$anchor'
    else:
        stages.append({'$project': dict(inputs)})
        ref = {k: f'${k}' for k in inputs}
        anchor = None
    if period:
        if not anchored:
            anchor = filters.micros(sample_filter.start_timestamp)
        period_us = bson.Int64(min(period * 1_000_000, _MAX_PERIOD_US))
        bucket = {'$subtract': [ref['t'], {'$mod': [{'$subtract': [ref['t'], anchor]},
                                                    period_us]}]}
    else:
        bucket = None
    key = {'b': bucket, 'u': ref['u']}
    key.update({f'g{i}': ref[f'g{i}'] for i in range(len(groupby))})
    group = {'_id': key, 'count': {'$sum': 1}, 'sum': {'$sum': ref['v']},
             'min': {'$min': ref['v']}, 'max': {'$max': ref['v']},
             'tmin': {'$min': ref['t']}, 'tmax': {'$max': ref['t']}}
    for i in range(len(cards)):
        group[f'c{i}'] = {'$addToSet': ref[f'c{i}']}
    if 'stddev' in funcs:
        group['k'] = {'$first': ref['v']}
        group['vs'] = {'$push': ref['v']}
    stages.append({'$group': group})
    if 'stddev' in funcs:
        # Second pass over the partition's volumes, shifted by one of them (k):
        # well conditioned whatever the scale of the other partitions.
        shifted = {'$subtract': ['$vs', '$k']}
        regroup = {name: {'$first': f'${name}'} for name in group if name not in ('_id', 'vs')}
        regroup.update({'_id': '$_id', 's1': {'$sum': shifted},
                        's2': {'$sum': {'$multiply': [shifted, shifted]}}})
        stages += [{'$unwind': '$vs'}, {'$group': regroup}]
    if cards:
        # Distinct non-null values: a stored null is in the set, a missing field is not.
        stages.append({'$set': {f'c{i}': {'$subtract': [
            {'$size': f'$c{i}'}, {'$cond': [{'$in': [None, f'$c{i}']}, 1, 0]}]}
            for i in range(len(cards))}})
    order = {'_id.b': 1, '_id.u': 1}
    order.update({f'_id.g{i}': 1 for i in range(len(groupby))})
    order['tmin'] = 1
    stages.append({'$sort': order})
    return stages


def _group_text(value):
    """A metadata group value as the API prints metadata (§12.6): str() of non-strings."""
    if value is None or isinstance(value, str):
        return value
    return str(escaping.unescape_metadata(value))


def _order(stat):
    return (stat.period_start, stat.unit,
            [(v is not None, v) for v in (stat.groupby or {}).values()])


def _stddev(row):
    n = row['count']
    mean_shifted = row['s1'] / n
    return math.sqrt(max(row['s2'] / n - mean_shifted * mean_shifted, 0.0))


def to_model(row, period, groupby, aggregates):
    key = row['_id']
    first, last = int(row['tmin']), int(row['tmax'])
    if period:
        start = int(key['b'])
        end = start + period * 1_000_000
        if end > timestamps.MAX_MICROS:
            raise exception.ClientSideError(
                f'Invalid period {period}: date value out of range')
    else:
        start, end = first, last
    count = int(row['count'])
    values = {'count': count, 'min': float(row['min']), 'max': float(row['max']),
              'sum': float(row['sum']), 'avg': float(row['sum']) / count}
    standard = {}
    aggregate = None
    if aggregates:
        aggregate = {}
        card = 0
        for agg in aggregates:
            if agg.func in storage.STANDARD_AGGREGATES:
                standard[agg.func] = values[agg.func]
                aggregate[agg.key] = float(values[agg.func])
            elif agg.func == 'stddev':
                aggregate[agg.key] = _stddev(row)
            else:
                aggregate[agg.key] = float(row[f'c{card}'])
                card += 1
    else:
        standard = values
    group = None
    if groupby:
        group = {name: _group_text(key.get(f'g{i}')) if name.startswith('resource_metadata.')
                 else key.get(f'g{i}') for i, name in enumerate(groupby)}
    return models.Statistics(
        unit=key['u'], period=int(period or 0), period_start=start, period_end=end,
        duration_start=first, duration_end=last, groupby=group, aggregate=aggregate,
        **standard)


def statistics(db, read_preference, sample_filter, period, groupby, aggregates, limit):
    if limit == 0:
        return []
    groupby = list(groupby or ())
    aggregates = list(aggregates or ())
    stages = pipeline(sample_filter, period, groupby, aggregates)
    if limit is not None:
        stages.append({'$limit': limit})
    coll = db.get_collection(schema.SAMPLES, read_preference=read_preference)
    # The pipeline sorts BSON values; the contract orders their text forms.
    return sorted((to_model(row, period, groupby, aggregates)
                   for row in coll.aggregate(stages, allowDiskUse=True)), key=_order)
