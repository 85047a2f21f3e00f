"""C's limit: eventlet's WSGI server answering every request with one fixed body.

The same HTTP stack as meterd-api (eventlet.wsgi, keep-alive, TCP_NODELAY),
no application: what 10 clients get from it bounds what any application on
it can serve on this machine. Run as ``python -m tools.bench.bare_http BODY_FILE``;
it prints its port, then serves until terminated.
"""

import logging
import socket
import sys
import warnings

warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

import eventlet  # noqa: E402
import eventlet.wsgi  # noqa: E402


def app_for(body):
    headers = [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))]

    def app(environ, start_response):
        environ['wsgi.input'].read()
        start_response('200 OK', headers)
        return [body]
    return app


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0], 'rb') as f:
        body = f.read()
    sock = eventlet.listen(('127.0.0.1', 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print(sock.getsockname()[1], flush=True)
    eventlet.wsgi.server(sock, app_for(body), log=logging.getLogger('bare_http'),
                         log_output=False, keepalive=True, debug=False)


if __name__ == '__main__':
    main()
