"""Complex-query filter trees (spec §9.8) -> one MongoDB filter document.

A comparison with a missing metadata key, a key of another JSON type or a
null field is false; ``not`` is the plain complement (``$nor``), so
negating a condition on a missing key matches — the [rec] MongoDB semantics —
and ``!=`` is exactly ``not =``. Metadata comparisons keep
their type family (numbers numerically, strings as text, booleans apart).
Patterns of ``=~`` arrive validated (RE2 syntax) and become ``$regex``.
"""

import datetime

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
    return value


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
    if op == '=~':
        return {path: {'$regex': value}}
    if op == 'in':
        return {'$or': [{path: _typed(name, v)} for v in value]}
    return {path: {_RANGE[op]: _value(value)}}


def translate(node):
    """A validated filter tree -> a filter document."""
    ((op, operand),) = node.items()
    op = op.lower()
    if op in ('and', 'or'):
        return {f'${op}': [translate(child) for child in operand]}
    if op == 'not':
        return {'$nor': [translate(operand)]}
    ((name, value),) = operand.items()
    return _leaf(op, name, value)


def sort(orderby):
    """``[(field, 'asc'|'desc')]`` -> a pymongo sort; newest first by default."""
    spec = [(field(name), 1 if direction.lower() == 'asc' else -1)
            for name, direction in orderby or (('timestamp', 'desc'),)]
    # Remaining ties: most recently stored first (ObjectIds follow stored order).
    return spec + [('_id', -1)]
