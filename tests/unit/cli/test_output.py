"""Tables, JSON and CSV rendering of API documents."""

import json

from meterd.cli import output

COLUMNS = [output.Column('name', 'Name'), output.Column('volume', 'Volume'),
           output.Column('metadata', 'Metadata')]
ROWS = [{'name': 'cpu', 'volume': 1.5, 'metadata': {'b': 1, 'a': 'x'}, 'extra': True},
        {'name': 'disk.read.bytes', 'volume': None, 'metadata': {}}]


def test_table_is_framed_left_aligned_and_sized_to_the_widest_cell():
    assert output.render_list(ROWS, COLUMNS, 'table') == '\n'.join([
        '+-----------------+--------+--------------------+',
        '| Name            | Volume | Metadata           |',
        '+-----------------+--------+--------------------+',
        '| cpu             | 1.5    | {"a": "x", "b": 1} |',
        '| disk.read.bytes |        | {}                 |',
        '+-----------------+--------+--------------------+'])


def test_empty_list_is_a_header_only_table():
    assert output.render_list([], COLUMNS[:1], 'table') == '\n'.join([
        '+------+', '| Name |', '+------+', '+------+'])


def test_multiline_cells_span_rows_and_wide_characters_count_double():
    assert output.table(['K', 'V'], [['a', 'one\ntwo'], ['日本', 'x']]) == '\n'.join([
        '+------+-----+',
        '| K    | V   |',
        '+------+-----+',
        '| a    | one |',
        '|      | two |',
        '| 日本 | x   |',
        '+------+-----+'])


def test_json_keeps_every_field_of_the_documents():
    assert json.loads(output.render_list(ROWS, COLUMNS, 'json')) == ROWS


def test_csv_has_field_names_and_quotes_json_cells():
    assert output.render_list(ROWS, COLUMNS, 'csv') == '\n'.join([
        'name,volume,metadata',
        'cpu,1.5,"{""a"": ""x"", ""b"": 1}"',
        'disk.read.bytes,,{}'])


def test_object_table_is_sorted_and_wraps_long_values():
    obj = {'zeta': 'z', 'alpha': 'word ' * 20, 'flag': False}
    assert output.render_object(obj, 'table', wrap=30) == '\n'.join([
        '+----------+-------------------------------+',
        '| Property | Value                         |',
        '+----------+-------------------------------+',
        '| alpha    | word word word word word word |',
        '|          | word word word word word word |',
        '|          | word word word word word word |',
        '|          | word word                     |',
        '| flag     | False                         |',
        '| zeta     | z                             |',
        '+----------+-------------------------------+'])


def test_object_csv_and_json():
    obj = {'id': 's1', 'volume': 2.0, 'metadata': {'k': 'v'}}
    assert output.render_object(obj, 'csv', ['id', 'volume', 'metadata']) == (
        'id,volume,metadata\ns1,2.0,"{""k"": ""v""}"')
    assert json.loads(output.render_object(obj, 'json')) == obj
