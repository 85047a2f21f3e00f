"""Complex-query filter trees (spec §9.8) -> one SQL SELECT of samples.

``not`` is pushed down to the leaves (De Morgan). A leaf on a null column or
on a metadata key that is missing (or holds another JSON type) is false, and
its negation true: the MongoDB semantics the spec makes normative. Positive
leaves stay plain comparisons so the planner can use the indexes. ``=~`` is
RE2 on SQLite (linear time, patterns compiled once) and ``~`` on PostgreSQL.
"""

import sqlalchemy as sa

from meterd.storage.sqlalchemy import reads
from meterd.storage.sqlalchemy import tables
from meterd import timestamps

_S = tables.samples
_M = tables.meters

#: sample model field -> samples column (meter fields are handled apart).
_COLUMNS = {
    'source': _S.c.source, 'user_id': _S.c.user_id, 'project_id': _S.c.project_id,
    'resource_id': _S.c.resource_id, 'message_id': _S.c.message_id,
    'message_signature': _S.c.message_signature, 'counter_volume': _S.c.volume,
    'timestamp': _S.c.timestamp, 'recorded_at': _S.c.recorded_at,
}
_METER_COLUMNS = {'counter_name': _M.c.name, 'counter_type': _M.c.type,
                  'counter_unit': _M.c.unit}
_NULLABLE = {'source', 'user_id', 'project_id', 'message_signature', 'recorded_at'}
_TEXT = {'source', 'user_id', 'project_id', 'resource_id', 'message_id',
         'message_signature', 'counter_name', 'counter_type', 'counter_unit'}
_TIME = {'timestamp', 'recorded_at'}
_METADATA = 'resource_metadata.'

_COMPARE = {
    '=': lambda a, b: a == b, '<': lambda a, b: a < b, '<=': lambda a, b: a <= b,
    '>': lambda a, b: a > b, '>=': lambda a, b: a >= b,
}


def _regexp_match(column, pattern, dialect):
    if dialect == 'postgresql':
        return column.regexp_match(pattern)
    return sa.func.meterd_regexp(pattern, column, type_=sa.Boolean)


def sqlite_path(path):
    """A dotted metadata path as an SQLite JSON path; every segment quoted literally."""
    return '$' + ''.join('."' + seg.replace('"', '\\"') + '"' for seg in path.split('.'))


class _Metadata:
    """Typed access to the value at one metadata path of a samples row."""

    def __init__(self, path, dialect):
        self.dialect = dialect
        if dialect == 'postgresql':
            segments = sa.literal(path.split('.'), sa.ARRAY(sa.Text))
            node = _S.c.metadata.op('#>')(segments)
            self.text = _S.c.metadata.op('#>>', return_type=sa.Text)(segments)
            self.kind = sa.func.jsonb_typeof(node, type_=sa.Text)
        else:
            json_path = sa.literal(sqlite_path(path))
            self.text = sa.func.json_extract(_S.c.metadata, json_path)
            self.kind = sa.func.json_type(_S.c.metadata, json_path, type_=sa.Text)

    def _typed(self, kinds, pg_type):
        """(type test, value expression) for stored values of the given JSON kinds."""
        if self.dialect == 'postgresql':
            test = self.kind == kinds[0]
            # The CASE keeps PostgreSQL from casting values of other types.
            return test, sa.cast(sa.case((test, self.text)), pg_type)
        test = self.kind == kinds[0] if len(kinds) == 1 else self.kind.in_(kinds)
        return test, self.text

    def compare(self, op, value):
        """The positive condition ``<stored value> op value``; false on any type mismatch."""
        if isinstance(value, bool):
            test, stored = self._typed(('true', 'false') if self.dialect != 'postgresql'
                                       else ('boolean',), sa.Boolean)
            operand = value if self.dialect == 'postgresql' else int(value)
        elif isinstance(value, (int, float)):
            test, stored = self._typed(('integer', 'real') if self.dialect != 'postgresql'
                                       else ('number',), sa.Numeric)
            operand = value
        else:
            test, stored = self._typed(('text',) if self.dialect != 'postgresql'
                                       else ('string',), sa.Text)
            if self.dialect == 'postgresql':
                stored = self.text.collate('C')
            operand = value
        if op == '=~':
            return sa.and_(test, _regexp_match(stored, operand, self.dialect))
        return sa.and_(test, _COMPARE[op](stored, operand))

    def negate(self, condition):
        return sa.or_(self.kind.is_(None), sa.not_(condition))


def _meter_condition(column, op, value, dialect):
    """Meter fields live in ``meters``: select the matching meter ids (index friendly)."""
    ids = sa.select(_M.c.id).where(_leaf_expr(column, op, value, dialect)).scalar_subquery()
    return _S.c.meter_id.in_(ids)


def _leaf_expr(column, op, value, dialect):
    if op == 'in':
        return column.in_(value)
    if op == '=~':
        return _regexp_match(column, value, dialect)
    return _COMPARE[op](column, value)


def _column_value(field, value):
    if field in _TIME:
        return [timestamps.to_micros(v) for v in value] if isinstance(value, list) \
            else timestamps.to_micros(value)
    return value


class Compiler:
    """Turns a validated filter tree into a SQLAlchemy condition for one dialect."""

    def __init__(self, dialect):
        self.dialect = dialect

    def condition(self, node, negate=False):
        ((op, operand),) = node.items()
        if op in ('and', 'or'):
            parts = [self.condition(child, negate) for child in operand]
            return (sa.or_ if (op == 'or') != negate else sa.and_)(*parts)
        if op == 'not':
            return self.condition(operand, not negate)
        if op == '!=':
            return self.condition({'=': operand}, not negate)
        ((field, value),) = operand.items()
        return self._leaf(op, field, value, negate)

    def _leaf(self, op, field, value, negate):
        if field.startswith(_METADATA):
            return self._metadata_leaf(op, field[len(_METADATA):], value, negate)
        if field in _METER_COLUMNS:
            cond = _meter_condition(self._text(_METER_COLUMNS[field], op), op, value,
                                    self.dialect)
            return sa.not_(cond) if negate else cond
        column = _COLUMNS[field]
        if field in _TEXT:
            column = self._text(column, op)
        cond = _leaf_expr(column, op, _column_value(field, value), self.dialect)
        if not negate:
            return cond
        if field in _NULLABLE:
            return sa.or_(_COLUMNS[field].is_(None), sa.not_(cond))
        return sa.not_(cond)

    def _text(self, column, op):
        # Code-point order on PostgreSQL whatever the database collation.
        if self.dialect == 'postgresql' and op in ('<', '<=', '>', '>='):
            return column.collate('C')
        return column

    def _metadata_leaf(self, op, path, value, negate):
        meta = _Metadata(path, self.dialect)
        if op == 'in':
            cond = sa.or_(*[meta.compare('=', v) for v in value])
        else:
            cond = meta.compare(op, value)
        return meta.negate(cond) if negate else cond


def order_by(orderby, dialect):
    """ORDER BY clauses: nulls sort lowest, ties most recently stored first."""
    clauses = []
    for field, direction in orderby or [('timestamp', 'desc')]:
        column = _METER_COLUMNS.get(field)
        if column is None:
            column = _COLUMNS[field]
        if dialect == 'postgresql' and field in _TEXT:
            column = column.collate('C')
        clauses.append(column.asc().nulls_first() if direction == 'asc'
                       else column.desc().nulls_last())
    clauses.append(_S.c.id.desc())
    return clauses


def build(filter_expr, orderby, limit, dialect):
    """The SELECT of samples (joined with their meter) for a complex query: the
    columns of every sample read, in the order ``reads.fast_sample_converter`` takes."""
    stmt = sa.select(*reads.sample_columns(dialect)).select_from(
        _S.join(_M, _S.c.meter_id == _M.c.id))
    if filter_expr:
        stmt = stmt.where(Compiler(dialect).condition(filter_expr))
    stmt = stmt.order_by(*order_by(orderby, dialect))
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt
