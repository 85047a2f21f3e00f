"""The -q mini-language and aggregate syntax of the ceilometer client."""

import pytest

from meterd.cli import query


def test_parse_the_documented_example():
    terms = query.parse('resource_id=r1;timestamp>=2026-01-01T00:00:00;flavor=string::m1.small')
    assert terms == [query.Term('resource_id', 'eq', 'r1', ''),
                     query.Term('timestamp', 'ge', '2026-01-01T00:00:00', ''),
                     query.Term('flavor', 'eq', 'm1.small', 'string')]


@pytest.mark.parametrize('text, op', [('a=1', 'eq'), ('a!=1', 'ne'), ('a<1', 'lt'),
                                      ('a<=1', 'le'), ('a>1', 'gt'), ('a>=1', 'ge')])
def test_every_operator_maps_to_its_api_name(text, op):
    assert query.parse(text) == [query.Term('a', op, '1')]


@pytest.mark.parametrize('type_', query.TYPES)
def test_type_prefixes_become_q_type(type_):
    assert query.parse(f'metadata.x={type_}::42') == [query.Term('metadata.x', 'eq', '42', type_)]


def test_unknown_type_prefix_stays_part_of_the_value():
    assert query.parse('a=list::1') == [query.Term('a', 'eq', 'list::1')]


def test_only_the_first_operator_splits_and_spaces_are_trimmed():
    assert query.parse(' metadata.cmd = a=b<c ; b >= 2 ') == [
        query.Term('metadata.cmd', 'eq', 'a=b<c'), query.Term('b', 'ge', '2')]


def test_escaped_semicolon_stays_in_the_value():
    assert query.parse(r'a=x\;y;b=2') == [query.Term('a', 'eq', 'x;y'), query.Term('b', 'eq', '2')]


def test_blank_text_and_empty_terms_give_nothing():
    assert query.parse(None) == []
    assert query.parse('  ') == []
    assert query.parse('a=1;;') == [query.Term('a', 'eq', '1')]


@pytest.mark.parametrize('text, missing', [('resource_id', 'operator'), ('=r1', 'field'),
                                           ('a=', 'value'), ('a=string::', 'value')])
def test_incomplete_terms_are_rejected_naming_what_is_missing(text, missing):
    with pytest.raises(query.QueryError, match=f'invalid query .*missing {missing}'):
        query.parse(text)


def test_params_send_all_four_attributes_per_term_in_order():
    terms = query.parse('a=1;b>=2;c=integer::3')
    assert query.to_params(terms) == [
        ('q.field', 'a'), ('q.op', 'eq'), ('q.value', '1'), ('q.type', ''),
        ('q.field', 'b'), ('q.op', 'ge'), ('q.value', '2'), ('q.type', ''),
        ('q.field', 'c'), ('q.op', 'eq'), ('q.value', '3'), ('q.type', 'integer')]


def test_aggregate_syntax():
    assert query.parse_aggregate('max') == ('max', None)
    assert query.parse_aggregate('cardinality<-resource_id') == ('cardinality', 'resource_id')
    for bad in ('', '<-x', 'cardinality<-'):
        with pytest.raises(query.QueryError):
            query.parse_aggregate(bad)


def test_aggregates_with_a_param_go_first_so_positions_line_up():
    params = query.aggregate_params([('max', None), ('cardinality', 'resource_id'),
                                     ('avg', None), ('cardinality', 'user_id')])
    assert params == [('aggregate.func', 'cardinality'), ('aggregate.func', 'cardinality'),
                      ('aggregate.func', 'max'), ('aggregate.func', 'avg'),
                      ('aggregate.param', 'resource_id'), ('aggregate.param', 'user_id')]
