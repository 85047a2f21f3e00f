"""meterd-api as an operator runs it, for the functional tests that need a real process.

One place starts the ``meterd-api`` console script on a free loopback port with
a generated config file, waits until it answers, stops it with SIGTERM (SIGKILL
when it does not go) and reads back what it logged; the test modules add only
what is particular to them (tokens, a client runner, seeding helpers).
"""

import http.client
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

BIN = os.path.join(os.path.dirname(sys.executable), 'meterd-api')
#: Generous bound for start-up and shutdown on a loaded machine (not a speed check).
WAIT = 60


def free_port():
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def merge_sections(*layers):
    """``{group: {option: value}}`` dicts combined, later layers winning option by option."""
    merged = {}
    for layer in layers:
        for group, values in (layer or {}).items():
            merged.setdefault(group, {}).update(values)
    return merged


def write_config(path, sections):
    """Write ``{group: {option: value}}`` as an ini file ([DEFAULT] first); returns ``path``."""
    lines = []
    for group in sorted(sections, key=lambda g: g != 'DEFAULT'):
        lines.append(f'[{group}]')
        lines += [f'{name} = {value}' for name, value in sections[group].items()]
        lines.append('')
    path.write_text('\n'.join(lines))
    return path


def wait_until(predicate, what, timeout=WAIT):
    """Poll ``predicate`` until it is true; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f'timed out waiting for {what}')


class MeterdServer:
    """One meterd-api process with its config, SQLite database and output in ``directory``.

    The config holds only what the conformance harness writes (noauth on
    127.0.0.1, a SQLite file) plus ``sections`` on top. Building the object
    writes the config; ``start()`` runs the process. Its stdout and stderr go
    to ``output_name`` (appended, so a restart in the same directory keeps the
    first run's output). ``start_new_session`` puts it and its workers in a
    process group of their own, which ``kill()`` then kills whole.
    """

    def __init__(self, directory, sections=None, *, port=None, output_name='meterd-api.log',
                 start_new_session=False, stop_timeout=WAIT):
        self.directory = pathlib.Path(directory)
        self.port = port or free_port()
        self.endpoint = f'http://127.0.0.1:{self.port}'
        self.log_path = self.directory / 'meterd-api.log'
        self.output_path = self.directory / output_name
        self.start_new_session = start_new_session
        self.stop_timeout = stop_timeout
        self.conf_path = write_config(self.directory / 'meterd.conf', merge_sections(
            {'api': {'host': '127.0.0.1', 'port': self.port, 'auth_strategy': 'noauth'},
             'database': {'connection': f'sqlite:///{self.directory}/meterd.db'}},
            sections))
        self.proc = None
        self._output = None

    def start(self):
        self._output = open(self.output_path, 'ab')
        self.proc = subprocess.Popen(
            [BIN, '--config-file', str(self.conf_path)], stdout=self._output,
            stderr=subprocess.STDOUT, cwd=str(self.directory),
            start_new_session=self.start_new_session)
        return self

    def answers(self, path='/', accept_statuses=(200,), headers=None):
        """Whether GET ``path`` gets a status in ``accept_statuses`` (None: any status)."""
        if self.proc.poll() is not None:
            raise AssertionError(f'meterd-api exited {self.proc.returncode}:\n'
                                 + self.log_text()[-4000:])
        try:
            conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=5)
            conn.request('GET', path, headers=headers or {})
            resp = conn.getresponse()
            resp.read()
            conn.close()
        except OSError:
            return False
        return accept_statuses is None or resp.status in accept_statuses

    def wait_ready(self, path='/', accept_statuses=(200,), headers=None, timeout=WAIT):
        """Wait until it serves; a process that never does is stopped and its log shown."""
        try:
            wait_until(lambda: self.answers(path, accept_statuses, headers),
                       f'GET {path} to answer', timeout)
        except AssertionError as exc:
            running = self.proc.poll() is None
            self.stop()
            if running:
                raise AssertionError(f'meterd-api did not become ready ({exc}):\n'
                                     + self.log_text()[-4000:]) from None
            raise
        return self

    def stop(self):
        """SIGTERM, then SIGKILL if it outlives ``stop_timeout``; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_output()
        return self.proc.returncode

    def kill(self):
        """SIGKILL: the whole process group when it has one of its own (workers included)."""
        if self.proc is None:
            return
        if self.start_new_session:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            self.proc.kill()
        self.proc.wait(WAIT)
        self._close_output()

    def log_text(self):
        """Everything it logged: its log file (when configured) and its output."""
        text = ''
        for path in dict.fromkeys([self.log_path, self.output_path]):
            if path.exists():
                text += path.read_text(errors='replace')
        return text

    def _close_output(self):
        if self._output is not None:
            self._output.close()
