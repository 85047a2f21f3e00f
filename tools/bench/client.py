"""A small keep-alive HTTP client for the benchmark (stdlib http.client: the least client
overhead per request, so the figures measure the server)."""

import dataclasses
import http.client
import json
import urllib.parse

#: noauth identity of the benchmark: an admin, so it may post samples for any project.
ADMIN_HEADERS = {'X-User-Id': 'bench-admin', 'X-Project-Id': 'bench-admin-project',
                 'X-Roles': 'admin'}


class HTTPError(Exception):
    """The server answered with an unexpected status."""


@dataclasses.dataclass
class Response:
    status: int
    body: bytes

    def json(self):
        return json.loads(self.body)


def q(*terms):
    """Query-string items for ``q`` terms given as ``(field, op, value)`` tuples."""
    params = []
    for field, op, value in terms:
        params += [('q.field', field), ('q.op', op), ('q.value', str(value))]
    return params


class Client:
    """One persistent connection to the API under test. Not thread-safe: one per thread."""

    def __init__(self, base_url, headers=None, timeout=600):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme != 'http':
            raise ValueError('only http:// URLs are supported')
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip('/')
        self.headers = dict(ADMIN_HEADERS if headers is None else headers)
        self.timeout = timeout
        self._conn = None

    def _connection(self):
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def url(self, path, params=None):
        return self.prefix + path + ('?' + urllib.parse.urlencode(params) if params else '')

    def _send(self, method, path, params, body):
        headers = dict(self.headers)
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode('utf-8')
            headers['Content-Type'] = 'application/json'
        # One retry on a connection the server closed while idle.
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, self.url(path, params), body=body, headers=headers)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise

    def request(self, method, path, params=None, body=None, expect=(200,)):
        """Send, read the whole answer, check its status.

        :raises HTTPError: the status is not in ``expect``.
        """
        resp = self._send(method, path, params, body)
        data = resp.read()
        if resp.will_close:
            self.close()
        if expect and resp.status not in expect:
            raise HTTPError(f'{method} {path} -> {resp.status}: {data[:300]!r}')
        return Response(resp.status, data)

    def get(self, path, params=None, **kwargs):
        return self.request('GET', path, params=params, **kwargs)

    def post(self, path, body, params=None, **kwargs):
        return self.request('POST', path, params=params, body=body, **kwargs)

    def stream(self, path, params=None, chunk=1 << 16, method='GET', body=None):
        """Send, and discard the answer chunk by chunk; ``(status, bytes received)``."""
        resp = self._send(method, path, params, body)
        total = 0
        while True:
            data = resp.read(chunk)
            if not data:
                break
            total += len(data)
        if resp.will_close:
            self.close()
        if resp.status != 200:
            raise HTTPError(f'{method} {path} -> {resp.status}')
        return resp.status, total
