"""Make chunked request bodies readable by WebOb, and so bounded by ``sizelimit``.

eventlet's ``wsgi.input`` de-chunks a ``Transfer-Encoding: chunked`` body and
reports EOF at its end, but does not set the PEP 3333 flag
``wsgi.input_terminated``. Without that flag WebOb reads such a body as empty,
and oslo.middleware's ``sizelimit`` wraps the empty stream: a chunked POST
would silently lose its samples, and an oversized one would never get its 413.
Sits before ``sizelimit``.
"""


class ChunkedInput:
    """Flag a chunked body (no Content-Length) as terminated by the server."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if (environ.get('CONTENT_LENGTH') in (None, '')
                and 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower()):
            environ['wsgi.input_terminated'] = True
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    return ChunkedInput
