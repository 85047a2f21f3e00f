"""POST /v2/query/samples bodies (spec §9.8) -> a validated, normalised, project-scoped query.

``filter`` and ``orderby`` arrive as JSON texts inside string members. The
grammar is checked by hand with jsonschema's wording (the reference validated
with jsonschema), in the reference's order: filter JSON and grammar,
timestamps, project segregation (401), orderby, limit. Size is bounded first:
depth, node count, list width and regular-expression length come from [api]
options, so a hostile body costs a 400, never a deep recursion or a
backtracking regex.
"""

import dataclasses
import json
import math

import re2
from webob import multidict

from meterd.api import validation
from meterd import exception
from meterd import timestamps

#: Sample model fields (spec §10.1) and the aliases of §9.8.
FIELDS = ('source', 'counter_name', 'counter_type', 'counter_unit', 'counter_volume',
          'user_id', 'project_id', 'resource_id', 'timestamp', 'message_id',
          'message_signature', 'recorded_at')
ALIASES = {'user': 'user_id', 'project': 'project_id', 'resource': 'resource_id',
           'meter': 'counter_name', 'type': 'counter_type', 'unit': 'counter_unit',
           'volume': 'counter_volume'}
_TEXT = frozenset(FIELDS) - {'counter_volume', 'timestamp', 'recorded_at'}
_TIME = frozenset({'timestamp', 'recorded_at'})
_METADATA_PREFIXES = ('metadata.', 'resource_metadata.')
_STORED_METADATA = 'resource_metadata.'

_COMPARISONS = {'=': '=', '!=': '!=', '<': '<', '<=': '<=', '=<': '<=', '>': '>',
                '>=': '>=', '=>': '>=', '=~': '=~'}
_LOGICAL = ('and', 'or')
_DIRECTIONS = '(?i)^asc$|^desc$'
_MEMBERS = ('filter', 'orderby', 'limit')
_VISIBILITY = 'project_id'
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@dataclasses.dataclass(frozen=True)
class ComplexQuery:
    """What the driver's ``query_samples`` takes (see storage/base.py)."""

    filter: dict | None
    orderby: list | None
    limit: int


class _Invalid(Exception):
    """A grammar violation; the message is jsonschema's wording."""


def _not_valid(instance):
    return _Invalid(f'{instance!r} is not valid under any of the given schemas')


def _field(name):
    """The model field for a filter field name, or None when unknown."""
    if name in FIELDS:
        return name
    if name in ALIASES:
        return ALIASES[name]
    for prefix in _METADATA_PREFIXES:
        if name.startswith(prefix) and all(name[len(prefix):].split('.')) \
                and not any(c.isspace() for c in name):
            return _STORED_METADATA + name[len(prefix):]
    return None


def _is_scalar(value):
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int))


class _Bounds:
    """Depth and node budget of one filter."""

    def __init__(self, conf):
        self.max_depth = conf.api.max_query_depth
        self.max_nodes = conf.api.max_query_nodes
        self.nodes = 0

    def visit(self, depth):
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise _Invalid(f'the filter has more than {self.max_nodes} nodes '
                           f'(the limit is [api] max_query_nodes)')
        if depth > self.max_depth:
            raise _Invalid(f'the filter is nested deeper than {self.max_depth} levels '
                           f'(the limit is [api] max_query_depth)')

    def width(self, items):
        if len(items) > self.max_nodes:
            raise _Invalid(f'a list of the filter has more than {self.max_nodes} items '
                           f'(the limit is [api] max_query_nodes)')


def _check_node(node, bounds, depth=1):
    """Grammar of §9.8; recursion is bounded by ``max_query_depth`` before it goes deeper."""
    bounds.visit(depth)
    if not isinstance(node, dict) or len(node) != 1:
        raise _not_valid(node)
    ((op, operand),) = node.items()
    key = op.lower()
    if key in _LOGICAL:
        if not isinstance(operand, list):
            raise _Invalid(f'{operand!r} is not of type \'array\'')
        bounds.width(operand)
        if len(operand) < 2:
            raise _Invalid(f'{operand!r} is too short')
        for child in operand:
            _check_node(child, bounds, depth + 1)
    elif key == 'not':
        _check_node(operand, bounds, depth + 1)
    elif key == 'in':
        if not isinstance(operand, dict) or len(operand) != 1:
            raise _not_valid(node)
        ((name, values),) = operand.items()
        if _field(name) is None or not isinstance(values, list):
            raise _not_valid(node)
        bounds.width(values)
        if not values:
            raise _Invalid(f'{values!r} is too short')
        if not all(_is_scalar(v) and not isinstance(v, bool) for v in values):
            raise _not_valid(node)
    elif op in _COMPARISONS:
        if not isinstance(operand, dict) or len(operand) != 1:
            raise _not_valid(node)
        ((name, value),) = operand.items()
        if _field(name) is None or not _is_scalar(value):
            raise _not_valid(node)
    else:
        raise _not_valid(node)


def _timestamp(value):
    try:
        if not isinstance(value, str):
            raise ValueError('not a string')
        return timestamps.parse(value)
    except (ValueError, OverflowError):
        raise exception.ClientSideError(f'Failed to parse the timestamp value {value}')


def _typed(field, value):
    """A leaf value converted to the field's stored type (see storage/base.py)."""
    if field in _TIME:
        return _timestamp(value)
    if field == 'counter_volume':
        if isinstance(value, bool):
            raise _Invalid(f'{value!r} is not of type \'number\'')
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _Invalid(f'{value!r} is not of type \'number\'')
        return _bounded_float(value)
    if field in _TEXT:
        if isinstance(value, bool):
            raise _Invalid(f'{value!r} is not of type \'string\'')
        return value if isinstance(value, str) else json.dumps(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2 ** 63:
        return _bounded_float(value)
    return value


def _bounded_float(value):
    """A JSON number as float; an integer beyond float range is invalid, not a 500."""
    try:
        return float(value)
    except OverflowError:
        raise _Invalid(f'{value} is out of range for a number')


class _Normaliser:
    """Second pass over a valid tree: lower-case ops, model fields, typed values, regexes."""

    def __init__(self, conf):
        self.max_regex = conf.api.max_regex_length

    def node(self, node):
        ((op, operand),) = node.items()
        key = op.lower()
        if key in _LOGICAL:
            return {key: [self.node(child) for child in operand]}
        if key == 'not':
            return {'not': self.node(operand)}
        ((name, value),) = operand.items()
        field = _field(name)
        if key == 'in':
            return {'in': {field: [_typed(field, v) for v in value]}}
        op = _COMPARISONS[op]
        if op == '=~':
            return {op: {field: self.pattern(field, value)}}
        return {op: {field: _typed(field, value)}}

    def pattern(self, field, value):
        if field in _TIME or field == 'counter_volume':
            raise _Invalid(f'the =~ operator applies to text and metadata fields, '
                           f'not to {field}')
        if not isinstance(value, str):
            raise _Invalid(f'{value!r} is not of type \'string\'')
        if len(value) > self.max_regex:
            raise _Invalid(f'the regular expression is longer than {self.max_regex} '
                           f'characters (the limit is [api] max_regex_length)')
        try:
            re2.compile(value, _RE2_OPTIONS)
        except re2.error as err:
            reason = err.args[0] if err.args else ''
            if isinstance(reason, bytes):
                reason = reason.decode('utf-8', 'replace')
            raise _Invalid(f'invalid regular expression {value!r}: {reason}')
        # RE2 syntax the PostgreSQL engine reads differently or not at all.
        if '(?P<' in value or '\\C' in value or '\\z' in value:
            raise _Invalid(f'unsupported regular expression syntax in {value!r}')
        return value


def _leaves(node):
    """Every comparison/membership leaf of a normalised tree, without recursion."""
    stack = [node]
    while stack:
        ((op, operand),) = stack.pop().items()
        if op in _LOGICAL:
            stack.extend(operand)
        elif op == 'not':
            stack.append(operand)
        else:
            ((field, value),) = operand.items()
            yield field, value


def check_projects(filter_expr, ctx):
    """A non-admin may only name its own project, whatever the operator (§9.8 Scoping).

    :raises exception.ProjectNotAuthorized: a ``project_id`` leaf with another
        value (an ``in`` list never equals the caller's project).
    """
    if ctx.is_admin or filter_expr is None:
        return
    for field, value in _leaves(filter_expr):
        if field == _VISIBILITY and value != ctx.project_id:
            raise exception.ProjectNotAuthorized(value)


def restrict(filter_expr, ctx):
    """Wrap a non-admin's filter in the project restriction."""
    if ctx.is_admin:
        return filter_expr
    own = {'=': {_VISIBILITY: ctx.project_id}}
    return own if filter_expr is None else {'and': [own, filter_expr]}


def _reject_constant(name):
    raise ValueError(f'{name} is not valid JSON')


def _decode(text):
    if not isinstance(text, str):
        return text
    return json.loads(text, parse_constant=_reject_constant)


def parse_filter(text, conf):
    """The normalised filter tree of a ``filter`` member, or None when absent.

    :raises exception.ClientSideError: ``Filter expression not valid: ...`` or
        ``Failed to parse the timestamp value <v>``.
    """
    if text is None:
        return None
    try:
        tree = _decode(text)
        _check_node(tree, _Bounds(conf))
        return _Normaliser(conf).node(tree)
    except RecursionError:
        message = (f'the filter is nested deeper than {conf.api.max_query_depth} levels '
                   f'(the limit is [api] max_query_depth)')
    except (ValueError, _Invalid) as err:
        message = str(err)
    raise exception.ClientSideError(f'Filter expression not valid: {message}')


def _check_orderby(items):
    if not isinstance(items, list):
        raise _Invalid(f'{items!r} is not of type \'array\'')
    for item in items:
        if not isinstance(item, dict):
            raise _Invalid(f'{item!r} is not of type \'object\'')
        if not item:
            raise _Invalid(f'{item!r} does not have enough properties')
        for name in item:
            if name not in FIELDS and name not in ALIASES:
                raise _Invalid(f'Additional properties are not allowed ({name!r} was '
                               f'unexpected)')
        if len(item) > 1:
            raise _Invalid(f'{item!r} has too many properties')
        ((_name, direction),) = item.items()
        if not isinstance(direction, str):
            raise _Invalid(f'{direction!r} is not of type \'string\'')
        if direction.lower() not in ('asc', 'desc'):
            raise _Invalid(f'{direction!r} does not match {_DIRECTIONS!r}')


def parse_orderby(text, conf):
    """``[(model field, 'asc'|'desc'), ...]`` of an ``orderby`` member, or None.

    :raises exception.ClientSideError: ``Order-by expression not valid: ...``.
    """
    if text is None:
        return None
    try:
        items = _decode(text)
        if isinstance(items, list) and len(items) > conf.api.max_query_nodes:
            raise _Invalid(f'more than {conf.api.max_query_nodes} items '
                           f'(the limit is [api] max_query_nodes)')
        _check_orderby(items)
    except RecursionError:
        message = 'the expression is nested too deeply'
    except (ValueError, _Invalid) as err:
        message = str(err)
    else:
        return [(_field(name), direction.lower())
                for item in items for name, direction in item.items()]
    raise exception.ClientSideError(f'Order-by expression not valid: {message}')


def parse_limit(value, conf):
    """The ``limit`` member: an integer (or integer text), default and bounds of ``limit``."""
    if value is None:
        raw = []
    elif isinstance(value, int) and not isinstance(value, bool):
        raw = [('limit', str(value))]
    elif isinstance(value, str):
        raw = [('limit', value)]
    else:
        raise exception.InvalidFieldValue('limit', json.dumps(value),
                                          'unable to convert to int')
    return validation.limit(multidict.MultiDict(raw), conf)


def parse(body, ctx, conf):
    """Validate a complex-query body for the caller, in the reference's order.

    :param body: the decoded JSON body (None when empty: same as ``{}``).
    :returns: ``ComplexQuery`` ready for ``query_samples``.
    :raises exception.ClientSideError: grammar, timestamp or limit errors (400).
    :raises exception.ProjectNotAuthorized: a non-admin naming another project (401).
    """
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise exception.ClientSideError('The complex query must be a JSON object with the '
                                        'members filter, orderby and limit')
    for name in body:
        if name not in _MEMBERS:
            raise exception.ClientSideError(f'Unknown argument: "{name}"')
    filter_expr = parse_filter(body.get('filter'), conf)
    check_projects(filter_expr, ctx)
    filter_expr = restrict(filter_expr, ctx)
    orderby = parse_orderby(body.get('orderby'), conf)
    return ComplexQuery(filter=filter_expr, orderby=orderby,
                        limit=parse_limit(body.get('limit'), conf))
