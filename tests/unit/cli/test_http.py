"""Endpoint handling, error bodies and --debug curl lines of the client's HTTP layer."""

import json
import shlex

import pytest
import requests

from meterd.cli import http


@pytest.mark.parametrize('given, expected', [
    ('http://127.0.0.1:8777', 'http://127.0.0.1:8777'),
    ('http://127.0.0.1:8777/', 'http://127.0.0.1:8777'),
    ('http://127.0.0.1:8777/v2/', 'http://127.0.0.1:8777'),
    ('https://cloud.example/telemetry/v2', 'https://cloud.example/telemetry'),
])
def test_endpoint_normalisation(given, expected):
    assert http.normalize_endpoint(given) == expected


@pytest.mark.parametrize('bad', ['127.0.0.1:8777', 'ftp://x', '', 'http://'])
def test_endpoint_needs_an_http_url(bad):
    with pytest.raises(http.CommandError, match='invalid endpoint'):
        http.normalize_endpoint(bad)


def test_faultstring_of_both_error_body_forms():
    body = {'error_message': {'faultcode': 'Client', 'faultstring': 'Limit must be positive',
                              'debuginfo': None}}
    assert http.faultstring(json.dumps(body)) == 'Limit must be positive'
    assert http.faultstring(json.dumps({'error_message': '403 Forbidden\n\nRBAC'})) == (
        '403 Forbidden\n\nRBAC')
    assert http.faultstring('<html>nope</html>') is None
    assert http.faultstring('[]') is None


def test_command_errors_are_one_line():
    err = http.HTTPError(403, 'Forbidden', '403 Forbidden\n\nAccess was denied.\n\n RBAC ')
    assert str(err) == 'HTTP 403 Forbidden: 403 Forbidden Access was denied. RBAC'


def test_curl_line_masks_the_token_and_runs_as_shell_words():
    prepared = requests.Session().prepare_request(requests.Request(
        'POST', 'http://127.0.0.1:8777/v2/meters/cpu', params=[('q.field', 'a b')],
        data=b'[{"x": "it\'s"}]',
        headers={'X-Auth-Token': 'secret-token', 'Content-Type': 'application/json'}))
    line = http.curl_line(prepared)
    assert 'secret-token' not in line
    words = shlex.split(line)  # $OS_TOKEN stays a variable inside double quotes
    assert words[:6] == ['curl', '-g', '-i', '-X', 'POST',
                         'http://127.0.0.1:8777/v2/meters/cpu?q.field=a+b']
    assert 'X-Auth-Token: $OS_TOKEN' in words
    assert 'Content-Type: application/json' in words
    assert words[-2:] == ['-d', '[{"x": "it\'s"}]']


def test_path_segments_encode_slashes():
    assert http.quote_segment('disk.read.bytes') == 'disk.read.bytes'
    assert http.quote_segment('a/b c%') == 'a%2Fb%20c%25'


@pytest.mark.parametrize('reason, message', [
    ("HTTPConnectionPool(host='h.invalid', port=8777): Max retries exceeded with url: /v2 "
     "(Caused by NameResolutionError(\"<urllib3.connection.HTTPConnection object>: Failed to "
     "resolve 'h.invalid' ([Errno -2] Name or service not known)\"))",
     "cannot connect to http://h.invalid:8777: unknown host 'h.invalid'"),
    ("HTTPConnectionPool(host='h.invalid', port=8777): Max retries exceeded with url: /v2 "
     "(Caused by NewConnectionError('<urllib3.connection.HTTPConnection object>: Failed to "
     "establish a new connection: [Errno 113] No route to host'))",
     'cannot connect to http://h.invalid:8777: [Errno 113] No route to host'),
])
def test_connection_failures_read_as_one_sentence(reason, message):
    client = http.Client('http://h.invalid:8777')
    assert client._connection_message(requests.exceptions.ConnectionError(reason)) == message
