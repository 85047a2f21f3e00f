"""What ``meterd`` says when the endpoint is wrong: one line, exit 1, no traceback."""

import http.server

import pytest

from tests.functional.cli import conftest


class NotFoundHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_error(404, 'File not found')

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def not_meterd():
    """A plain HTTP server that is not the Telemetry API (answers every path with 404 HTML)."""
    with conftest.serving(NotFoundHandler) as url:
        yield url


def one_line_error(result):
    assert result.code == 1 and result.out == ''
    assert result.err.startswith('meterd: error: ') and result.err.count('\n') == 1
    return result.err[len('meterd: error: '):].rstrip('\n')


def test_connection_refused(meterd):
    port = conftest.free_port()
    message = one_line_error(meterd('--os-endpoint', f'http://127.0.0.1:{port}', '--os-token',
                                    't', 'sample-list'))
    assert message == (f'cannot connect to http://127.0.0.1:{port}: connection refused (is '
                       'meterd-api running there? check --os-endpoint / METERD_URL)')


def test_not_a_url(meterd):
    message = one_line_error(meterd('--os-endpoint', '127.0.0.1:8777', 'meter-list'))
    assert message == ("invalid endpoint '127.0.0.1:8777': expected an http(s) URL such as "
                       'http://127.0.0.1:8777')


def test_a_server_that_is_not_meterd(meterd, not_meterd):
    message = one_line_error(meterd('--os-endpoint', not_meterd, '--os-token', 't',
                                    'resource-show', 'x'))
    assert message == (f'HTTP 404 File not found from GET {not_meterd}/v2/resources/x, without '
                       'a Telemetry API error body: is --os-endpoint/METERD_URL the meterd API '
                       '(e.g. http://127.0.0.1:8777)?')

