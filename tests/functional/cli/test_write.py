"""Commands that post samples: sample-create, sample-create-list and sample-import."""

import csv
import io
import json

import pytest
import requests


@pytest.fixture(scope='module')
def server(token_server):
    return token_server


@pytest.fixture
def run(server, meterd):
    return lambda *argv: meterd('--config-file', server.conf_path, *argv)


def properties(table):
    """{property: value} of a Property/Value table."""
    rows = [line.split('|')[1:-1] for line in table.splitlines() if line.startswith('| ')]
    return {k.strip(): v.strip() for k, v in rows[1:]}


def stored(server, meter):
    """Samples of ``meter`` straight from the API, oldest first."""
    resp = requests.get(f'{server.endpoint}/v2/samples', headers=server.headers(),
                        params=[('q.field', 'meter'), ('q.op', 'eq'), ('q.value', meter),
                                ('q.type', ''), ('limit', '10000')], timeout=60)
    assert resp.status_code == 200, resp.text
    return list(reversed(resp.json()))


def test_sample_create_shows_the_stored_sample(run, server):
    result = run('sample-create', '-r', 'vm-9', '-m', 'net.bytes', '--meter-type', 'cumulative',
                 '--meter-unit', 'B', '--sample-volume', '2048',
                 '--resource-metadata', '{"nic": "eth0", "speed": 1000}',
                 '--timestamp', '2026-02-01T12:00:00', '--project-id', 'p9',
                 '--user-id', 'u9', '--source', 'lab', '--direct')
    assert result.code == 0, result
    shown = properties(result.out)
    assert shown == {
        'name': 'net.bytes', 'volume': '2048.0', 'type': 'cumulative', 'unit': 'B',
        'resource_id': 'vm-9', 'source': 'p9:lab', 'project_id': 'p9', 'user_id': 'u9',
        'resource_metadata': '{"nic": "eth0", "speed": "1000"}',
        'timestamp': '2026-02-01T12:00:00', 'message_id': shown['message_id']}
    assert len(shown['message_id']) == 36
    (sample,) = stored(server, 'net.bytes')
    assert (sample['volume'], sample['project_id'], sample['user_id'], sample['metadata']) == (
        2048.0, 'p9', 'u9', {'nic': 'eth0', 'speed': '1000'})


def test_sample_create_json_and_csv(run):
    argv = ('sample-create', '-r', 'vm-9', '-m', 'temp', '--meter-type', 'gauge',
            '--meter-unit', 'C', '--sample-volume', '21.5')
    (created,) = [run(*argv, '-f', 'json').json()]
    assert created['counter_volume'] == 21.5 and created['project_id'] == 'admin'
    row = next(csv.DictReader(io.StringIO(run(*argv, '-f', 'csv').out)))
    assert (row['name'], row['volume'], row['resource_id']) == ('temp', '21.5', 'vm-9')


@pytest.mark.parametrize('argv, message', [
    (('--meter-type', 'bogus', '--sample-volume', '1'),
     "HTTP 400 Bad Request: Invalid input for field/attribute counter_type. Value: 'bogus'. "
     'The counter type must be: gauge, delta, cumulative'),
    (('--meter-type', 'gauge', '--sample-volume', '1', '--resource-metadata', '[1]'),
     '--resource-metadata must be a JSON object'),
    (('--meter-type', 'gauge', '--sample-volume', '1', '--resource-metadata', '{x'),
     '--resource-metadata is not valid JSON'),
])
def test_sample_create_errors(run, argv, message):
    result = run('sample-create', '-r', 'vm-9', '-m', 'bad', '--meter-unit', 'u', *argv)
    assert (result.code, result.out) == (1, '')
    assert result.err.startswith('meterd: error: ' + message)


def test_sample_create_list_posts_one_request_per_meter(run, server, tmp_path):
    samples = [{'counter_name': f'list.{m}', 'counter_type': 'gauge', 'counter_unit': 'u',
                'counter_volume': v, 'resource_id': 'vm-l',
                'timestamp': f'2026-03-01T00:0{v}:00'}
               for m, v in (('a', 1), ('b', 2), ('a', 3))]
    result = run('--debug', 'sample-create-list', json.dumps(samples), '-f', 'csv')
    assert result.code == 0, result
    assert [line.split()[5] for line in result.err.splitlines() if line.startswith('curl')] == [
        f"{server.endpoint}/v2/meters/list.a", f"{server.endpoint}/v2/meters/list.b"]
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [(r['counter_name'], r['counter_volume']) for r in rows] == [
        ('list.a', '1.0'), ('list.a', '3.0'), ('list.b', '2.0')]
    path = tmp_path / 'more.json'
    path.write_text(json.dumps(samples[:1]))
    table = run('sample-create-list', f'@{path}').out.splitlines()
    assert table[1] == ('| Resource ID | Name   | Type  | Volume | Unit | Timestamp           |')
    assert table[3] == ('| vm-l        | list.a | gauge | 1.0    | u    | 2026-03-01T00:01:00 |')
    assert [s['volume'] for s in stored(server, 'list.a')] == [1.0, 1.0, 3.0]


def jsonl_samples(meter, count, bad_line=None):
    lines = []
    for i in range(1, count + 1):
        lines.append(json.dumps({
            'counter_name': meter if i % 2 else meter + '.odd',
            'counter_type': 'bogus' if i == bad_line else 'gauge',
            'counter_unit': 'u', 'counter_volume': i, 'resource_id': f'r{i % 3}',
            'timestamp': f'2026-04-01T00:{i // 60:02d}:{i % 60:02d}',
            'resource_metadata': {'line': i}}))
    return '\n'.join(lines) + '\n'


def test_sample_import_json_lines_with_progress(run, server, tmp_path):
    path = tmp_path / 'samples.jsonl'
    path.write_text(jsonl_samples('imp', 250))
    result = run('sample-import', path, '--batch-size', '100')
    assert result.code == 0, result
    assert result.out.startswith('imported 250 samples (lines 1-250) in 6 requests, ')
    assert result.out.rstrip().endswith(' samples/s')
    assert '250/250' in result.err and 'samples/s' in result.err  # the tqdm bar
    imported = stored(server, 'imp') + stored(server, 'imp.odd')
    assert sorted(s['volume'] for s in imported) == [float(i) for i in range(1, 251)]
    assert {s['metadata']['line'] for s in imported} == {str(i) for i in range(1, 251)}


def test_sample_import_csv_as_exported_by_sample_list(run, server, tmp_path):
    path = tmp_path / 'usage.csv'
    path.write_text('meter,type,unit,volume,resource_id,timestamp,metadata.flavor\n'
                    'csv.m,gauge,%,1.5,vm-1,2026-05-01T00:00:00,m1.small\n'
                    'csv.m,gauge,%,2.5,vm-2,2026-05-01T00:01:00,\n')
    result = run('sample-import', path, '--no-progress')
    assert result.code == 0, result
    assert result.err == ''
    assert [(s['resource_id'], s['volume'], s['metadata']) for s in stored(server, 'csv.m')] == [
        ('vm-1', 1.5, {'flavor': 'm1.small'}), ('vm-2', 2.5, {})]
    # The CSV that sample-list writes loads back.
    export = tmp_path / 'export.csv'
    export.write_text(run('sample-list', '-q', 'meter=csv.m', '-f', 'csv').out)
    assert run('sample-import', export, '--no-progress').code == 0
    assert len(stored(server, 'csv.m')) == 4


def test_rejected_batch_stops_with_line_numbers_then_only_lines_and_resume_finish(
        run, server, tmp_path):
    path = tmp_path / 'broken.jsonl'
    path.write_text(jsonl_samples('rej', 20, bad_line=13))
    result = run('sample-import', path, '--batch-size', '5', '--no-progress')
    assert (result.code, result.out) == (1, '')
    assert result.err == (
        "meterd: error: lines 11,13,15 (meter 'rej') rejected: HTTP 400: Invalid input for "
        "field/attribute counter_type. Value: 'bogus'. The counter type must be: gauge, delta, "
        "cumulative. The batch of lines 11-15 was otherwise imported (12 samples stored so "
        "far). Fix the rejected lines, load them with --only-lines 11,13,15, then go on with "
        "--resume-from 16.\n")
    volumes = {s['volume'] for s in stored(server, 'rej') + stored(server, 'rej.odd')}
    assert volumes == {float(i) for i in range(1, 16)} - {11.0, 13.0, 15.0}

    path.write_text(jsonl_samples('rej', 20))
    fixed = run('sample-import', path, '--only-lines', '11,13,15', '--no-progress')
    assert fixed.code == 0 and fixed.out.startswith('imported 3 samples (lines 11-15)'), fixed
    rest = run('sample-import', path, '--resume-from', '16', '--no-progress')
    assert rest.code == 0 and rest.out.startswith('imported 5 samples (lines 16-20)'), rest
    volumes = sorted(s['volume'] for s in stored(server, 'rej') + stored(server, 'rej.odd'))
    assert volumes == [float(i) for i in range(1, 21)]


def test_unreadable_line_stops_before_its_batch(run, tmp_path):
    path = tmp_path / 'cut.jsonl'
    path.write_text(jsonl_samples('cut', 4) + '{"counter_name": \n')
    result = run('sample-import', path, '--batch-size', '3', '--no-progress')
    assert result.code == 1
    assert result.err.startswith('meterd: error: line 5: not valid JSON')
    assert ('Nothing from line 4 on was imported; fix the file and resume with '
            '--resume-from 4. (3 samples stored so far.)') in result.err


def test_missing_import_file(run, tmp_path):
    result = run('sample-import', tmp_path / 'nope.jsonl')
    assert result.code == 1
    assert result.err == (f'meterd: error: cannot open {tmp_path}/nope.jsonl: '
                          'No such file or directory\n')


def test_ids_with_slashes_and_percent_signs_round_trip(run):
    created = run('sample-create', '-r', 'images/a b%2F', '-m', 'image.size', '--meter-type',
                  'gauge', '--meter-unit', 'B', '--sample-volume', '7', '-f', 'json')
    assert created.code == 0, created
    shown = run('resource-show', 'images/a b%2F', '-f', 'json')
    assert shown.code == 0, shown
    assert shown.json()['resource_id'] == 'images/a b%2F'
    sample = run('sample-show', created.json()['message_id'], '-f', 'json').json()
    assert sample['resource_id'] == 'images/a b%2F'
