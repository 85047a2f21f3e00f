"""The storage driver contract every backend implements, and the capability map.

Drivers receive validated input only (the API layer checked it) and return
``storage.models`` objects. They translate their library's errors at this
boundary: connection trouble -> ``StorageUnavailable``; nothing from pymongo
or SQLAlchemy escapes.
"""

import abc
import copy


def _all(value, *paths):
    return {p: value for p in paths}


#: Pike's key set (spec §9.9), all false; a driver overrides what it supports.
BASE_CAPABILITIES = {
    'meters': {'query': {'simple': False, 'metadata': False}},
    'resources': {'query': {'simple': False, 'metadata': False}},
    'samples': {'query': {'simple': False, 'metadata': False, 'complex': False}},
    'statistics': {
        'groupby': False,
        'query': {'simple': False, 'metadata': False},
        'aggregation': {
            'standard': False,
            'selectable': _all(False, 'max', 'min', 'sum', 'avg', 'count',
                               'stddev', 'cardinality'),
        },
    },
}

BASE_STORAGE_CAPABILITIES = {'storage': {'production_ready': False}}

#: What every shipped meterd driver must advertise (and implement).
FULL_CAPABILITIES = {
    'meters': {'query': {'simple': True, 'metadata': True}},
    'resources': {'query': {'simple': True, 'metadata': True}},
    'samples': {'query': {'simple': True, 'metadata': True, 'complex': True}},
    'statistics': {
        'groupby': True,
        'query': {'simple': True, 'metadata': True},
        'aggregation': {
            'standard': True,
            'selectable': _all(True, 'max', 'min', 'sum', 'avg', 'count',
                               'stddev', 'cardinality'),
        },
    },
}


def merge_capabilities(base, overrides):
    """A deep copy of ``base`` with ``overrides`` applied key by key."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_capabilities(merged[key], value)
        else:
            merged[key] = value
    return merged


#: The maps every shipped driver (SQL and MongoDB) declares.
SHIPPED_CAPABILITIES = merge_capabilities(BASE_CAPABILITIES, FULL_CAPABILITIES)
SHIPPED_STORAGE_CAPABILITIES = {'storage': {'production_ready': True}}


def flatten_capabilities(caps, prefix=''):
    """``{'a': {'b': True}}`` -> ``{'a:b': True}`` (the wire form of §9.9)."""
    flat = {}
    for key, value in caps.items():
        path = f'{prefix}:{key}' if prefix else key
        if isinstance(value, dict):
            flat.update(flatten_capabilities(value, path))
        else:
            flat[path] = bool(value)
    return flat


class Connection(abc.ABC):
    """A storage backend. Constructed by the manager as ``Connection(url, conf)``.

    Reads return iterables of models; callers may stop early, and drivers
    should stream rather than build large lists. Ordering and limits are part
    of the contract and stated per method. A ``limit`` of ``None`` means all.
    """

    CAPABILITIES = BASE_CAPABILITIES
    STORAGE_CAPABILITIES = BASE_STORAGE_CAPABILITIES

    @abc.abstractmethod
    def __init__(self, url, conf):
        """Connect (with start-up retries) and create the schema if missing."""

    @abc.abstractmethod
    def upgrade(self):
        """Create or upgrade schema and indexes; idempotent and safe to race."""

    @abc.abstractmethod
    def clear(self):
        """Drop every stored sample, meter and resource (tests only)."""

    def close(self):
        """Release connections; the driver is unusable afterwards."""

    @classmethod
    def get_capabilities(cls):
        return cls.CAPABILITIES

    @classmethod
    def get_storage_capabilities(cls):
        return cls.STORAGE_CAPABILITIES

    @abc.abstractmethod
    def record_samples(self, samples):
        """Store a batch of ``models.Sample`` all-or-nothing.

        ``recorded_at`` is set by the driver. When this returns, every sample
        is durable and visible to every reader; meters and resources are
        updated in the same transaction.
        """

    @abc.abstractmethod
    def get_samples(self, sample_filter, limit=None):
        """Samples matching ``sample_filter``, newest ``timestamp`` first.

        Ties are broken by insertion order, newest first.
        """

    @abc.abstractmethod
    def get_meters(self, sample_filter, limit=None, unique=False):
        """One ``models.Meter`` per (resource_id, name, type, unit), spec §9.2.

        Described and filtered (user, project, resource, source, metaquery;
        timestamps are never set) by the pair's most recently stored sample.
        Ordered by resource_id, then name. With ``unique``: one Meter per
        name, ``resource_id``/``project_id``/``user_id``/``source`` None,
        described and filtered by the name's most recently stored sample.
        """

    @abc.abstractmethod
    def get_resources(self, sample_filter, limit=None):
        """Resources having at least one sample matching ``sample_filter``, spec §9.7.

        first/last timestamps are min/max over the matching samples; owner,
        source and metadata come from the matching sample with the greatest
        timestamp (ties: the one stored last). Ordered by
        ``last_sample_timestamp`` descending, then ``resource_id``.
        """

    @abc.abstractmethod
    def get_meter_names_by_resource(self, resource_ids, project=None):
        """``{resource_id: [meter name, ...]}`` for the resource links, one query.

        Names sorted ascending. With ``project``, only the meters whose
        describing sample (see ``get_meters``) belongs to that project, so a
        non-admin's links name exactly the meters ``get_meters`` shows it and
        never another project's meters on a shared resource id.
        """

    @abc.abstractmethod
    def get_meter_statistics(self, sample_filter, period=None, groupby=(),
                             aggregates=(), limit=None):
        """Statistics over the samples matching ``sample_filter`` (spec §9.5), one round trip.

        :param period: bucket length in seconds, or None for one bucket per
            partition. Buckets are anchored at ``sample_filter.start_timestamp``
            when set, else at the earliest matching sample.
        :param groupby: field names from ``GROUPBY_FIELDS`` or
            ``resource_metadata.<path>``; de-duplicated by the caller.
        :param aggregates: ``storage.Aggregate`` items; empty means the
            standard set (count, min, max, sum, avg) without ``aggregate``.
        :param limit: return at most this many partitions (the caller passes
            its cap + 1 to detect an oversized answer).
        :returns: list of ``models.Statistics`` ordered by period_start, then
            unit, then group values ascending (in ``groupby`` order, null
            first, text in code-point order).
        :raises exception.ClientSideError: ``Invalid period <p>: date value out
            of range`` when a bucket would end after 9999-12-31T23:59:59.999999.

        Partitions: the meter's unit, the bucket and the groupby values; one
        entry per non-empty partition. With ``period`` the bucket of a sample
        at t is floor((t - anchor) / period); ``period_start`` = anchor +
        k * period, ``period_end`` = period_start + period; the anchor is the
        same for every group. Without it ``period`` is 0 and period_start /
        period_end are the partition's earliest / latest sample timestamps.
        ``duration_start`` / ``duration_end`` are always the partition's
        earliest / latest timestamps, unclamped (the API clamps them).
        Groupby values are text: ids and source as stored; a metadata value
        rendered as Python's str() of its JSON value (``'m1.tiny'``, ``'2'``,
        ``'1.5'``, ``'True'``, ``"['a', 'b']"``);
        a missing key and a JSON null both give None (one null group).
        Without ``aggregates`` count (int), min, max, sum, avg (floats) are
        set and ``aggregate`` is None. With them only the requested standard
        functions are set, and ``aggregate`` maps each ``Aggregate.key`` to a
        float: ``count`` as a float, ``stddev`` the population standard
        deviation (0.0 for one sample), ``cardinality/<field>`` the number of
        distinct non-null values of the field.
        """

    @abc.abstractmethod
    def query_samples(self, filter_expr=None, orderby=None, limit=None):
        """Samples matching a complex-query filter (spec §9.8).

        :param filter_expr: validated tree of one-key dicts, or None for all:
            ``{"and": [n, n, ..]}`` and ``{"or": [n, n, ..]}`` (two or more
            operands), ``{"not": n}``, ``{op: {field: value}}`` with op one of
            ``= != < <= > >= =~`` (lower case, ``=<``/``=>`` already mapped),
            and ``{"in": {field: [value, ..]}}`` (one or more values).
            Fields are model names: ``counter_name``, ``counter_type``,
            ``counter_unit``, ``source``, ``user_id``, ``project_id``,
            ``resource_id``, ``message_id``, ``message_signature`` (values
            str), ``counter_volume`` (float), ``timestamp``, ``recorded_at``
            (naive UTC datetime), or ``resource_metadata.<path>`` (dots are
            nesting; value str, int, float or bool, never None). ``=~`` only
            appears on str fields and metadata, with a pattern in RE2 syntax,
            searched anywhere in the value.
        :param orderby: list of ``(field, 'asc'|'desc')`` over the non-metadata
            fields above, first is primary; None means ``[('timestamp',
            'desc')]``. Nulls sort lowest; remaining ties go most recently
            stored first. ``limit`` applies after ordering.

        Semantics (MongoDB's, spec §9.8 [rec]): a leaf on a null column, or on
        a metadata key that is missing or holds another JSON type, is false,
        and its ``not`` is true; ``!=`` is exactly ``not =``. Metadata numbers
        compare numerically whether stored as int or float; a str value only
        compares with stored strings (code-point order); a bool only with
        stored booleans (false < true). Text fields compare in code-point
        order, ``counter_volume`` numerically, timestamps as times.
        """

    @abc.abstractmethod
    def clear_expired_metering_data(self, ttl):
        """Delete samples older than ``ttl`` seconds, then meters and
        resources left without samples. Returns the number of samples removed."""
