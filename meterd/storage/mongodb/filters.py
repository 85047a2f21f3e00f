"""SampleFilter and typed metadata values -> MongoDB filter documents.

Metadata matches keep their BSON type: a stored integer 0 never equals the
string "0", and a boolean never equals a number (spec §7.5) — the explicit
``$type`` makes that hold on every server, not only where equality is
already type-aware. Times are compared on the Int64 microsecond field.
"""

import datetime

import bson

from meterd import exception
from meterd import storage
from meterd.storage.mongodb import escaping
from meterd import timestamps

METADATA = 'resource_metadata'


def micros(value):
    """Naive UTC datetime -> the Int64 stored in ``ts``/``recorded_us``."""
    return bson.Int64(timestamps.to_micros(value))


def metadata_field(path):
    """``flavor.name`` -> the stored, escaped document path."""
    return f'{METADATA}.{escaping.escape_path(path)}'


def bson_value(value):
    """``value`` as BSON can hold it; an integer beyond 64 bits is the client's error."""
    if isinstance(value, int) and not isinstance(value, bool) and not (
            -2 ** 63 <= value < 2 ** 63):
        raise exception.InvalidInput(f'The value {value} is out of the 64-bit integer range.')
    return value


def equals(value):
    """Condition on one field: equal to ``value`` and of the same BSON type family."""
    value = bson_value(value)
    if value is storage.NULL or value is None:
        return {'$eq': None, '$exists': True}
    if isinstance(value, bool):
        return {'$eq': value, '$type': 'bool'}
    if isinstance(value, (int, float)):
        return {'$eq': value, '$type': 'number'}
    if isinstance(value, datetime.datetime):
        return timestamps.isoformat(value)
    return value


def _owner(value):
    return None if value is storage.NULL else value


def sample_filter(f):
    """Every condition of ``f`` on sample documents (meter documents share the names)."""
    query = {}
    if f.user is not None:
        query['user_id'] = _owner(f.user)
    if f.project is not None:
        query['project_id'] = _owner(f.project)
    if f.resource is not None:
        query['resource_id'] = f.resource
    if f.source is not None:
        query['source'] = f.source
    if f.meter is not None:
        query['counter_name'] = f.meter
    if f.message_id is not None:
        query['message_id'] = f.message_id
    window = {}
    if f.start_timestamp is not None:
        window['$gt' if f.start_timestamp_op == 'gt' else '$gte'] = micros(f.start_timestamp)
    if f.end_timestamp is not None:
        window['$lte' if f.end_timestamp_op == 'le' else '$lt'] = micros(f.end_timestamp)
    if window:
        query['ts'] = window
    for path, value in f.metaquery.items():
        query[metadata_field(path)] = equals(value)
    return query


def describing_filter(f):
    """The owner/source/resource/metadata conditions of ``f`` on meter documents."""
    return sample_filter(f.replace(meter=None, message_id=None, start_timestamp=None,
                                   end_timestamp=None))
