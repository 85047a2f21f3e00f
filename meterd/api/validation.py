"""Request parameters -> typed, validated values, or a 400 naming the field.

The query language is WSME's binding as Ceilometer exposed it (spec §6, §7):
``q.field``/``q.op``/``q.value``/``q.type`` bound by position, aliases,
per-endpoint fields, type inference for metadata values without ``eval``,
and the §7.4 order of checks. Every value below this module is valid.
"""

import dataclasses
import datetime
import json
import math
import re

from webob import multidict

from meterd import exception
from meterd import storage
from meterd.api import wsgi
from meterd import timestamps

#: List-of-object parameters and their attributes (§6.3); only dotted names bind to them.
_OBJECT_LISTS = {
    'q': ('field', 'op', 'value', 'type'),
    'aggregate': ('func', 'param'),
}

_ALIASES = {'user_id': 'user', 'project_id': 'project', 'resource_id': 'resource'}
_METADATA_PREFIXES = ('metadata.', 'resource_metadata.')
_TIME_FIELDS = ('timestamp', 'search_offset')
_TIME_OPS = ('lt', 'le', 'gt', 'ge')

#: Canonical q fields (after aliases, besides metadata.*) per kind of read (§7.3).
_FIELDS = {
    'meters': frozenset({'user', 'project', 'resource', 'source'}),
    'samples': frozenset({'user', 'project', 'resource', 'source', 'meter', 'message_id',
                          'timestamp', 'search_offset'}),
    'statistics': frozenset({'user', 'project', 'resource', 'source', 'meter', 'message_id',
                             'timestamp', 'search_offset'}),
    'resources': frozenset({'user', 'project', 'resource', 'source', 'timestamp',
                            'search_offset'}),
}

DATA_TYPES = ('integer', 'float', 'string', 'boolean', 'datetime')
_TRUE = ('1', 't', 'true', 'on', 'y', 'yes')
_FALSE = ('0', 'f', 'false', 'off', 'n', 'no')
_INT_RE = re.compile(r'[+-]?(?:0|[1-9][0-9]*)\Z')
_STRICT_INT_RE = re.compile(r'\s*[+-]?[0-9]+\s*\Z')
# A '.' or an exponent is required: bare digits are the integer rule's ('007' stays text).
_FLOAT_RE = re.compile(r'[+-]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?'
                       r'|[0-9]+[eE][+-]?[0-9]+)\Z')
_INT64_MAX = 2 ** 63 - 1


@dataclasses.dataclass(frozen=True)
class QueryItem:
    """One ``q`` term as sent; ``op`` is ``eq`` when not given, ``type`` None when unset."""

    field: str
    op: str = 'eq'
    value: str = ''
    type: str | None = None

    def __repr__(self):
        kind = 'Unset' if self.type is None else repr(self.type)
        return f'<Query {self.field!r} {self.op} {self.value!r} {kind}>'


# -- arguments ---------------------------------------------------------------


def request_args(req):
    """The request's arguments as a MultiDict of dotted names (``q.field``, ...).

    Taken from the query string plus a JSON-object body of a GET (§6.5),
    which is flattened into the same dotted form. As in WSME, the two sources
    combine, and one argument given in both is a 400.

    :raises exception.ClientSideError: a body that is not a JSON object, or
        an argument both in the query string and in the body.
    :raises webob.exc.HTTPUnsupportedMediaType: a body that is not JSON.
    """
    args = multidict.MultiDict(req.GET.items())
    if req.method == 'GET' and _may_have_body(req.environ) and req.body:
        body = wsgi.read_json_body(req)
        if not isinstance(body, dict):
            raise exception.ClientSideError(
                'Request body must be a JSON object of argument names to values')
        in_query = {name.partition('.')[0] for name in args}
        for name, value in body.items():
            if name in in_query:
                raise exception.ClientSideError(f'Parameter {name} was given several times')
            _add_json_arg(args, name, value)
    return args


def _may_have_body(environ):
    """False when the request cannot carry a body: no Content-Length, not chunked.

    ``sizelimit`` wraps every body-less request's input, which makes WebOb
    copy that empty stream on ``req.body``; a GET without a body skips it.
    """
    return (environ.get('CONTENT_LENGTH') not in (None, '', '0')
            or 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower()
            or bool(environ.get('wsgi.input_terminated')))


def _text(value):
    if isinstance(value, bool):
        return 'True' if value else 'False'
    if value is None:
        return ''
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _add_json_arg(args, name, value):
    attrs = _OBJECT_LISTS.get(name)
    if attrs is not None and isinstance(value, list):
        for item in value:
            if not isinstance(item, dict):
                raise exception.InvalidFieldValue(name, _text(item), 'Value not a valid dict')
            for key in item:
                if key not in attrs:
                    raise exception.ClientSideError(
                        f'Unknown attribute for argument {name}: {key}')
            # Every attribute per item keeps positional binding exact; '' = not given.
            for attr in attrs:
                args.add(f'{name}.{attr}', _text(item.get(attr)))
    elif isinstance(value, list):
        for item in value:
            args.add(name, _text(item))
    else:
        args.add(name, _text(value))


def reject_unknown_params(args, allowed):
    """400 ``Unknown argument: "<name>"`` for any argument not in ``allowed`` (§6.2).

    ``q`` and ``aggregate`` are allowed only in their dotted forms
    (``q.field``, ``aggregate.func``); ``aggregate=max`` is unknown.
    """
    for name in args:
        prefix, dot, attr = name.partition('.')
        if dot:
            ok = prefix in allowed and attr in _OBJECT_LISTS.get(prefix, ())
        else:
            ok = name in allowed and name not in _OBJECT_LISTS
        if not ok:
            raise exception.ClientSideError(f'Unknown argument: "{name}"')


def _single(args, name):
    values = args.getall(name)
    if len(values) > 1:
        raise exception.InvalidFieldValue(name, ', '.join(values), 'given more than once')
    return values[0] if values else None


def int_param(args, name, default=None):
    """The integer argument ``name``, or ``default`` when absent.

    :raises exception.InvalidFieldValue: not an integer, or given twice.
    """
    raw = _single(args, name)
    if raw is None:
        return default
    if not _STRICT_INT_RE.match(raw) or len(raw) > 40:
        raise exception.InvalidFieldValue(name, raw, 'unable to convert to int')
    return int(raw)


def bool_param(args, name):
    """Lenient boolean (§6.7): 1/t/true/on/y/yes in any case are true, anything else false."""
    raw = _single(args, name)
    return raw is not None and raw.strip().lower() in _TRUE


def limit(args, conf):
    """The page size: default ``[api] default_api_return_limit`` (at most the maximum).

    :raises exception.ClientSideError: ``Limit must be positive`` for <= 0, or
        a limit above ``[api] max_api_return_limit`` (named in the message).
    """
    maximum = conf.api.max_api_return_limit
    value = int_param(args, 'limit', min(conf.api.default_api_return_limit, maximum))
    if value <= 0:
        raise exception.ClientSideError('Limit must be positive')
    if value > maximum:
        raise exception.ClientSideError(
            f'Limit {value} is above the maximum of {maximum} '
            f'(option [api] max_api_return_limit)')
    return value


# -- the q language ----------------------------------------------------------


def query_items(args, conf):
    """Bind ``q.*`` by position (§6.3): the i-th field pairs with the i-th op, value, type.

    An attribute repeated fewer times attaches to the first items; later
    items take the default. An empty ``q.op``/``q.type`` means "not given".

    :raises exception.InvalidFieldValue: an item without field or value.
    :raises exception.ClientSideError: more than ``[api] max_query_terms`` items.
    """
    fields = args.getall('q.field')
    ops = args.getall('q.op')
    values = args.getall('q.value')
    types = args.getall('q.type')
    count = max(len(fields), len(ops), len(values), len(types))
    if count > conf.api.max_query_terms:
        raise exception.ClientSideError(
            f'Too many query terms: {count} (at most [api] max_query_terms = '
            f'{conf.api.max_query_terms})')
    items = []
    for i in range(count):
        field = fields[i] if i < len(fields) else None
        value = values[i] if i < len(values) else None
        if field is None or field == '':
            raise exception.InvalidFieldValue('field', 'None', 'Mandatory field missing.')
        if value is None:
            raise exception.InvalidFieldValue('value', 'None', 'Mandatory field missing.')
        op = ops[i] if i < len(ops) and ops[i] else 'eq'
        kind = types[i] if i < len(types) else None
        items.append(QueryItem(field=field, op=op, value=value, type=kind))
    return items


def _canonical(field):
    return _ALIASES.get(field, field)


def _metadata_path(field):
    for prefix in _METADATA_PREFIXES:
        if field.startswith(prefix) and len(field) > len(prefix):
            return field[len(prefix):]
    return None


def _parse_timestamp(value):
    try:
        return timestamps.parse(value)
    except (ValueError, OverflowError):
        raise exception.InvalidFieldValue('timestamp', value, 'invalid timestamp format')


def _time_terms(items):
    """(start, start_op, end, end_op) from ``timestamp`` terms, not widened (§7.2).

    Only the first term's operator is validated (by the caller); later terms
    with another operator are ignored; a later term of the same side wins.
    """
    start = start_op = end = end_op = None
    for item in items:
        if item.field != 'timestamp' or item.op not in _TIME_OPS:
            continue
        when = _parse_timestamp(item.value)
        if item.op in ('gt', 'ge'):
            start, start_op = when, item.op
        else:
            end, end_op = when, item.op
    return start, start_op, end, end_op


def original_time_bounds(items):
    """The ``timestamp`` bounds as the client gave them, NOT widened by search_offset.

    Statistics clamp durations with these (§9.5).

    :returns: ``(start, start_op, end, end_op)``; parts are None when absent.
    :raises exception.InvalidFieldValue: an unparsable timestamp.
    """
    return _time_terms(items)


def _check_segregation(ctx, items):
    if ctx.is_admin:
        return
    for item in items:
        if _canonical(item.field) == 'project' and item.value != ctx.project_id:
            raise exception.ProjectNotAuthorized(item.value)


def _check_time_terms(items, kind):
    for name in _TIME_FIELDS:
        terms = [i for i in items if i.field == name]
        if not terms:
            continue
        if name not in _FIELDS[kind]:
            raise exception.ClientSideError(
                f'Unknown argument: "{name}": not valid for this resource')
        allowed = _TIME_OPS if name == 'timestamp' else ('eq',)
        if terms[0].op not in allowed:
            raise exception.InvalidFieldValue(
                'op', terms[0].op, f'unimplemented operator for {name}')
    if any(i.field == 'search_offset' for i in items) and not any(
            i.field == 'timestamp' for i in items):
        raise exception.InvalidFieldValue(
            'field', 'search_offset', 'search_offset cannot be used without timestamp')


def _unknown_field(field, items, kind):
    rendered = ', '.join(repr(i) for i in items)
    keys = sorted(_FIELDS[kind])
    return exception.ClientSideError(
        f'Unknown argument: "{field}": unrecognized field in query: [{rendered}], '
        f'valid keys: {keys}')


def sample_filter(ctx, items, kind, meter=None):
    """Turn ``q`` items into a ``storage.SampleFilter`` for one kind of read.

    :param ctx: the request context, after ``policy.authorize`` settled is_admin.
    :param items: ``QueryItem`` list from ``query_items``.
    :param kind: ``'meters'``, ``'samples'``, ``'resources'`` or ``'statistics'``.
    :param meter: the meter name of the path; it wins over a ``meter`` term.
    :raises exception.ProjectNotAuthorized: a non-admin names another project (checked first).
    :raises exception.InvalidInput: the §7.4 errors, in the §7.4 order.
    """
    _check_segregation(ctx, items)
    _check_time_terms(items, kind)
    allowed = _FIELDS[kind]
    values = {}
    metaquery = {}
    raw_offset = None
    for item in items:
        if item.field in _TIME_FIELDS:
            if item.field == 'search_offset' and item.op == 'eq':
                raw_offset = item.value
            continue
        path = _metadata_path(item.field)
        canonical = _canonical(item.field)
        if path is None and canonical not in allowed:
            raise _unknown_field(item.field, items, kind)
        if item.op != 'eq':
            raise exception.InvalidFieldValue(
                'op', item.op, f'unimplemented operator for {item.field}')
        if path is not None:
            metaquery[path] = convert_metadata_value(item.value, item.type)
        else:
            values[canonical] = item.value
    # Values are converted only once every term passed validation (§7.4 step 6).
    offset_minutes = _search_offset(raw_offset) if raw_offset is not None else None
    start, start_op, end, end_op = _time_terms(items)
    if offset_minutes:
        start, end = _widen(start, end, offset_minutes)
    for owner in ('user', 'project'):
        if values.get(owner) == 'None':
            values[owner] = storage.NULL
    if not ctx.is_admin:
        values['project'] = ctx.project_id
    if meter is not None:
        values['meter'] = meter
    return storage.SampleFilter(
        user=values.get('user'), project=values.get('project'),
        resource=values.get('resource'), meter=values.get('meter'),
        source=values.get('source'), message_id=values.get('message_id'),
        start_timestamp=start, start_timestamp_op=start_op or 'ge',
        end_timestamp=end, end_timestamp_op=end_op or 'lt',
        metaquery=metaquery)


def _search_offset(raw):
    if not _STRICT_INT_RE.match(raw) or len(raw) > 12:
        raise exception.InvalidFieldValue('search_offset', raw, 'unable to convert to int')
    return int(raw)


def _widen(start, end, minutes):
    delta = datetime.timedelta(minutes=minutes)
    try:
        return (start - delta if start is not None else None,
                end + delta if end is not None else None)
    except OverflowError:
        raise exception.InvalidFieldValue(
            'search_offset', str(minutes), 'moves the time window out of range')


def _finite_float(value, raw, kind):
    try:
        number = float(value)
    except (ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise exception.ClientSideError(
            f'Unable to convert the value {raw} to the expected data type {kind}.')
    return number


def convert_metadata_value(raw, kind):
    """A metadata query value with its type (§7.5): explicit ``kind`` or safe inference.

    :raises exception.ClientSideError: unsupported type, or a value that does
        not convert to it.
    """
    if kind is None or kind == '':
        return infer_literal(raw)
    if kind not in DATA_TYPES:
        raise exception.ClientSideError(
            f'The data type {kind} is not supported. The supported data type list is: '
            f'{list(DATA_TYPES)}')
    if kind == 'string':
        return raw
    if kind == 'integer':
        text = raw.strip()
        if not _STRICT_INT_RE.match(text) or abs(int(text)) > _INT64_MAX:
            raise exception.ClientSideError(
                f'Unable to convert the value {raw} to the expected data type integer.')
        return int(text)
    if kind == 'float':
        return _finite_float(raw, raw, 'float')
    if kind == 'boolean':
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise exception.ClientSideError(
            f'Unable to convert the value {raw} to the expected data type boolean.')
    try:
        return timestamps.parse(raw)
    except (ValueError, OverflowError):
        raise exception.ClientSideError(
            f'Unable to convert the value {raw} to the expected data type datetime.')


def infer_literal(raw):
    """Type a metadata value without ``q.type`` by a small, safe rule (never ``eval``).

    ``123`` -> int, ``0.75``/``1e3`` -> float, ``True``/``False`` -> bool,
    ``None`` -> NULL, ``'x'``/``"x"`` -> ``x``; everything else is the raw string.
    """
    if _INT_RE.match(raw):
        number = int(raw)
        if abs(number) <= _INT64_MAX:
            return number
        try:
            return float(number)
        except OverflowError:
            # Beyond any stored number: it can only ever equal the same text.
            return raw
    if _FLOAT_RE.match(raw):
        number = float(raw)
        return number if math.isfinite(number) else raw
    if raw in ('True', 'False'):
        return raw == 'True'
    if raw == 'None':
        return storage.NULL
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in '\'"':
        inner = raw[1:-1]
        if raw[0] not in inner and '\\' not in inner:
            return inner
    return raw
