"""The ``-q`` mini-language of the ceilometer client, turned into ``q.*`` query parameters.

``resource_id=r1;timestamp>=2026-01-01T00:00:00;flavor=string::m1.small``: terms are
separated by ``;`` (``\\;`` keeps a literal semicolon in a value), each term is
``field<op>value`` with ``op`` one of ``= != < <= > >=``, and a value may carry a
``<type>::`` prefix that becomes ``q.type``. The API binds ``q.field/q.op/q.value/q.type``
by position, so every term always sends all four (empty type = not given), as the
ceilometer client did.
"""

import dataclasses
import re

#: CLI operator -> API operator.
OPERATORS = {'!=': 'ne', '>=': 'ge', '<=': 'le', '>': 'gt', '<': 'lt', '=': 'eq'}

#: Types the API converts metadata values to (spec §7.5).
TYPES = ('string', 'integer', 'float', 'datetime', 'boolean')

# Longest operators first, so "<=" is not read as "<" followed by a value "=...".
_OP_RE = re.compile('|'.join(re.escape(op) for op in sorted(OPERATORS, key=len, reverse=True)))
_TYPE_RE = re.compile(r'^(%s)::(.*)$' % '|'.join(TYPES), re.DOTALL)
_SEPARATOR_RE = re.compile(r'(?<!\\);')


class QueryError(ValueError):
    """A -q text that cannot be parsed; the message names the bad term."""


@dataclasses.dataclass(frozen=True)
class Term:
    field: str
    op: str
    value: str
    type: str = ''


def parse(text):
    """Parse a -q text into Terms; None or blank text gives no terms.

    :raises QueryError: a term without field, operator or value.
    """
    if text is None or not text.strip():
        return []
    terms = []
    for raw in _SEPARATOR_RE.split(text):
        if not raw.strip():
            continue  # tolerate "a=1;" and "a=1;;b=2"
        terms.append(_parse_term(raw.replace('\\;', ';')))
    return terms


def _parse_term(raw):
    match = _OP_RE.search(raw)
    if match is None:
        raise QueryError(f'invalid query {raw!r}: missing operator (one of = != < <= > >=)')
    field, value = raw[:match.start()].strip(), raw[match.end():].strip()
    if not field:
        raise QueryError(f'invalid query {raw!r}: missing field')
    if not value:
        raise QueryError(f'invalid query {raw!r}: missing value')
    typed = _TYPE_RE.match(value)
    if typed:
        type_, value = typed.group(1), typed.group(2)
        if not value:
            raise QueryError(f'invalid query {raw!r}: missing value after {type_}::')
        return Term(field, OPERATORS[match.group()], value, type_)
    return Term(field, OPERATORS[match.group()], value)


def to_params(terms):
    """The ``q.*`` query parameters of ``terms``, as an ordered list of (name, value)."""
    params = []
    for term in terms:
        params += [('q.field', term.field), ('q.op', term.op),
                   ('q.value', term.value), ('q.type', term.type)]
    return params


def parse_aggregate(text):
    """``func`` or ``func<-param`` (the ceilometer client's syntax) -> (func, param or None)."""
    func, sep, param = text.partition('<-')
    func, param = func.strip(), param.strip()
    if not func or (sep and not param):
        raise QueryError(f'invalid aggregate {text!r}: expected FUNC or FUNC<-PARAM '
                         '(e.g. cardinality<-resource_id)')
    return func, (param if sep else None)


def aggregate_params(aggregates):
    """``aggregate.func``/``aggregate.param`` parameters of (func, param) pairs.

    The API binds the two lists by position, so aggregates with a param go first:
    their params then line up with their functions, and the rest take none.
    """
    ordered = ([a for a in aggregates if a[1] is not None]
               + [a for a in aggregates if a[1] is None])
    params = [('aggregate.func', func) for func, _ in ordered]
    params += [('aggregate.param', param) for _, param in ordered if param is not None]
    return params
