"""SampleFilter -> SQL conditions, shared by every read of the SQLAlchemy driver.

Values are always bound parameters. Metadata is matched with its JSON type
(a stored integer 0 never equals the string "0", spec §7.5).
"""

import datetime

import sqlalchemy as sa

from meterd import storage
from meterd.storage.sqlalchemy import tables
from meterd import timestamps

_SQLITE_TYPES = {str: ('text',), int: ('integer',), float: ('real',)}


def _sqlite_path(path):
    # Quote every segment so keys with '$', ':' or spaces address literally.
    return '$' + ''.join('."' + seg.replace('"', '\\"') + '"' for seg in path.split('.'))


def metadata_condition(column, path, value, dialect):
    """``column`` (a JSON document) has ``value`` at dotted ``path``, with its JSON type."""
    if isinstance(value, datetime.datetime):
        value = timestamps.isoformat(value)
    if dialect == 'postgresql':
        segments = path.split('.')
        node = column.op('#>')(sa.literal(segments, sa.ARRAY(sa.Text)))
        text = column.op('#>>')(sa.literal(segments, sa.ARRAY(sa.Text)))
        kind = sa.func.jsonb_typeof(node)
        if value is storage.NULL:
            return kind == 'null'
        if isinstance(value, bool):
            return sa.and_(kind == 'boolean', text == ('true' if value else 'false'))
        if isinstance(value, (int, float)):
            return sa.and_(kind == 'number',
                           sa.cast(sa.case((kind == 'number', text)), sa.Numeric) == value)
        return sa.and_(kind == 'string', text == value)
    json_path = sa.literal(_sqlite_path(path))
    kind = sa.func.json_type(column, json_path)
    extracted = sa.func.json_extract(column, json_path)
    if value is storage.NULL:
        return kind == 'null'
    if isinstance(value, bool):
        return kind == ('true' if value else 'false')
    (type_name,) = _SQLITE_TYPES[type(value)]
    return sa.and_(kind == type_name, extracted == value)


def _match(column, value):
    return column.is_(None) if value is storage.NULL else column == value


def meter_ids_named(name):
    """Subquery of the meter ids (one per type/unit) carrying ``name``."""
    return sa.select(tables.meters.c.id).where(tables.meters.c.name == name).scalar_subquery()


def owner_conditions(table, sample_filter):
    """user/project/resource/source conditions on any table with those columns."""
    f = sample_filter
    conds = []
    if f.user is not None:
        conds.append(_match(table.c.user_id, f.user))
    if f.project is not None:
        conds.append(_match(table.c.project_id, f.project))
    if f.resource is not None:
        conds.append(table.c.resource_id == f.resource)
    if f.source is not None:
        conds.append(table.c.source == f.source)
    return conds


def time_conditions(column, sample_filter):
    """The timestamp window on a BIGINT-microseconds column."""
    f = sample_filter
    conds = []
    if f.start_timestamp is not None:
        start = timestamps.to_micros(f.start_timestamp)
        conds.append(column > start if f.start_timestamp_op == 'gt' else column >= start)
    if f.end_timestamp is not None:
        end = timestamps.to_micros(f.end_timestamp)
        conds.append(column <= end if f.end_timestamp_op == 'le' else column < end)
    return conds


def sample_conditions(sample_filter, dialect, table=tables.samples):
    """Every condition of ``sample_filter`` on the samples table, as a list to AND."""
    f = sample_filter
    conds = owner_conditions(table, f)
    if f.meter is not None:
        conds.append(table.c.meter_id.in_(meter_ids_named(f.meter)))
    if f.message_id is not None:
        conds.append(table.c.message_id == f.message_id)
    conds.extend(time_conditions(table.c.timestamp, f))
    conds.extend(metadata_conditions(table.c.metadata, f.metaquery, dialect))
    return conds


def metadata_conditions(column, metaquery, dialect):
    """One typed condition per ``metaquery`` entry on a JSON document column."""
    return [metadata_condition(column, path, value, dialect)
            for path, value in metaquery.items()]
