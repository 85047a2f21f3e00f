"""Request (with .context), Resource (route args -> controller action, JSON in and out).

Also the WSGI entry point for uwsgi or gunicorn: ``meterd.api.wsgi:application``.
"""

import itertools
import json
import os
import threading

import webob
import webob.exc

from meterd import exception

JSON_CONTENT_TYPE = 'application/json'
_OFFERS = ['application/json', 'application/xml']
#: Lists are encoded in chunks of about this size; small answers go in one write.
_CHUNK = 64 * 1024


class Request(webob.Request):
    """A WebOb request that knows the caller's RequestContext."""

    #: WebOb spools bodies above 10 KB to a temporary file, but the JSON
    #: decoder reads the whole body anyway: a 100-sample POST (~50 KB) paid a
    #: file create, write, read and unlink for nothing. Bodies up to this size
    #: stay in memory; ``sizelimit`` bounds them all.
    request_body_tempfile_limit = 1024 * 1024

    @property
    def context(self):
        return self.environ['meterd.context']


def response(status):
    """Set the success status of a controller action (default 200)."""
    def decorator(func):
        func.wsgi_status = status
        return func
    return decorator


def _check_accept(req):
    """406 when the client admits neither JSON nor XML (spec §5.4)."""
    if 'Accept' not in req.headers:
        return
    if req.accept.best_match(_OFFERS) is None:
        raise webob.exc.HTTPNotAcceptable()


def read_json_body(req):
    """The decoded JSON body, or None when there is none.

    :raises webob.exc.HTTPUnsupportedMediaType: a body that is not JSON.
    :raises exception.ClientSideError: malformed JSON.
    """
    if not req.body:
        return None
    content_type = req.content_type or JSON_CONTENT_TYPE
    if content_type != JSON_CONTENT_TYPE and not content_type.endswith('+json'):
        raise webob.exc.HTTPUnsupportedMediaType()
    try:
        return json.loads(req.body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise exception.ClientSideError('Request is not in valid JSON format')


def _reject_constant(name):
    raise ValueError(f'{name} is not valid JSON')


_ENCODER = json.JSONEncoder(allow_nan=False, ensure_ascii=False, separators=(', ', ': '))
#: Items of a lazily encoded list per encoder call: one C-level call per
#: batch instead of per item, still a bounded slice of the answer.
_BATCH = 64


def dumps(value):
    """Strict JSON: NaN and Infinity are never emitted."""
    return _ENCODER.encode(value)


class Encoded:
    """A list answer whose items are already JSON text: ``render`` splices them as they are."""

    def __init__(self, items):
        self.items = items


def _iter_json_list(first, items, encoded=False):
    """Encode a list lazily, in chunks, so a huge answer never sits in memory whole."""
    items = itertools.chain((first,), items)
    buf, size, sep = [], 0, '['
    while True:
        batch = list(itertools.islice(items, _BATCH))
        if not batch:
            break
        # The items, without the list's brackets.
        text = ', '.join(batch) if encoded else dumps(batch)[1:-1]
        buf.append(sep)
        buf.append(text)
        sep = ', '
        size += len(text) + 2
        if size >= _CHUNK:
            yield ''.join(buf).encode('utf-8')
            buf, size = [], 0
    buf.append(']')
    yield ''.join(buf).encode('utf-8')


_CONTENT_TYPE = ('Content-Type', 'application/json; charset=UTF-8')


def render(resp, result):
    """Put ``result`` (dict, list, iterator of dicts or Encoded) into ``resp`` as JSON.

    An iterator is encoded lazily: one write when the answer fits in a chunk,
    else streamed chunk by chunk so the server's memory stays flat.
    """
    resp.content_type = JSON_CONTENT_TYPE
    resp.charset = 'UTF-8'
    body, app_iter = _encode(result)
    if body is not None:
        resp.body = body
    else:
        resp.app_iter = app_iter


def json_response(status, result):
    """A new Response holding ``result`` as render() puts it, headers set in one go."""
    body, app_iter = _encode(result)
    if body is not None:
        return webob.Response(status=status, app_iter=[body], headerlist=[
            _CONTENT_TYPE, ('Content-Length', str(len(body)))])
    return webob.Response(status=status, app_iter=app_iter, headerlist=[_CONTENT_TYPE])


def _encode(result):
    """(body, None) for an answer encoded whole, (None, chunk iterator) for a streamed one."""
    if isinstance(result, (dict, list)):
        return dumps(result).encode('utf-8'), None
    encoded = isinstance(result, Encoded)
    items = iter(result.items if encoded else result)
    try:
        first = next(items)
    except StopIteration:
        return b'[]', None
    chunks = _iter_json_list(first, items, encoded)
    head = next(chunks)
    try:
        second = next(chunks)
    except StopIteration:
        return head, None
    return None, itertools.chain((head, second), chunks)


class Resource:
    """WSGI app for one controller: dispatch to the routed action, render JSON.

    Plain WSGI around one WebOb request: ``wsgify`` would build two more
    Response objects per request and merge their cookies.
    """

    def __init__(self, controller):
        self.controller = controller

    def __call__(self, environ, start_response):
        req = Request(environ)
        try:
            resp = self._dispatch(req)
        except webob.exc.HTTPException as exc:
            resp = exc
        return resp(environ, start_response)

    def _dispatch(self, req):
        args = dict(req.urlvars)
        action = args.pop('action')
        args.pop('controller', None)
        method = getattr(self.controller, action)
        _check_accept(req)
        if req.method in ('POST', 'PUT', 'PATCH'):
            args['body'] = read_json_body(req)
        result = method(req, **args)
        status = getattr(method, 'wsgi_status', 200)
        if result is None:
            return webob.Response(status=204 if status == 200 else status)
        return json_response(status, result)


_APPLICATION = []
_APPLICATION_LOCK = threading.Lock()


def __getattr__(name):
    """``application``: the pipeline for uwsgi/gunicorn, built on first access.

    Reads ``$METERD_CONFIG_FILE`` when set, else the default config locations
    (``/etc/meterd/meterd.conf``, ...). Lazy so that importing this module (the
    router does) never parses configuration or opens the database.
    """
    if name != 'application':
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    with _APPLICATION_LOCK:
        if not _APPLICATION:
            _APPLICATION.append(_build_application())
    return _APPLICATION[0]


def _build_application():
    # Imported here: meterd.api.app imports the router, which imports this module.
    from meterd.api import app as api_app
    from meterd import service

    config_file = os.environ.get('METERD_CONFIG_FILE')
    conf = service.prepare_service(argv=[], config_files=[config_file] if config_file else None)
    return api_app.load_app(conf)
