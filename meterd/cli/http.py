"""The HTTP side of the client: one requests session, ``--debug`` curl lines, one-line errors.

Every failure the operator can meet (server refused, wrong URL, a 4xx/5xx with the
API's error body) becomes a ``CommandError`` whose message is one line; the command
entry point prints it and exits non-zero, never with a traceback.
"""

import json
import shlex
import sys
import time
import urllib.parse

import requests

#: Request and response bodies longer than this are cut in --debug output.
DEBUG_BODY_LIMIT = 2000


class CommandError(Exception):
    """A failure to report on one line; ``exit_code`` is the process status."""

    exit_code = 1

    def __init__(self, message):
        super().__init__(' '.join(str(message).split()))


class HTTPError(CommandError):
    """The API answered with an error status; the message is its faultstring."""

    def __init__(self, status, reason, faultstring):
        self.status = status
        self.faultstring = faultstring
        super().__init__(f'HTTP {status} {reason}: {faultstring}')


def faultstring(body):
    """The human text of an API error body (spec §5), or None when it has none."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    error = doc.get('error_message')
    if isinstance(error, dict):
        return error.get('faultstring') or None
    if isinstance(error, str) and error.strip():
        return error
    return None


def quote_segment(value):
    """A URL path segment: every reserved character percent-encoded, '/' included."""
    return urllib.parse.quote(value, safe='')


class Client:
    """Talks to one API endpoint with a fixed set of auth headers."""

    def __init__(self, endpoint, headers=None, timeout=30.0, verify=True, debug=False,
                 debug_stream=None, session=None, auth_hint=None):
        self.endpoint = normalize_endpoint(endpoint)
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.verify = verify
        self.debug = debug
        self._debug_stream = debug_stream
        self._session = session or requests.Session()
        #: Why no credentials were sent; added to a 401 so the fix is obvious.
        self.auth_hint = auth_hint

    def get(self, path, params=None, json_body=None):
        return self.request('GET', path, params=params, json_body=json_body)

    def post(self, path, json_body, params=None):
        return self.request('POST', path, params=params, json_body=json_body)

    def request(self, method, path, params=None, json_body=None):
        """Send one request; return the decoded JSON answer.

        :raises HTTPError: on any 4xx/5xx, with the server's faultstring.
        :raises CommandError: when the server cannot be reached or is not a meterd API.
        """
        url = self.endpoint + path
        headers = dict(self.headers, Accept='application/json')
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode('utf-8')
            headers['Content-Type'] = 'application/json'
        prepared = self._session.prepare_request(requests.Request(
            method, url, params=params or None, data=data, headers=headers))
        if self.debug:
            self._debug(curl_line(prepared))
        started = time.monotonic()
        try:
            resp = self._session.send(prepared, timeout=self.timeout, verify=self.verify)
        except requests.exceptions.ConnectionError as err:
            raise CommandError(self._connection_message(err)) from None
        except requests.exceptions.Timeout:
            raise CommandError(f'no answer from {self.endpoint} within {self.timeout:g} s '
                               '(raise --timeout?)') from None
        except requests.exceptions.RequestException as err:
            raise CommandError(f'cannot send the request to {url}: {err}') from None
        elapsed = time.monotonic() - started
        if self.debug:
            self._debug(f'< HTTP {resp.status_code} {resp.reason}  {elapsed * 1000:.1f} ms  '
                        f'{len(resp.content)} bytes  '
                        f'{resp.headers.get("x-openstack-request-id", "")}'.rstrip())
            self._debug('< ' + _cut(resp.text))
        return self._decode(resp, method, url)

    def _decode(self, resp, method, url):
        if resp.status_code >= 400:
            fault = faultstring(resp.text)
            if fault is None:
                raise CommandError(
                    f'HTTP {resp.status_code} {resp.reason} from {method} {url}, without a '
                    'Telemetry API error body: is --os-endpoint/METERD_URL the meterd API '
                    '(e.g. http://127.0.0.1:8777)?')
            if resp.status_code == 401 and self.auth_hint:
                fault = (f'{fault} ({self.auth_hint}: pass --os-token or set OS_TOKEN, or '
                         '--config-file naming the server\'s config)')
            raise HTTPError(resp.status_code, resp.reason, fault)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise CommandError(f'{method} {url} answered {resp.status_code} with a body that '
                               'is not JSON: is --os-endpoint/METERD_URL the meterd API?') from None

    def _connection_message(self, err):
        text = str(err)
        if 'Connection refused' in text or 'Errno 111' in text:
            return (f'cannot connect to {self.endpoint}: connection refused (is meterd-api '
                    'running there? check --os-endpoint / METERD_URL)')
        if ('Name or service not known' in text or 'NameResolutionError' in text
                or 'nodename nor servname' in text or 'getaddrinfo failed' in text):
            host = urllib.parse.urlsplit(self.endpoint).hostname
            return f'cannot connect to {self.endpoint}: unknown host {host!r}'
        if isinstance(err, requests.exceptions.SSLError):
            return f'cannot connect to {self.endpoint}: TLS error (--os-cacert or --insecure?)'
        return f'cannot connect to {self.endpoint}: {_first_reason(text)}'

    def _debug(self, line):
        stream = self._debug_stream or sys.stderr
        print(line, file=stream)


def normalize_endpoint(endpoint):
    """``http://host:8777``; a trailing ``/`` or ``/v2`` is dropped, a scheme required.

    :raises CommandError: not an http(s) URL.
    """
    endpoint = (endpoint or '').strip()
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ('http', 'https') or not parts.netloc:
        raise CommandError(f'invalid endpoint {endpoint!r}: expected an http(s) URL such as '
                           'http://127.0.0.1:8777')
    path = parts.path.rstrip('/')
    if path.endswith('/v2'):
        path = path[:-3]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, '', ''))


def _first_reason(text):
    # urllib3 nests the cause several times; its innermost reason is the useful part.
    marker = 'Failed to establish a new connection: '
    if marker in text:
        return text.split(marker, 1)[1].split("'))", 1)[0].rstrip("')")
    return text


def _cut(body):
    return body if len(body) <= DEBUG_BODY_LIMIT else (
        body[:DEBUG_BODY_LIMIT] + f'... ({len(body) - DEBUG_BODY_LIMIT} more characters)')


def mask_header(name, value):
    """Credentials never reach the terminal: ``$OS_TOKEN`` stands for the token."""
    if name.lower() == 'x-auth-token':
        return '$OS_TOKEN'
    return value


def curl_line(prepared):
    """The request as a runnable curl command (the token replaced by ``$OS_TOKEN``)."""
    parts = ['curl', '-g', '-i', '-X', prepared.method, shlex.quote(prepared.url)]
    for name, value in prepared.headers.items():
        if name.lower() in ('content-length', 'connection', 'accept-encoding', 'user-agent'):
            continue
        masked = mask_header(name, value)
        header = f'{name}: {masked}'
        # Double quotes let the shell expand $OS_TOKEN; other values are quoted literally.
        parts += ['-H', f'"{header}"' if masked != value else shlex.quote(header)]
    if prepared.body:
        body = prepared.body.decode('utf-8') if isinstance(prepared.body, bytes) else prepared.body
        parts += ['-d', shlex.quote(_cut(body))]
    return ' '.join(parts)
