"""The eventlet WSGI server: listener, green pool, worker processes, graceful stop.

The only module that uses eventlet.wsgi. SIGTERM (or SIGINT) closes the
listening socket, lets in-flight requests finish (bounded by
``graceful_shutdown_timeout``) and exits 0. With ``workers > 1`` the parent
forks that many workers sharing the socket and restarts any that dies.
"""

import errno
import gc
import os
import signal
import socket
import warnings

# eventlet is deprecated upstream but still the server this service is built
# on; its import-time notice would only alarm operators on every start.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

import eventlet  # noqa: E402
import eventlet.event  # noqa: E402
import eventlet.hubs  # noqa: E402
import eventlet.patcher  # noqa: E402
import eventlet.wsgi  # noqa: E402
from oslo_config import cfg  # noqa: E402
from oslo_log import log  # noqa: E402

from meterd import exception  # noqa: E402
from meterd import hosts  # noqa: E402

#: The unpatched os: a signal handler runs inside the hub and must not block.
_os = eventlet.patcher.original('os')
LOG = log.getLogger(__name__)
ACCESS_LOG = log.getLogger('meterd.api.access')

GROUP = 'api'
OPTS = [
    cfg.HostAddressOpt('host', default='127.0.0.1',
                       help='Address the API listens on. 127.0.0.1 keeps it local; use '
                            '0.0.0.0 (or ::) to serve other machines.'),
    cfg.PortOpt('port', default=8777, help='TCP port the API listens on.'),
    cfg.IntOpt('workers', default=1, min=1, max=256,
               help='API processes sharing the listening socket; above 1, a parent '
                    'process supervises the workers and restarts any that dies. Each '
                    'serves up to max_concurrent_requests requests at a time.'),
    cfg.IntOpt('max_concurrent_requests', default=256, min=1,
               help='Green threads per worker serving connections concurrently.'),
    cfg.IntOpt('client_socket_timeout', default=60, min=0,
               help='Seconds a client connection may stay idle between requests (or '
                    'take to send one) before it is closed; 0 waits forever.'),
    cfg.IntOpt('graceful_shutdown_timeout', default=30, min=0,
               help='Seconds in-flight requests get to finish after SIGTERM before they '
                    'are cut off; 0 waits for them however long they take.'),
    cfg.IntOpt('backlog', default=1024, min=1,
               help='Connections the kernel queues while every worker is busy.'),
    cfg.BoolOpt('noauth_allow_remote', default=False,
                help='Allow auth_strategy=noauth on a non-loopback host. noauth trusts '
                     'identity headers as sent: only for closed networks.'),
]

#: eventlet's access line; the request id comes from the log context (see fault.py).
ACCESS_LOG_FORMAT = ('%(client_ip)s "%(request_line)s" status: %(status_code)s '
                     'len: %(body_length)s time: %(wall_seconds).4f')


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]


class _AccessLog:
    """eventlet.wsgi's log sink, routed through oslo.log: one INFO line per request."""

    def info(self, message, *args):
        ACCESS_LOG.info(message, *args)

    def debug(self, message, *args):
        ACCESS_LOG.debug(message, *args)

    def error(self, message, *args):
        ACCESS_LOG.error(message, *args)

    def write(self, message, *args):
        ACCESS_LOG.info(message.rstrip(), *args)


def check_bind(conf):
    """Warn about noauth; refuse it on a non-loopback host unless explicitly allowed.

    :raises exception.ConfigError: noauth on a public address.
    """
    if conf.api.auth_strategy != 'noauth':
        return
    LOG.warning('auth_strategy=noauth: X-User-Id, X-Project-Id and X-Roles are trusted '
                'as sent; use it only on closed networks')
    if not hosts.is_loopback(conf.api.host) and not conf.api.noauth_allow_remote:
        raise exception.ConfigError(
            f'[api] auth_strategy=noauth refuses to listen on {conf.api.host}; bind to a '
            'loopback address or set [api] noauth_allow_remote = true')


def listen(conf):
    """Bind the listening socket (workers inherit it across fork).

    TCP_NODELAY is set on the listener so every accepted connection inherits
    it: a response eventlet writes in two pieces (headers buffered, a large
    body after them) must not wait for the client's delayed ACK (Nagle).
    """
    family = socket.AF_INET6 if ':' in conf.api.host else socket.AF_INET
    # No SO_REUSEPORT (eventlet's default): a second server started on the
    # same port must fail, not silently share the connections.
    sock = eventlet.listen((conf.api.host, conf.api.port), family=family,
                           backlog=conf.api.backlog, reuse_port=False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _TakingTurnsProtocol(eventlet.wsgi.HttpProtocol):
    """eventlet's HTTP protocol, yielding to the hub after every request.

    A keep-alive client whose next request is already buffered when its
    answer is done got served again at once, without the hub running: quick
    clients kept the process while the others' requests waited in their
    sockets. Under 10 clients of R2 every request took under 3 ms to serve,
    yet clients waited up to 250 ms (p95 43-58 ms); taking turns, p95 is
    17-18 ms (ten requests ahead of each), at the same rate.
    """

    def handle_one_request(self):
        super().handle_one_request()
        eventlet.sleep(0)


class Server:
    """Serve ``app`` on ``sock`` in this process until stop()."""

    def __init__(self, conf, app, sock):
        self.conf = conf
        self.app = app
        self.sock = sock
        self.pool = eventlet.GreenPool(conf.api.max_concurrent_requests)
        self._thread = None
        self._in_flight = 0
        self._idle = eventlet.event.Event()
        self._idle.send()

    def _counted(self, environ, start_response):
        """The app, counting requests between arrival and the end of their answer."""
        if self._in_flight == 0:
            self._idle.reset()
        self._in_flight += 1
        try:
            yield from self.app(environ, start_response)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.send()

    def run(self):
        """Serve until stop(); returns once in-flight requests are done."""
        self._thread = eventlet.spawn(
            eventlet.wsgi.server, self.sock, self._counted, custom_pool=self.pool,
            log=_AccessLog(), log_format=ACCESS_LOG_FORMAT,
            protocol=_TakingTurnsProtocol,
            socket_timeout=self.conf.api.client_socket_timeout or None,
            keepalive=True, debug=False, log_x_forwarded_for=False)
        try:
            self._thread.wait()
        except eventlet.greenlet.GreenletExit:
            pass
        except eventlet.hubs.IOClosed:
            pass  # stop() closed this worker's copy of the listener
        except OSError as err:
            # stop() shut the listener down: that is how the accept loop ends.
            if err.errno != errno.EINVAL:
                raise

    def stop(self):
        """Stop accepting; in-flight requests finish within graceful_shutdown_timeout.

        eventlet closes idle keep-alive connections and ends busy ones after
        their current request; run() returns when the pool is empty.
        """
        if self._thread is None or self._thread.dead:
            return
        LOG.info('Stopping: no new connections; %d connection(s) open, %d request(s) '
                 'in flight', self.pool.running(), self._in_flight)
        grace = self.conf.api.graceful_shutdown_timeout
        if grace:
            eventlet.spawn_after(grace, self._cut_off)
        # Killing eventlet's accept loop while a request waited for its body
        # (after 100 Continue) sometimes dropped that connection: refuse new
        # connections now, end the loop only once no request is in flight.
        eventlet.spawn_n(self._stop_when_idle)

    def _stop_when_idle(self):
        if self.conf.api.workers == 1:
            # Shutting the listener down ends the accept loop at once.
            try:
                self.sock.fd.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        else:
            # Shared with the other workers (a shutdown would hit their
            # accept loops too): close this process's copy only; the port
            # refuses connections once every process has closed its copy.
            self.sock.close()
        self._idle.wait()
        self._thread.kill()
        self.sock.close()

    def _cut_off(self):
        # Killing the green threads is not enough: one blocked reading a body
        # may swallow the exit. Leaving the process is what "cut off" means.
        if self.pool.running():
            LOG.warning('%d request(s) still running after graceful_shutdown_timeout; '
                        'exiting without them', self.pool.running())
            _os._exit(0)


def settle_heap():
    """Move what start-up built out of the collector's sight before serving.

    The loaded pipeline, oslo's option tables and the imported modules (some
    80,000 tracked objects) live as long as the process; every full
    collection walked all of them again (30 ms each, about 2 µs a posted
    sample under ingest). Frozen before any fork, they also stay shared
    with the workers instead of being copied when the collector touches them.
    (A higher young-generation threshold saved a little more time but kept
    4-11 MB more resident after an ingest of a million samples.)
    """
    gc.collect()
    gc.freeze()


def serve(conf, app):
    """Run the API in the foreground until SIGTERM/SIGINT; fork when [api] workers > 1."""
    sock = listen(conf)
    settle_heap()
    host, port = sock.getsockname()[:2]
    LOG.info('meterd-api listening on %s:%d (%d worker(s), auth_strategy=%s)',
             host, port, conf.api.workers, conf.api.auth_strategy)
    if conf.api.workers == 1:
        _serve_one(conf, app, sock)
    else:
        _supervise(conf, app, sock)
    # Python restores the default handlers while it shuts down: a repeated
    # SIGTERM then would turn a clean exit into death by signal.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    LOG.info('meterd-api stopped')


def _serve_one(conf, app, sock, parent=None):
    server = Server(conf, app, sock)
    _on_signal((signal.SIGTERM, signal.SIGINT), server.stop)
    if parent is not None:
        eventlet.spawn_n(_stop_when_orphaned, parent, server)
    server.run()


def _stop_when_orphaned(parent, server):
    """A worker whose parent died (SIGKILL, OOM) stops instead of serving on unsupervised."""
    while os.getppid() == parent:
        eventlet.sleep(1)
    LOG.warning('Parent process %d is gone; stopping', parent)
    server.stop()


def _on_signal(signums, callback):
    """Run ``callback`` in a green thread when one of ``signums`` arrives.

    A Python signal handler runs inside the hub's poll; a green thread it
    spawns would wait for the next I/O event, which an idle server never
    gets. Writing to a pipe the hub watches wakes it at once.

    :returns: a function closing the pipe, for a forked worker (which
        installs handlers of its own).
    """
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def _handler(signum, _frame):
        # Only the write: even logging may block on a lock (in the hub).
        try:
            _os.write(write_fd, bytes([signum]))
        except BlockingIOError:
            pass

    def _watch():
        eventlet.hubs.trampoline(read_fd, read=True)
        LOG.info('Signal %d received', os.read(read_fd, 64)[0])
        callback()

    def _close():
        _os.close(read_fd)
        _os.close(write_fd)

    for signum in signums:
        signal.signal(signum, _handler)
    eventlet.spawn_n(_watch)
    return _close


def _supervise(conf, app, sock):
    """Parent of the workers: keep ``workers`` children alive; forward SIGTERM."""
    children = set()
    stopping = False

    def _stop():
        nonlocal stopping
        stopping = True
        LOG.info('Stopping %d worker(s)', len(children))
        # The workers keep their own copy of the socket until they are done.
        sock.close()
        for pid in children:
            _kill(pid, signal.SIGTERM)

    close_parent_pipe = _on_signal((signal.SIGTERM, signal.SIGINT), _stop)
    parent = os.getpid()
    while True:
        while not stopping and len(children) < conf.api.workers:
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    # A hub of its own: the parent's epoll instance survives
                    # fork, and sharing it lets each process unregister the
                    # other's file descriptors. The parent's green threads
                    # stay behind in the old hub, never to run here.
                    eventlet.hubs.use_hub()
                    close_parent_pipe()
                    _serve_one(conf, app, sock, parent)
                except BaseException:
                    LOG.exception('Worker %d failed', os.getpid())
                    code = 1
                finally:
                    os._exit(code)
            children.add(pid)
            LOG.info('Started worker %d', pid)
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        if not stopping:
            LOG.error('Worker %d exited (status %d); starting another', pid, status)
            # Do not spin when a worker dies at once, again and again.
            eventlet.sleep(1)
        elif not children:
            break


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except OSError as err:
        if err.errno != errno.ESRCH:
            raise
