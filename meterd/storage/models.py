"""Storage-layer models: what drivers return and the API renders (spec §10).

Timestamps are naive datetimes in UTC (statistics: integer microseconds, see
Statistics); drivers convert at their edge.
Metadata is the nested object as stored (dotted keys already split, §9.4).
"""

import dataclasses
import datetime
import typing


@dataclasses.dataclass(frozen=True, init=False)
class Sample:
    """One sample; built once per posted or read sample, so its __init__ is written out.

    A frozen dataclass's generated __init__ sets each of the thirteen fields
    with ``object.__setattr__``; filling the instance dict in one call halves
    the cost of a construction and leaves the instance the same (fields,
    equality, hash, repr, ``dataclasses.replace``; assignment still raises).
    """

    source: str
    counter_name: str
    counter_type: str
    counter_unit: str
    counter_volume: float
    user_id: str | None
    project_id: str | None
    resource_id: str
    timestamp: datetime.datetime
    resource_metadata: dict
    message_id: str
    message_signature: str = ''
    recorded_at: datetime.datetime | None = None

    def __init__(self, source, counter_name, counter_type, counter_unit, counter_volume,
                 user_id, project_id, resource_id, timestamp, resource_metadata, message_id,
                 message_signature='', recorded_at=None):
        self.__dict__.update(
            source=source, counter_name=counter_name, counter_type=counter_type,
            counter_unit=counter_unit, counter_volume=counter_volume, user_id=user_id,
            project_id=project_id, resource_id=resource_id, timestamp=timestamp,
            resource_metadata=resource_metadata, message_id=message_id,
            message_signature=message_signature, recorded_at=recorded_at)


@dataclasses.dataclass(frozen=True)
class Meter:
    name: str
    type: str
    unit: str
    resource_id: str | None
    project_id: str | None
    user_id: str | None
    source: str | None


@dataclasses.dataclass(frozen=True)
class Resource:
    resource_id: str
    project_id: str | None
    user_id: str | None
    source: str | None
    first_sample_timestamp: datetime.datetime | None
    last_sample_timestamp: datetime.datetime | None
    metadata: dict


class Statistics(typing.NamedTuple):
    """One partition (unit, period bucket, group) of a statistics request.

    Its four timestamps are integer microseconds since the epoch (UTC), the
    stored form: an answer has hundreds of entries and every datetime built
    and printed cost a microsecond each. Standard fields left ``None`` were
    not computed and are omitted on the wire; ``aggregate`` is ``None``
    unless selectable aggregates were asked for. ``duration_*`` are the raw
    min/max timestamps; the API clamps them. A named tuple: built once per
    entry, it is the cheapest immutable record.
    """

    unit: str
    period: int
    period_start: int
    period_end: int
    duration_start: int | None
    duration_end: int | None
    groupby: dict | None = None
    count: int | None = None
    min: float | None = None
    max: float | None = None
    sum: float | None = None
    avg: float | None = None
    aggregate: dict | None = None
