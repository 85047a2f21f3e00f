"""A real meterd-api subprocess per test module, and a helper that runs ``meterd`` in-process."""

import contextlib
import http.server
import io
import json
import threading

import pytest
import requests

from meterd.cli import main as cli_main
from tests import servers

WAIT = servers.WAIT

#: Environment variables the client reads; cleared so the developer's shell cannot leak in.
CLIENT_ENV = ('METERD_URL', 'OS_TOKEN', 'METERD_CONFIG_FILE', 'OS_AUTH_URL', 'OS_USERNAME',
              'OS_PASSWORD', 'OS_PROJECT_NAME', 'OS_TENANT_NAME', 'OS_PROJECT_ID',
              'OS_USER_ID', 'OS_ROLES', 'OS_CACERT', 'OS_REGION_NAME', 'OS_INTERFACE',
              'OS_USER_DOMAIN_NAME', 'OS_PROJECT_DOMAIN_NAME')


free_port = servers.free_port


class Server(servers.MeterdServer):
    """meterd-api on a free loopback port with its own state directory, started at once."""

    def __init__(self, directory, auth_strategy):
        super().__init__(directory, {'DEFAULT': {'state_path': directory},
                                     'api': {'auth_strategy': auth_strategy}})
        self.start()
        # 200 in noauth mode, 401 in token mode: either way it serves.
        self.wait_ready(accept_statuses=None)

    @property
    def token(self):
        with open(self.directory / 'tokens.json') as f:
            return next(iter(json.load(f)))

    def headers(self):
        if (self.directory / 'tokens.json').exists():
            return {'X-Auth-Token': self.token}
        return {'X-Roles': 'admin', 'X-User-Id': 'admin', 'X-Project-Id': 'admin'}

    def post_samples(self, samples):
        """Seed data straight through the API (not through the client under test)."""
        by_meter = {}
        for sample in samples:
            by_meter.setdefault(sample['counter_name'], []).append(sample)
        for name, group in by_meter.items():
            resp = requests.post(f'{self.endpoint}/v2/meters/{name}', json=group,
                                 headers=self.headers(), timeout=WAIT)
            assert resp.status_code == 201, resp.text


@contextlib.contextmanager
def serving(handler):
    """A plain HTTP server in a thread (for stand-ins of other services); yields its base URL.

    Stopped by a flag rather than ``shutdown()``: eventlet, imported by the server code in
    this process, may have handed socketserver a green Event that a real thread cannot wake.
    """
    httpd = http.server.HTTPServer(('127.0.0.1', 0), handler)
    httpd.timeout = 0.1
    stop = []

    def loop():
        while not stop:
            httpd.handle_request()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{httpd.server_address[1]}'
    finally:
        stop.append(True)
        thread.join(WAIT)
        httpd.server_close()


@pytest.fixture(scope='module')
def token_server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp('meterd-token'), 'token')
    yield server
    server.stop()


@pytest.fixture(scope='module')
def noauth_server(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp('meterd-noauth'), 'noauth')
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean_client_env(monkeypatch):
    for name in CLIENT_ENV:
        monkeypatch.delenv(name, raising=False)


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return f'<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>'


@pytest.fixture
def meterd():
    """Run the ``meterd`` command in this process: meterd(*argv) -> Result."""
    def _run(*argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):
            code = cli_main.main([str(a) for a in argv], out=out)
        return Result(code, out.getvalue(), err.getvalue())
    return _run
