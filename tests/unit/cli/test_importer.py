"""sample-import: reading JSON lines and CSV, batching, resume, and stopping on a rejection."""

import io
import json

import pytest

from meterd.cli import http
from meterd.cli import importer


class RecordingClient:
    """Stands in for the HTTP client: keeps the posts, rejects the meters it is told to."""

    def __init__(self, reject=()):
        self.posts = []
        self.reject = set(reject)

    def post(self, path, json_body, params=None):
        meter = path.rsplit('/', 1)[1]
        if meter in self.reject:
            raise http.HTTPError(400, 'Bad Request', f'no samples for {meter}')
        self.posts.append((meter, [s['resource_id'] for s in json_body]))
        return json_body


def jsonl(*samples):
    return io.StringIO(''.join(json.dumps(s) + '\n' for s in samples))


def sample(meter, resource, **extra):
    return dict({'counter_name': meter, 'counter_type': 'gauge', 'counter_unit': 'u',
                 'counter_volume': 1, 'resource_id': resource}, **extra)


def test_json_lines_keep_their_line_numbers_skipping_blanks_and_comments():
    stream = io.StringIO('# export\n' + json.dumps(sample('cpu', 'r1')) + '\n\n'
                         + json.dumps({'meter': 'mem', 'volume': 2, 'type': 'gauge',
                                       'unit': 'B', 'resource_id': 'r2', 'id': 'x',
                                       'recorded_at': '2026-01-01T00:00:00',
                                       'metadata': {'k': 'v'}}) + '\n')
    records = list(importer.records(stream, 'json'))
    assert [r.line for r in records] == [2, 4]
    assert records[1].sample == {'counter_name': 'mem', 'counter_volume': 2,
                                 'counter_type': 'gauge', 'counter_unit': 'B',
                                 'resource_id': 'r2', 'resource_metadata': {'k': 'v'}}


def test_csv_rows_with_json_and_dotted_metadata():
    stream = io.StringIO('meter,type,unit,volume,resource_id,metadata,metadata.size,project_id\n'
                         'cpu,gauge,%,1.5,r1,"{""a"": ""b""}",3,\n'
                         '"mem",gauge,B,2,r2,,,p1\n')
    records = list(importer.records(stream, 'csv'))
    assert [r.line for r in records] == [2, 3]
    assert records[0].sample == {'counter_name': 'cpu', 'counter_type': 'gauge',
                                 'counter_unit': '%', 'counter_volume': '1.5',
                                 'resource_id': 'r1',
                                 'resource_metadata': {'a': 'b', 'size': '3'}}
    assert records[1].sample['project_id'] == 'p1'
    assert 'resource_metadata' not in records[1].sample


def test_csv_line_numbers_count_physical_lines_of_multiline_cells():
    stream = io.StringIO('meter,resource_id,metadata\ncpu,r1,"{""a"":\n""b""}"\ncpu,r2,\n')
    assert [r.line for r in importer.records(stream, 'csv')] == [2, 4]


def test_unknown_field_and_bad_json_name_the_line():
    with pytest.raises(importer.ImportFailed, match="line 1: unknown field 'colour'"):
        list(importer.records(jsonl(sample('cpu', 'r', colour='red')), 'json'))
    with pytest.raises(importer.ImportFailed, match='line 2: not valid JSON'):
        list(importer.records(io.StringIO(json.dumps(sample('cpu', 'r')) + '\n{oops\n'), 'json'))


def test_batches_post_one_request_per_meter():
    client = RecordingClient()
    stream = jsonl(sample('cpu', 'a'), sample('mem', 'b'), sample('cpu', 'c'),
                   sample('mem', 'd'), sample('cpu', 'e'))
    done = []
    result = importer.run(client, stream, 'json', batch_size=3, progress=done.append)
    assert client.posts == [('cpu', ['a', 'c']), ('mem', ['b']), ('mem', ['d']), ('cpu', ['e'])]
    assert (result.imported, result.requests, result.first_line, result.last_line) == (5, 4, 1, 5)
    assert done == [3, 2]


def test_resume_from_skips_earlier_lines_and_only_lines_picks_lines():
    samples = [sample('cpu', f'r{i}') for i in range(1, 7)]
    client = RecordingClient()
    result = importer.run(client, jsonl(*samples), 'json', batch_size=10, resume_from=4)
    assert client.posts == [('cpu', ['r4', 'r5', 'r6'])]
    assert (result.imported, result.skipped) == (3, 3)
    client = RecordingClient()
    importer.run(client, jsonl(*samples), 'json', only_lines=importer.parse_lines_spec('2,5-6'))
    assert client.posts == [('cpu', ['r2', 'r5', 'r6'])]


def test_rejected_batch_stops_with_its_line_numbers_and_the_server_message():
    client = RecordingClient(reject={'bad'})
    stream = jsonl(sample('cpu', 'a'), sample('cpu', 'b'),            # batch 1: lines 1-2
                   sample('bad', 'c'), sample('cpu', 'd'),            # batch 2: lines 3-4
                   sample('cpu', 'e'))                                # never read
    with pytest.raises(importer.ImportFailed) as failure:
        importer.run(client, stream, 'json', batch_size=2)
    assert str(failure.value) == (
        "lines 3 (meter 'bad') rejected: HTTP 400: no samples for bad. The batch of lines "
        "3-4 was otherwise imported (3 samples stored so far). Fix the rejected lines, load "
        "them with --only-lines 3, then go on with --resume-from 5.")
    assert client.posts == [('cpu', ['a', 'b']), ('cpu', ['d'])]


def test_unreadable_line_posts_nothing_of_its_batch_and_says_where_to_resume():
    client = RecordingClient()
    stream = io.StringIO(''.join(json.dumps(sample('cpu', r)) + '\n' for r in 'abc') + 'oops\n')
    with pytest.raises(importer.ImportFailed) as failure:
        importer.run(client, stream, 'json', batch_size=2)
    assert 'line 4: not valid JSON' in str(failure.value)
    assert 'Nothing from line 3 on was imported' in str(failure.value)
    assert '--resume-from 3' in str(failure.value)
    assert client.posts == [('cpu', ['a', 'b'])]


def test_line_specs_round_trip():
    assert importer.parse_lines_spec('9, 3,7-8') == {3, 7, 8, 9}
    assert importer.format_lines({3, 7, 8, 9}) == '3,7-9'
    for bad in ('x', '5-3', '0'):
        with pytest.raises(http.CommandError):
            importer.parse_lines_spec(bad)


def test_format_detection():
    assert importer.detect_format('usage.CSV') == 'csv'
    assert importer.detect_format('usage.jsonl') == 'json'
    assert importer.detect_format('usage.txt', 'csv') == 'csv'
