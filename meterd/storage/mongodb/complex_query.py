"""Complex-query filter trees (spec §9.8) -> one MongoDB filter document.

A comparison with a missing metadata key, a key of another JSON type or a
null field is false; ``not`` is the plain complement (``$nor``), so
negating a condition on a missing key matches — the [rec] MongoDB semantics —
and ``!=`` is exactly ``not =``. Metadata comparisons keep
their type family (numbers numerically, strings as text, booleans apart).

``=~`` is bounded as on SQL: patterns arrive validated in RE2 syntax and are
run by RE2 (linear time) in the driver, never by the server's backtracking
engine. A filter holding ``=~`` is sent to the server relaxed (each ``=~``
leaf replaced by whatever makes the document a superset: true where it
counts positively, false under an odd number of ``not``); the exact tree is
then evaluated on each streamed candidate, and ``limit`` counts matches.
"""

import datetime
import numbers

import re2

from meterd.storage.mongodb import filters

#: model field -> stored field; ``timestamp`` and ``recorded_at`` compare on the exact Int64.
FIELDS = {
    'timestamp': 'ts',
    'recorded_at': 'recorded_us',
}
_RANGE = {'<': '$lt', '<=': '$lte', '>': '$gt', '>=': '$gte'}


def field(name):
    if name.startswith('resource_metadata.'):
        return filters.metadata_field(name[len('resource_metadata.'):])
    return FIELDS.get(name, name)


def _value(value):
    if isinstance(value, datetime.datetime):
        return filters.micros(value)
    return filters.bson_value(value)


def _typed(name, value):
    """Equality on ``name``; metadata keeps the JSON type, times compare exactly."""
    if isinstance(value, datetime.datetime):
        return _value(value)
    if name.startswith('resource_metadata.'):
        return filters.equals(value)
    return value


def _leaf(op, name, value):
    path = field(name)
    if op == '=':
        return {path: _typed(name, value)}
    if op == '!=':
        return {'$nor': [{path: _typed(name, value)}]}
    if op == 'in':
        return {'$or': [{path: _typed(name, v)} for v in value]}
    return {path: {_RANGE[op]: _value(value)}}


_TRUE = {'_id': {'$exists': True}}
_FALSE = {'_id': {'$exists': False}}


def translate(node, positive=True):
    """A validated filter tree -> a filter document (relaxed around ``=~``, see above)."""
    ((op, operand),) = node.items()
    op = op.lower()
    if op in ('and', 'or'):
        return {f'${op}': [translate(child, positive) for child in operand]}
    if op == 'not':
        return {'$nor': [translate(operand, not positive)]}
    ((name, value),) = operand.items()
    if op == '=~':
        return _TRUE if positive else _FALSE
    return _leaf(op, name, value)


def has_regex(node):
    ((op, operand),) = node.items()
    op = op.lower()
    if op in ('and', 'or'):
        return any(has_regex(child) for child in operand)
    if op == 'not':
        return has_regex(operand)
    return op == '=~'


_MISSING = object()


def _lookup(doc, path):
    for segment in path.split('.'):
        if not isinstance(doc, dict) or segment not in doc:
            return _MISSING
        doc = doc[segment]
    return doc


def _family(value):
    if isinstance(value, bool):
        return bool
    if isinstance(value, numbers.Number):
        return numbers.Number
    if isinstance(value, str):
        return str
    return type(value)


def _compare(op, stored, value):
    if stored is _MISSING or stored is None or _family(stored) is not _family(value):
        return False
    return {'=': stored == value, '<': stored < value, '<=': stored <= value,
            '>': stored > value, '>=': stored >= value}[op]


def matches(node, doc):
    """The exact filter on one stored document, with the semantics of ``translate``."""
    ((op, operand),) = node.items()
    op = op.lower()
    if op == 'and':
        return all(matches(child, doc) for child in operand)
    if op == 'or':
        return any(matches(child, doc) for child in operand)
    if op == 'not':
        return not matches(operand, doc)
    ((name, value),) = operand.items()
    stored = _lookup(doc, field(name))
    if op == '=~':
        return isinstance(stored, str) and re2.search(value, stored) is not None
    if op == 'in':
        return any(_compare('=', stored, _value(v)) for v in value)
    if op == '!=':
        return not _compare('=', stored, _value(value))
    return _compare(op, stored, _value(value))


def sort(orderby):
    """``[(field, 'asc'|'desc')]`` -> a pymongo sort; newest first by default."""
    spec = [(field(name), 1 if direction.lower() == 'asc' else -1)
            for name, direction in orderby or (('timestamp', 'desc'),)]
    # Remaining ties: most recently stored first (ObjectIds follow stored order).
    return spec + [('_id', -1)]
