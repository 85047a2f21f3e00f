"""Every read command of ``meterd`` against a real meterd-api in token mode, all formats.

The client finds the endpoint and the admin token through ``--config-file`` (the
server's own config and token file), as an operator on the server machine would.
"""

import csv
import io
import json

import pytest

SAMPLES = [
    {'counter_name': 'cpu_util', 'counter_type': 'gauge', 'counter_unit': '%',
     'counter_volume': 10, 'resource_id': 'vm-1', 'project_id': 'p1', 'user_id': 'u1',
     'timestamp': '2026-01-01T00:10:00', 'resource_metadata': {'flavor': 'm1.small'}},
    {'counter_name': 'cpu_util', 'counter_type': 'gauge', 'counter_unit': '%',
     'counter_volume': 20, 'resource_id': 'vm-1', 'project_id': 'p1', 'user_id': 'u1',
     'timestamp': '2026-01-01T01:10:00', 'resource_metadata': {'flavor': 'm1.small'}},
    {'counter_name': 'cpu_util', 'counter_type': 'gauge', 'counter_unit': '%',
     'counter_volume': 30, 'resource_id': 'vm-1', 'project_id': 'p1', 'user_id': 'u1',
     'timestamp': '2026-01-01T03:10:00', 'resource_metadata': {'flavor': 'm1.small'}},
    {'counter_name': 'cpu_util', 'counter_type': 'gauge', 'counter_unit': '%',
     'counter_volume': 40, 'resource_id': 'vm-2', 'project_id': 'p2', 'user_id': 'u2',
     'timestamp': '2026-01-01T00:20:00', 'resource_metadata': {'flavor': 'm1.large'}},
    {'counter_name': 'disk.read.bytes', 'counter_type': 'cumulative', 'counter_unit': 'B',
     'counter_volume': 1024, 'resource_id': 'vm-1', 'project_id': 'p1', 'user_id': 'u1',
     'timestamp': '2026-01-01T00:30:00'},
]


@pytest.fixture(scope='module')
def server(token_server):
    token_server.post_samples(SAMPLES)
    return token_server


@pytest.fixture
def run(server, meterd):
    return lambda *argv: meterd('--config-file', server.conf_path, *argv)


def csv_rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_meter_list_table_sorted_by_name(run):
    result = run('meter-list')
    assert result.code == 0, result
    assert result.out == '\n'.join([
        '+-----------------+------------+------+-------------+---------+------------+',
        '| Name            | Type       | Unit | Resource ID | User ID | Project ID |',
        '+-----------------+------------+------+-------------+---------+------------+',
        '| cpu_util        | gauge      | %    | vm-1        | u1      | p1         |',
        '| cpu_util        | gauge      | %    | vm-2        | u2      | p2         |',
        '| disk.read.bytes | cumulative | B    | vm-1        | u1      | p1         |',
        '+-----------------+------------+------+-------------+---------+------------+', ''])


def test_meter_list_json_csv_query_and_unique(run):
    meters = run('meter-list', '-f', 'json').json()
    assert sorted((m['name'], m['resource_id']) for m in meters) == [
        ('cpu_util', 'vm-1'), ('cpu_util', 'vm-2'), ('disk.read.bytes', 'vm-1')]
    assert all(m['meter_id'] and m['source'] for m in meters)
    rows = csv_rows(run('meter-list', '-f', 'csv', '-q', 'project_id=p2').out)
    assert rows == [{'name': 'cpu_util', 'type': 'gauge', 'unit': '%', 'resource_id': 'vm-2',
                     'user_id': 'u2', 'project_id': 'p2'}]
    unique = run('meter-list', '--unique', '-f', 'json').json()
    assert sorted(m['name'] for m in unique) == ['cpu_util', 'disk.read.bytes']


def test_sample_list_new_form_newest_first(run):
    result = run('sample-list', '-q', 'resource_id=vm-1;meter=cpu_util', '-f', 'csv')
    assert result.code == 0, result
    rows = csv_rows(result.out)
    assert list(rows[0]) == ['id', 'resource_id', 'meter', 'type', 'volume', 'unit',
                             'timestamp']
    assert [(r['volume'], r['timestamp']) for r in rows] == [
        ('30.0', '2026-01-01T03:10:00'), ('20.0', '2026-01-01T01:10:00'),
        ('10.0', '2026-01-01T00:10:00')]


def test_sample_list_table_limit_and_typed_metadata_query(run):
    result = run('sample-list', '-q', 'metadata.flavor=string::m1.large', '-l', '5')
    lines = result.out.splitlines()
    assert lines[1].split('|')[1:-1] == [' ID                                   ', ' Resource ID ',
                                         ' Name     ', ' Type  ', ' Volume ', ' Unit ',
                                         ' Timestamp           ']
    assert len(lines) == 5 and '| vm-2        | cpu_util | gauge | 40.0   | %    |' in lines[3]
    assert len(run('sample-list', '-l', '2', '-f', 'json').json()) == 2


def test_sample_list_old_form_through_the_meter_path(run, server, meterd):
    result = meterd('--config-file', server.conf_path, '--debug', 'sample-list',
                    '-m', 'cpu_util', '-q', 'timestamp>=2026-01-01T01:00:00', '-f', 'csv')
    assert result.code == 0, result
    assert csv_rows(result.out) == [
        {'resource_id': 'vm-1', 'counter_name': 'cpu_util', 'counter_type': 'gauge',
         'counter_volume': '30.0', 'counter_unit': '%', 'timestamp': '2026-01-01T03:10:00'},
        {'resource_id': 'vm-1', 'counter_name': 'cpu_util', 'counter_type': 'gauge',
         'counter_volume': '20.0', 'counter_unit': '%', 'timestamp': '2026-01-01T01:10:00'}]
    assert (f"'{server.endpoint}/v2/meters/cpu_util?q.field=timestamp&q.op=ge"
            "&q.value=2026-01-01T01%3A00%3A00&q.type='") in result.err
    old = run('sample-list', '-m', 'disk.read.bytes', '-f', 'json').json()
    assert [(s['counter_name'], s['counter_volume']) for s in old] == [('disk.read.bytes', 1024.0)]


def test_sample_show_all_formats(run):
    (listed,) = run('sample-list', '-q', 'meter=disk.read.bytes', '-f', 'json').json()
    shown = run('sample-show', listed['id'], '-f', 'json').json()
    assert shown == listed
    table = run('sample-show', listed['id']).out.splitlines()
    assert table[1] == '| Property    | Value                                |'
    assert '| meter       | disk.read.bytes                      |' in table
    assert '| volume      | 1024.0                               |' in table
    rows = csv_rows(run('sample-show', listed['id'], '-f', 'csv').out)
    assert rows[0]['resource_id'] == 'vm-1' and rows[0]['metadata'] == '{}'


def test_statistics_standard_table(run):
    result = run('statistics', '-m', 'cpu_util')
    assert result.code == 0, result
    assert result.out.splitlines()[1] == (
        '| Period | Period Start        | Period End          | Max  | Min  | Avg  | Sum   '
        '| Count | Duration | Duration Start      | Duration End        |')
    assert result.out.splitlines()[3] == (
        '| 0      | 2026-01-01T00:10:00 | 2026-01-01T03:10:00 | 40.0 | 10.0 | 25.0 | 100.0 '
        '| 4     | 10800.0  | 2026-01-01T00:10:00 | 2026-01-01T03:10:00 |')


def test_statistics_groupby_and_selectable_aggregates(run):
    argv = ('statistics', '-m', 'cpu_util', '-g', 'resource_id', '-g', 'project_id',
            '-a', 'max', '-a', 'cardinality<-user_id', '-a', 'stddev')
    stats = run(*argv, '-f', 'json').json()
    by_resource = {s['groupby']['resource_id']: s for s in stats}
    assert by_resource['vm-1']['aggregate'] == {
        'max': 30.0, 'cardinality/user_id': 1.0, 'stddev': pytest.approx(8.16496580927726)}
    assert by_resource['vm-2']['groupby'] == {'resource_id': 'vm-2', 'project_id': 'p2'}
    rows = csv_rows(run(*argv, '-f', 'csv').out)
    assert list(rows[0]) == ['period', 'period_start', 'period_end', 'groupby', 'max',
                             'cardinality/user_id', 'stddev', 'duration', 'duration_start',
                             'duration_end']
    table = run(*argv).out.splitlines()
    assert ('| Group By                        | Max  | cardinality/user_id '
            '| Standard deviation |') in table[1]
    assert '| project_id=p1, resource_id=vm-1 ' in '\n'.join(table)


def test_statistics_plot_shows_the_empty_hour_as_a_gap(run):
    result = run('statistics', '-m', 'cpu_util', '-p', '3600', '--plot', '--plot-width', '8',
                 '-q', 'timestamp>=2026-01-01T00:00:00;resource_id=vm-1')
    assert result.code == 0, result
    assert result.out == '\n'.join([
        'avg  min 10  max 30  ▁▅·█',
        '2026-01-01T00:00:00 │██▋     │ 10',
        '2026-01-01T01:00:00 │█████▍  │ 20',
        '2026-01-01T02:00:00 │·       │',
        '2026-01-01T03:00:00 │████████│ 30', ''])


def test_statistics_plot_png(run, tmp_path):
    pytest.importorskip('matplotlib')
    from matplotlib import image

    png = tmp_path / 'cpu.png'
    result = run('statistics', '-m', 'cpu_util', '-p', '3600', '-a', 'max',
                 '--plot-png', png, '-f', 'json')
    assert result.code == 0, result
    assert f'wrote {png}' in result.err
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert image.imread(str(png)).shape[:2] == (400, 1000)
    assert [s['max'] for s in result.json()] == [40.0, 20.0, 30.0]


def test_resource_list_all_formats(run, server, meterd):
    result = meterd('--config-file', server.conf_path, '--debug', 'resource-list', '-f', 'csv')
    assert 'meter_links=0' in result.err
    assert sorted(map(tuple, (r.values() for r in csv_rows(result.out)))) == [
        ('vm-1', 'p1:openstack', 'u1', 'p1'), ('vm-2', 'p2:openstack', 'u2', 'p2')]
    resources = run('resource-list', '-f', 'json', '-q', 'project_id=p1').json()
    assert [r['resource_id'] for r in resources] == ['vm-1']
    assert {link['rel'] for link in resources[0]['links']} == {
        'self', 'cpu_util', 'disk.read.bytes'}
    table = run('resource-list', '-q', 'user_id=u2').out.splitlines()
    assert table[1] == '| Resource ID | Source       | User ID | Project ID |'
    assert table[3] == '| vm-2        | p2:openstack | u2      | p2         |'


def test_resource_show_all_formats(run):
    table = run('resource-show', 'vm-1').out.splitlines()
    assert '| first_sample_timestamp | 2026-01-01T00:10:00       |' in table
    assert '| last_sample_timestamp  | 2026-01-01T03:10:00       |' in table
    assert '| metadata               | {"flavor": "m1.small"}    |' in table
    assert any(line in ('| meters                 | cpu_util, disk.read.bytes |',
                        '| meters                 | disk.read.bytes, cpu_util |')
               for line in table)
    doc = run('resource-show', 'vm-1', '-f', 'json').json()
    assert doc['resource_id'] == 'vm-1' and doc['links'][0]['rel'] == 'self'
    assert csv_rows(run('resource-show', 'vm-2', '-f', 'csv').out)[0]['project_id'] == 'p2'


def test_query_samples_filter_orderby_limit(run, server, meterd):
    result = meterd('--config-file', server.conf_path, '--debug', 'query-samples',
                    '-f', '{"and": [{"=": {"meter": "cpu_util"}}, {">": {"volume": 10}}]}',
                    '-o', '[{"volume": "asc"}]', '-l', '2', '--format', 'csv')
    assert result.code == 0, result
    assert [(r['resource_id'], r['volume']) for r in csv_rows(result.out)] == [
        ('vm-1', '20.0'), ('vm-1', '30.0')]
    # filter and orderby travel as JSON texts inside strings, as the API wants.
    assert ('{"filter": "{\\"and\\": [{\\"=\\": {\\"meter\\": \\"cpu_util\\"}}, {\\">\\": '
            '{\\"volume\\": 10}}]}", "orderby": "[{\\"volume\\": \\"asc\\"}]", "limit": 2}'
            ) in result.err
    table = run('query-samples', '--filter', '{"=~": {"resource": "^vm-2$"}}').out.splitlines()
    assert table[1].startswith('| ID ')
    assert '| vm-2        | cpu_util | gauge | 40.0   |' in table[3]


def test_capabilities_all_formats(run):
    table = run('capabilities').out
    assert '| api      | meters:query:metadata: true' in table
    assert '|          | statistics:groupby: true' in table
    caps = run('capabilities', '-f', 'json').json()
    assert caps['storage'] == {'storage:production_ready': True}
    rows = csv_rows(run('capabilities', '-f', 'csv').out)
    assert {'capability': 'api:samples:query:complex', 'value': 'True'} in rows


def test_debug_prints_runnable_curl_lines_without_the_token(server, meterd):
    result = meterd('--config-file', server.conf_path, '--debug', 'meter-list', '-l', '1')
    assert server.token not in result.err + result.out
    curl, status = result.err.splitlines()[:2]
    assert curl == (f"curl -g -i -X GET '{server.endpoint}/v2/meters?limit=1' "
                    "-H 'Accept: application/json' -H \"X-Auth-Token: $OS_TOKEN\"")
    assert status.startswith('< HTTP 200 OK  ') and ' ms  ' in status and 'req-' in status


def test_endpoint_and_token_from_the_environment(server, meterd, monkeypatch):
    monkeypatch.setenv('METERD_URL', server.endpoint + '/v2')
    monkeypatch.setenv('OS_TOKEN', server.token)
    assert meterd('meter-list', '-f', 'json').code == 0
    result = meterd('--os-token', 'wrong', 'meter-list')
    assert (result.code, result.out) == (1, '')
    assert result.err == ('meterd: error: HTTP 401 Unauthorized: The request you have made '
                          'requires authentication.\n')


@pytest.mark.parametrize('argv, message', [
    (('sample-show', 'nope'), 'HTTP 404 Not Found: Sample nope Not Found'),
    (('sample-list', '-l', '0'), 'HTTP 400 Bad Request: Limit must be positive'),
    (('statistics', '-m', 'cpu_util', '-a', 'median'),
     'HTTP 400 Bad Request: Invalid aggregation function: median'),
    (('resource-list', '-q', 'meter=cpu_util'),
     'HTTP 400 Bad Request: Unknown argument: "meter": unrecognized field in query'),
    (('sample-list', '-q', 'resource_id'),
     "invalid query 'resource_id': missing operator (one of = != < <= > >=)"),
    (('query-samples', '--filter', '{"=": "x"'), '--filter is not valid JSON'),
])
def test_errors_are_one_line_with_the_servers_message(run, argv, message):
    result = run(*argv)
    assert result.code == 1 and result.out == ''
    assert result.err.startswith('meterd: error: ' + message)
    assert result.err.count('\n') == 1 and 'Traceback' not in result.err


def test_json_output_is_the_api_document(run, server):
    import requests

    api = requests.get(f'{server.endpoint}/v2/resources/vm-2', headers=server.headers()).json()
    assert json.loads(run('resource-show', 'vm-2', '-f', 'json').out) == api
