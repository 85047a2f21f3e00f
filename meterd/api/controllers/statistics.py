"""GET /v2/meters/{meter_name}/statistics: aggregates over one meter's samples (spec §9.5)."""

from meterd.api import aggregation
from meterd.api import policy
from meterd.api import validation
from meterd.api import views
from meterd import timestamps

_PARAMS = ('q', 'groupby', 'period', 'aggregate')


class StatisticsController:
    """Periods, groups and selectable aggregates, computed by the driver in one round trip."""

    def __init__(self, storage, conf):
        self._storage = storage
        self._conf = conf

    def index(self, req, meter_name):
        policy.authorize(self._conf, req.context, 'telemetry:compute_statistics')
        args = validation.request_args(req)
        validation.reject_unknown_params(args, _PARAMS)
        # Binding errors (period, aggregate functions) first, as WSME reported them.
        period = aggregation.period(args)
        aggregates = aggregation.aggregates(args)
        items = validation.query_items(args, self._conf)
        sample_filter = validation.sample_filter(req.context, items, 'statistics',
                                                 meter=meter_name)
        groupby = aggregation.groupby(args)
        aggregation.check_params(aggregates)
        start, _start_op, end, _end_op = validation.original_time_bounds(items)
        cap = self._conf.api.max_statistics_partitions
        aggregation.check_window(sample_filter, period, cap)
        computed = self._storage.get_meter_statistics(
            sample_filter, period=period, groupby=groupby, aggregates=aggregates,
            limit=cap + 1)
        aggregation.check_count(computed, cap)
        start = None if start is None else timestamps.to_micros(start)
        end = None if end is None else timestamps.to_micros(end)
        clamp, render = aggregation.clamp, views.statistics
        # Rendered as sent: up to max_statistics_partitions entries never sit in
        # memory as dicts all at once.
        return (render(clamp(s, start, end)) for s in computed)
