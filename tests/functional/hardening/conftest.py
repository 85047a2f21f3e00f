"""meterd-api as a real process on 127.0.0.1, for tests that need sockets, signals or logs."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests import conftest as root

#: Seconds a server gets to answer its first /healthcheck.
START_TIMEOUT = 30


def free_port():
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _command():
    script = shutil.which('meterd-api', path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, '-m', 'meterd.cmd.api']


class ServerProcess:
    """One meterd-api process with its own config file, database and log file."""

    def __init__(self, workdir, options):
        self.workdir = workdir
        self.port = free_port()
        self.log_path = os.path.join(workdir, 'meterd-api.log')
        self.conf_path = os.path.join(workdir, 'meterd.conf')
        groups = {'DEFAULT': {'state_path': workdir, 'log_file': self.log_path},
                  'api': {'host': '127.0.0.1', 'port': self.port, 'auth_strategy': 'noauth'},
                  'database': {'connection': f'sqlite:///{workdir}/meterd.db'}}
        for group, values in options.items():
            groups.setdefault(group, {}).update(values)
        with open(self.conf_path, 'w') as f:
            for group, values in groups.items():
                f.write(f'[{group}]\n')
                for name, value in values.items():
                    f.write(f'{name} = {value}\n')
        self.proc = None
        self.session = requests.Session()

    @property
    def base(self):
        return f'http://127.0.0.1:{self.port}'

    def start(self):
        self.proc = subprocess.Popen(
            _command() + ['--config-file', self.conf_path],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.workdir, 'stderr'), 'ab'),
            cwd=self.workdir)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f'meterd-api exited {self.proc.returncode}:\n'
                                     + self.log_text()[-4000:])
            try:
                if requests.get(self.base + '/healthcheck', timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError('meterd-api did not become ready:\n' + self.log_text()[-4000:])

    def request(self, method, path, timeout=30, **kwargs):
        return self.session.request(method, self.base + path, timeout=timeout, **kwargs)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill9()

    def log_text(self):
        text = ''
        for name in (self.log_path, os.path.join(self.workdir, 'stderr')):
            if os.path.exists(name):
                with open(name, errors='replace') as f:
                    text += f.read()
        return text

    def connect(self, timeout=10):
        """A raw TCP connection to the server."""
        return socket.create_connection(('127.0.0.1', self.port), timeout=timeout)


@pytest.fixture
def server_factory(tmp_path):
    """Start meterd-api processes: ``server_factory(api={'opt': value}, ...)``."""
    servers = []

    def _start(workdir=None, **options):
        workdir = workdir or str(tmp_path / f'srv{len(servers)}')
        os.makedirs(workdir, exist_ok=True)
        server = ServerProcess(workdir, options)
        servers.append(server)
        return server.start()

    yield _start
    for server in servers:
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
