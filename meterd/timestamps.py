"""Timestamps on the wire and in storage: parse ISO 8601, render naive UTC (spec §2.2)."""

import datetime

EPOCH = datetime.datetime(1970, 1, 1)
_ONE_US = datetime.timedelta(microseconds=1)


def parse(text):
    """Parse an ISO 8601 date or date-time into a naive UTC datetime.

    Accepts a date alone, ``T`` or a space between date and time, a fraction,
    and ``Z`` or ``±hh:mm``; an offset is converted to UTC (spec §7.5 [rec]).

    :raises ValueError: not a timestamp this service accepts.
    """
    if not isinstance(text, str):
        raise ValueError('timestamp must be a string')
    value = text.strip()
    if not value or len(value) > 64:
        raise ValueError('invalid timestamp')
    if value[-1] in 'zZ':
        value = value[:-1] + '+00:00'
    parsed = datetime.datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return parsed


def isoformat(value):
    """Naive UTC rendering: microseconds only when non-zero, no zone designator."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value.isoformat()


def utcnow():
    """The current time as a naive UTC datetime."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def to_micros(value):
    """Naive UTC datetime -> integer microseconds since the epoch."""
    return (value - EPOCH) // _ONE_US


def from_micros(micros):
    """Integer microseconds since the epoch -> naive UTC datetime."""
    return EPOCH + datetime.timedelta(microseconds=micros)
