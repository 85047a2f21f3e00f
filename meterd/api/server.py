"""The eventlet WSGI server: listener, green pool, worker processes, graceful stop.

The only module that uses eventlet.wsgi. SIGTERM stops accepting, lets
in-flight requests finish (bounded by graceful_shutdown_timeout) and exits 0.
"""

import errno
import os
import signal
import socket
import sys
import time

import eventlet
import eventlet.wsgi
from oslo_config import cfg
from oslo_log import log

LOG = log.getLogger(__name__)

GROUP = 'api'
OPTS = [
    cfg.HostAddressOpt('host', default='127.0.0.1',
                       help='Address the API listens on.'),
    cfg.PortOpt('port', default=8777, help='TCP port the API listens on.'),
    cfg.IntOpt('workers', default=1, min=1, max=256,
               help='API processes sharing the listening socket; above 1, a parent '
                    'process supervises the workers.'),
    cfg.IntOpt('max_concurrent_requests', default=256, min=1,
               help='Green threads per worker serving requests concurrently.'),
    cfg.IntOpt('client_socket_timeout', default=60, min=0,
               help='Seconds a client connection may stay idle (or send its request '
                    'slowly) before it is closed; 0 waits forever.'),
    cfg.IntOpt('graceful_shutdown_timeout', default=30, min=0,
               help='Seconds in-flight requests get to finish after SIGTERM.'),
    cfg.BoolOpt('noauth_allow_remote', default=False,
                help='Allow auth_strategy=noauth on a non-loopback address. noauth trusts '
                     'identity headers as sent: only for closed networks.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]


class _AccessLog:
    """eventlet.wsgi's log sink, routed through oslo.log (one line per request)."""

    def __init__(self, logger):
        self._logger = logger

    def write(self, message):
        self._logger.info(message.rstrip())


def listen(conf):
    sock = eventlet.listen((conf.api.host, conf.api.port),
                           family=socket.AF_INET6 if ':' in conf.api.host else socket.AF_INET,
                           backlog=1024, reuse_port=False)
    return sock


class Server:
    """Serve ``app`` on ``sock`` in this process until stop() or SIGTERM."""

    def __init__(self, conf, app, sock):
        self.conf = conf
        self.app = app
        self.sock = sock
        self.pool = eventlet.GreenPool(conf.api.max_concurrent_requests)
        self._server_thread = None

    def run(self):
        timeout = self.conf.api.client_socket_timeout or None
        self._server_thread = eventlet.spawn(
            eventlet.wsgi.server, self.sock, self.app, custom_pool=self.pool,
            log=_AccessLog(log.getLogger('meterd.api.access')),
            log_format='%(client_ip)s "%(request_line)s" %(status_code)s %(body_length)s '
                       '%(wall_seconds).4f',
            socket_timeout=timeout, keepalive=True, debug=False,
            max_size=self.conf.api.max_concurrent_requests)
        try:
            self._server_thread.wait()
        except eventlet.greenlet.GreenletExit:
            pass
        # Let in-flight requests finish before the process exits.
        deadline = time.monotonic() + self.conf.api.graceful_shutdown_timeout
        while self.pool.running() and time.monotonic() < deadline:
            eventlet.sleep(0.05)

    def stop(self):
        if self._server_thread is not None:
            self._server_thread.kill()


def serve(conf, app):
    """Run the API in the foreground; fork workers when [api] workers > 1."""
    sock = listen(conf)
    LOG.info('meterd-api listening on %s:%d (%d worker(s), auth=%s)', conf.api.host,
             conf.api.port, conf.api.workers, conf.api.auth_strategy)
    if conf.api.workers == 1:
        _serve_one(conf, app, sock)
        return
    children = set()
    stopping = False

    def _term(signum, frame):
        nonlocal stopping
        stopping = True
        for pid in children:
            _kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    while True:
        while not stopping and len(children) < conf.api.workers:
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _serve_one(conf, app, sock)
                os._exit(0)
            children.add(pid)
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        children.discard(pid)
        if not stopping:
            LOG.error('Worker %d exited (status %d); starting another', pid, status)
        elif not children:
            break
    LOG.info('meterd-api stopped')


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError as err:
        if err.errno != errno.ESRCH:
            raise


def _serve_one(conf, app, sock):
    server = Server(conf, app, sock)

    def _term(signum, frame):
        LOG.info('Signal %d: no new connections; finishing in-flight requests', signum)
        eventlet.spawn_n(server.stop)

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    server.run()
    sys.stdout.flush()
