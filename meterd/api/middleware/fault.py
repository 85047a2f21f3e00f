"""Every error below this filter becomes the v2 error body (spec §5): JSON, or XML on request.

Sits right after ``request_id`` so even auth failures and oversized bodies
get the same body, and so it can bind the request id to the log context
first. Nothing else maps errors to HTTP. Unexpected exceptions
are logged once with their traceback and answered with a generic 500.
"""

import json
from xml.etree import ElementTree

from oslo_log import log
import webob
import webob.exc
import webob.response

from meterd import context
from meterd import exception

LOG = log.getLogger(__name__)

_JSON = 'application/json'
_XML = 'application/xml'


def _quality(accept_header, offer):
    """(q, specificity) of the best Accept range covering ``offer``; (0, 0) if none."""
    best = (0.0, 0)
    main, _, sub = offer.partition('/')
    for item in accept_header.split(','):
        parts = [p.strip() for p in item.split(';')]
        media = parts[0].lower()
        q = 1.0
        for param in parts[1:]:
            key, _, value = param.partition('=')
            if key.strip() == 'q':
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media == offer:
            spec = 3
        elif media == f'{main}/*':
            spec = 2
        elif media in ('*/*', '*'):
            spec = 1
        else:
            continue
        if spec > best[1]:
            best = (q, spec)
    return best


def prefers_xml(req):
    """XML only when it beats JSON; ties, ``*/*`` and no header mean JSON (§5.3)."""
    header = req.headers.get('Accept')
    if not header:
        return False
    xml, json_ = _quality(header, _XML), _quality(header, _JSON)
    if xml[0] <= 0:
        return False
    return xml[0] > json_[0] or (xml[0] == json_[0] and xml[1] > json_[1])


def error_response(req, status, message, headers=None):
    """The §5.1 body (or its XML form) for ``status`` with faultstring ``message``."""
    faultcode = 'Client' if status < 500 else 'Server'
    resp = webob.Response(status=status)
    for name, value in headers or ():
        resp.headers[name] = value
    if prefers_xml(req):
        root = ElementTree.Element('error_message')
        error = ElementTree.SubElement(root, 'error')
        ElementTree.SubElement(error, 'faultcode').text = faultcode
        ElementTree.SubElement(error, 'faultstring').text = message
        ElementTree.SubElement(error, 'debuginfo')
        resp.content_type = _XML
        resp.body = ElementTree.tostring(root, encoding='utf-8', xml_declaration=True)
    else:
        resp.content_type = _JSON
        resp.charset = 'UTF-8'
        resp.body = json.dumps({'error_message': {
            'faultcode': faultcode, 'faultstring': message, 'debuginfo': None}}
        ).encode('utf-8')
    return resp


#: Statuses whose WebOb explanation is only the generic 4xx text.
_MESSAGES = {
    406: ('The server answers application/json (errors also application/xml); '
          'the Accept header admits neither.'),
    415: 'The request body media type is not supported; send application/json.',
}


def _default_message(req, status):
    """WebOb's explanation of ``status``, on one line; 405 names the method."""
    if status == 405:
        return f'The method {req.method} is not allowed for this resource.'
    if status in _MESSAGES:
        return _MESSAGES[status]
    status_cls = webob.exc.status_map.get(status)
    explanation = getattr(status_cls, 'explanation', '') if status_cls else ''
    return ' '.join(explanation.split()) or webob.Response(status=status).status


def _message_from_body(req, resp):
    """A client-safe message for an error response a lower layer produced."""
    default = _default_message(req, resp.status_int)
    if resp.content_type == _JSON:
        try:
            body = json.loads(resp.body)
        except ValueError:
            return default
        if isinstance(body, dict):
            error = body.get('error') or {}
            if isinstance(error, dict) and isinstance(error.get('message'), str):
                return error['message']
    return default


def _path(req):
    """The path for log lines; a path that is not UTF-8 is escaped, never an error."""
    return req.environ.get('PATH_INFO', '').encode('latin-1', 'replace').decode(
        'utf-8', 'backslashreplace')


_KEPT_HEADERS = ('Allow', 'WWW-Authenticate', 'Retry-After', 'Location')


def _call(app, environ):
    """(status, headers, app_iter) of ``app``, as ``webob.Request.call_application``."""
    captured = []
    output = []

    def start_response(status, headers, exc_info=None):
        if exc_info is not None:
            raise exc_info[1].with_traceback(exc_info[2])
        captured[:] = [status, headers]
        return output.append

    app_iter = app(environ, start_response)
    if output or not captured:
        # The answer was written, or starts only once iterated: collect it now.
        try:
            output.extend(app_iter)
        finally:
            if hasattr(app_iter, 'close'):
                app_iter.close()
        app_iter = output
    return captured[0], list(captured[1]), app_iter


def _has_location(headers):
    return any(name.lower() == 'location' for name, _ in headers)


class FaultMiddleware:
    """Catch everything below; render the v2 error body for every status >= 400."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        # Every line logged for this request, the access line included, carries
        # its id, even when auth rejects it before any identity is known.
        context.RequestContext(request_id=environ.get('openstack.request_id'))
        try:
            status, headers, app_iter = _call(self.app, environ)
        except exception.MeterdError as err:
            resp = self._from_error(webob.Request(environ), err)
        except webob.exc.HTTPException as err:
            resp = self._rerender(webob.Request(environ), err)
        except Exception:
            req = webob.Request(environ)
            LOG.exception('Unexpected error serving %s %s', req.method, _path(req))
            resp = error_response(req, 500, 'Internal Server Error')
        else:
            if int(status.split(None, 1)[0]) < 400 and not _has_location(headers):
                # What Response(...)(environ, start_response) does, without building one.
                start_response(status, headers)
                if environ['REQUEST_METHOD'] == 'HEAD':
                    return webob.response.EmptyResponse(app_iter)
                return app_iter
            req = webob.Request(environ)
            resp = webob.Response(status=status, headerlist=headers, app_iter=app_iter,
                                  request=req)
            if resp.status_int >= 400:
                resp = self._rerender(req, resp)
        return resp(environ, start_response)

    @staticmethod
    def _from_error(req, err):
        if err.code >= 500:
            LOG.error('%s %s failed: %s', req.method, _path(req), err.message)
        else:
            LOG.info('%s %s rejected (%d): %s', req.method, _path(req), err.code, err.message)
        return error_response(req, err.code, err.message)

    @staticmethod
    def _rerender(req, resp):
        if resp.status_int >= 500:
            LOG.error('%s %s answered %s', req.method, _path(req), resp.status)
        detail = getattr(resp, 'detail', None)
        message = (detail if isinstance(detail, str) and detail
                   else _message_from_body(req, resp))
        headers = [(h, resp.headers[h]) for h in _KEPT_HEADERS if h in resp.headers]
        return error_response(req, resp.status_int, message, headers)


def filter_factory(global_conf, **local_conf):
    return FaultMiddleware
