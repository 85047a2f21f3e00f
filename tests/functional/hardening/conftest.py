"""meterd-api as a real process on 127.0.0.1, for tests that need sockets, signals or logs."""

import os
import socket

import pytest
import requests

from tests import conftest as root
from tests import servers

#: Seconds a server gets to answer its first /healthcheck.
START_TIMEOUT = 30


free_port = servers.free_port


class ServerProcess(servers.MeterdServer):
    """One meterd-api process logging to its own file; stderr kept apart, both in log_text()."""

    def __init__(self, workdir, options):
        self.workdir = workdir
        log_file = os.path.join(workdir, 'meterd-api.log')
        super().__init__(workdir, servers.merge_sections(
            {'DEFAULT': {'state_path': workdir, 'log_file': log_file}}, options),
            output_name='stderr', stop_timeout=15)
        self.session = requests.Session()

    @property
    def base(self):
        return self.endpoint

    def start(self):
        super().start()
        return self.wait_ready('/healthcheck', timeout=START_TIMEOUT)

    def request(self, method, path, timeout=30, **kwargs):
        return self.session.request(method, self.base + path, timeout=timeout, **kwargs)

    kill9 = servers.MeterdServer.kill

    def connect(self, timeout=10):
        """A raw TCP connection to the server."""
        return socket.create_connection(('127.0.0.1', self.port), timeout=timeout)


@pytest.fixture
def server_factory(tmp_path):
    """Start meterd-api processes: ``server_factory(api={'opt': value}, ...)``."""
    started = []

    def _start(workdir=None, **options):
        workdir = workdir or str(tmp_path / f'srv{len(started)}')
        os.makedirs(workdir, exist_ok=True)
        server = ServerProcess(workdir, options)
        started.append(server)
        return server.start()

    yield _start
    for server in started:
        server.stop()


@pytest.fixture
def server(server_factory):
    """A noauth meterd-api over a fresh SQLite file."""
    return server_factory()


ADMIN = root.ADMIN
member_headers = root.member_headers


def sample(meter='cpu', resource='res-1', project=None, volume=1.0, **extra):
    """A POST body item; ``project`` None lets the caller's project fill in."""
    body = {'counter_name': meter, 'counter_type': 'gauge', 'counter_unit': 'u',
            'counter_volume': volume, 'resource_id': resource}
    if project is not None:
        body['project_id'] = project
    body.update(extra)
    return body
