"""Identity filters: built-in tokens, the Keystone context, and noauth.

Each one puts a RequestContext in ``environ['meterd.context']``. Client-sent
identity headers are removed before any of them (except noauth) reads them,
so they can never be forged. Sits after ``fault``, before the v2 app.
"""

import hashlib
import json
import os
import secrets
import threading

from oslo_config import cfg
from oslo_log import log

from meterd.api import app as api_app
from meterd import context
from meterd import exception

LOG = log.getLogger(__name__)

GROUP = 'api'
OPTS = [
    cfg.StrOpt('token_file',
               help='JSON file mapping token -> {"user_id", "project_id", "roles"} for '
                    'auth_strategy=token. Created with one random admin token (mode 0600) '
                    'when missing. Default: tokens.json in [DEFAULT] state_path. Edits are '
                    'picked up without a restart.'),
]

#: Header prefixes that carry identity; stripped from client requests.
IDENTITY_HEADER_PREFIXES = ('HTTP_X_USER', 'HTTP_X_PROJECT', 'HTTP_X_TENANT', 'HTTP_X_ROLE',
                            'HTTP_X_IDENTITY_STATUS', 'HTTP_X_SERVICE', 'HTTP_X_DOMAIN',
                            'HTTP_X_IS_ADMIN', 'HTTP_X_SYSTEM', 'HTTP_X_TRUST',
                            'HTTP_X_AUTHORIZATION')


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]


def strip_identity_headers(environ):
    for key in [k for k in environ if k.startswith(IDENTITY_HEADER_PREFIXES)]:
        del environ[key]


def _roles(header):
    # Split without trimming: " admin" is not admin (spec §1).
    return header.split(',') if header is not None else ['']


def _context_from_headers(environ):
    """X-User-Id, X-Project-Id and X-Roles -> RequestContext."""
    return context.RequestContext(
        user_id=environ.get('HTTP_X_USER_ID') or None,
        project_id=environ.get('HTTP_X_PROJECT_ID') or None,
        roles=_roles(environ.get('HTTP_X_ROLES')),
        request_id=environ.get('openstack.request_id'))


def token_file_path(conf):
    return conf.api.token_file or os.path.join(conf.state_path, 'tokens.json')


def ensure_token_file(path):
    """Create the token file with one random admin token when it is missing.

    :returns: the new token, or None when the file already existed.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, 'w') as f:
        json.dump({token: {'user_id': 'admin', 'project_id': 'admin',
                           'roles': ['admin']}}, f, indent=2)
    LOG.warning('Created token file %s with a new admin token', path)
    return token


class TokenStore:
    """Tokens from the JSON file, re-read when the file changes."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._stamp = None
        self._identities = {}

    def lookup(self, token):
        self._refresh()
        return self._identities.get(hashlib.sha256(token.encode('utf-8')).digest())

    def _refresh(self):
        try:
            st = os.stat(self.path)
        except OSError:
            LOG.error('Token file %s is unreadable; every token is refused', self.path)
            self._identities = {}
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return
        with self._lock:
            try:
                with open(self.path) as f:
                    data = json.load(f)
                identities = {
                    hashlib.sha256(tok.encode('utf-8')).digest(): {
                        'user_id': ident.get('user_id'), 'project_id': ident.get('project_id'),
                        'roles': list(ident.get('roles') or [])}
                    for tok, ident in data.items()}
            except (OSError, ValueError, AttributeError, TypeError):
                LOG.error('Token file %s is not a JSON object of token -> identity', self.path)
                identities = {}
            self._identities, self._stamp = identities, stamp


# The filters below are plain WSGI: they only read headers from the environ,
# and a WebOb request/response round trip per layer cost more than that.
# Errors they raise reach the ``fault`` filter above them.


class TokenAuth:
    """auth_strategy=token: X-Auth-Token looked up in the token file; else 401."""

    def __init__(self, app, store):
        self.app = app
        self.store = store

    def __call__(self, environ, start_response):
        strip_identity_headers(environ)
        token = environ.get('HTTP_X_AUTH_TOKEN')
        identity = self.store.lookup(token) if token else None
        if identity is None:
            raise exception.NotAuthenticated(
                'The request you have made requires authentication.')
        environ['meterd.context'] = context.RequestContext(
            user_id=identity['user_id'], project_id=identity['project_id'],
            roles=identity['roles'], auth_token=token,
            request_id=environ.get('openstack.request_id'))
        return self.app(environ, start_response)


class KeystoneContext:
    """auth_strategy=keystone, after authtoken: its confirmed headers -> context."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get('HTTP_X_IDENTITY_STATUS', 'Confirmed') != 'Confirmed':
            raise exception.NotAuthenticated(
                'The request you have made requires authentication.')
        environ['meterd.context'] = _context_from_headers(environ)
        return self.app(environ, start_response)


class NoAuth:
    """Trust X-User-Id/X-Project-Id/X-Roles as sent. For tests and closed networks only."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ['meterd.context'] = _context_from_headers(environ)
        return self.app(environ, start_response)


def tokenauth_factory(global_conf, **local_conf):
    conf = api_app.conf_from(global_conf)
    path = token_file_path(conf)
    ensure_token_file(path)
    store = TokenStore(path)
    return lambda app: TokenAuth(app, store)


def authtoken_factory(global_conf, **local_conf):
    """keystonemiddleware's auth_token, configured from [keystone_authtoken] of our conf."""
    from keystonemiddleware import auth_token  # ~13 MB with its clients: keystone mode only

    conf = api_app.conf_from(global_conf)
    options = dict(local_conf, oslo_config_config=conf)

    def _filter(app):
        protocol = auth_token.AuthProtocol(app, options)

        def _strip_then_validate(environ, start_response):
            strip_identity_headers(environ)
            return protocol(environ, start_response)
        return _strip_then_validate
    return _filter


def context_factory(global_conf, **local_conf):
    return KeystoneContext


def noauth_factory(global_conf, **local_conf):
    return NoAuth
