"""Where the client connects and who it says it is: endpoint, token, Keystone, noauth headers.

Order for the endpoint: ``--os-endpoint``/``METERD_URL``, the Keystone catalog (metering
service), the ``[api] host``/``port`` of the config file, ``http://127.0.0.1:8777``.
Order for the token: ``--os-token``/``OS_TOKEN``, a Keystone password login, and, for a
server on this machine only, the admin token of the server's own token file.
"""

import json
import os
import urllib.parse

from meterd.cli import http
from meterd import hosts

DEFAULT_ENDPOINT = 'http://127.0.0.1:8777'

#: Environment variable naming the server's config file when --config-file is absent.
CONFIG_ENV = 'METERD_CONFIG_FILE'


def is_local(endpoint):
    """True when ``endpoint`` names this machine (loopback address or localhost)."""
    return hosts.is_loopback(urllib.parse.urlsplit(endpoint).hostname or '')


def server_conf(config_files):
    """The server's options as meterd-api would read them from ``config_files``.

    Without files, oslo.config's default search (``~/.meterd/meterd.conf``,
    ``/etc/meterd/meterd.conf``, ...) applies, as for the server.

    :raises http.CommandError: a config file that cannot be read or parsed.
    """
    # Imported here: only the token-file and endpoint fallbacks need the server's options.
    from oslo_config import cfg

    from meterd import opts

    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    for path in config_files or ():
        if not os.path.isfile(path):
            raise http.CommandError(f'config file {path} does not exist')
    try:
        conf(args=[], project='meterd', prog='meterd-api',
             default_config_files=list(config_files) if config_files else None)
    except (cfg.Error, ValueError) as err:
        raise http.CommandError(f'cannot read the config file: {err}') from None
    return conf


def endpoint_from_conf(conf):
    """``http://[api] host:[api] port``; a wildcard bind address means this machine."""
    try:
        host, port = conf.api.host, conf.api.port
    except (ValueError, AttributeError) as err:
        raise http.CommandError(f'bad [api] host/port in the config file: {err}') from None
    if host in ('0.0.0.0', ''):
        host = '127.0.0.1'
    elif host == '::':
        host = '::1'
    if ':' in host:
        host = f'[{host}]'
    return f'http://{host}:{port}'


def admin_token_from_file(conf):
    """The first admin token of the server's token file (read only, never created).

    :returns: (token or None, why not: a hint for the operator when there is none).
    """
    from meterd.api.middleware import auth

    path = auth.token_file_path(conf)
    try:
        with open(path) as f:
            tokens = json.load(f)
    except FileNotFoundError:
        return None, f'no token given, and no token file {path}'
    except (OSError, ValueError) as err:
        return None, f'no token given, and the token file {path} is unreadable ({err})'
    if isinstance(tokens, dict):
        for token, identity in tokens.items():
            if isinstance(identity, dict) and 'admin' in (identity.get('roles') or []):
                return token, None
    return None, f'no token given, and the token file {path} holds no admin token'


def keystone_session(args):
    """A keystoneauth1 session logged in with the ``--os-*`` password options.

    :raises http.CommandError: keystoneauth1 missing or a required option absent.
    """
    try:
        from keystoneauth1 import exceptions as ks_exc
        from keystoneauth1.identity import v3
        from keystoneauth1 import session as ks_session
    except ImportError:
        raise http.CommandError(
            'Keystone authentication needs keystoneauth1: pip install "meterd[cli]"') from None
    missing = [opt for opt, value in (('--os-username', args.os_username),
                                      ('--os-password', args.os_password))
               if not value]
    if not (args.os_project_name or args.os_project_id):
        missing.append('--os-project-name')
    if missing:
        raise http.CommandError('Keystone authentication (--os-auth-url) also needs '
                                + ', '.join(missing))
    plugin = v3.Password(
        auth_url=args.os_auth_url, username=args.os_username, password=args.os_password,
        project_name=args.os_project_name, project_id=args.os_project_id,
        user_domain_name=args.os_user_domain_name,
        project_domain_name=args.os_project_domain_name)
    verify = False if args.insecure else (args.os_cacert or True)
    return ks_session.Session(auth=plugin, verify=verify), ks_exc


def build_client(args, debug_stream=None):
    """The http.Client the command line asks for."""
    headers = {}
    endpoint = args.os_endpoint
    token = args.os_token
    verify = False if args.insecure else (args.os_cacert or True)
    if args.os_auth_url and not token:
        session, ks_exc = keystone_session(args)
        try:
            token = session.get_token()
            if not endpoint:
                endpoint = session.get_endpoint(service_type='metering',
                                                interface=args.os_interface,
                                                region_name=args.os_region_name)
        except ks_exc.ClientException as err:
            raise http.CommandError(f'Keystone authentication failed: {err}') from None
        if not endpoint:
            raise http.CommandError('the Keystone catalog has no metering endpoint; '
                                    'pass --os-endpoint')
    conf = None
    auth_hint = None if token else 'no token given'
    if not endpoint:
        if args.config_file:
            conf = server_conf(args.config_file)
            endpoint = endpoint_from_conf(conf)
        else:
            endpoint = DEFAULT_ENDPOINT
    endpoint = http.normalize_endpoint(endpoint)
    identity = {'X-User-Id': args.os_user_id, 'X-Project-Id': args.os_project_id,
                'X-Roles': args.os_roles}
    if (not token and not args.os_auth_url and is_local(endpoint)
            and not args.no_local_admin):
        conf = conf or server_conf(args.config_file)
        if conf.api.auth_strategy == 'token':
            token, auth_hint = admin_token_from_file(conf)
        elif conf.api.auth_strategy == 'noauth' and not any(identity.values()):
            # The local operator of a noauth server is its admin, as with the token file.
            identity = {'X-User-Id': 'admin', 'X-Project-Id': 'admin', 'X-Roles': 'admin'}
    if token:
        headers['X-Auth-Token'] = token
    # Identity headers only matter to a server with auth_strategy=noauth; the others drop them.
    headers.update((name, value) for name, value in identity.items() if value)
    if any(identity.values()):
        auth_hint = None
    return http.Client(endpoint, headers=headers, timeout=args.timeout, verify=verify,
                       debug=args.debug, debug_stream=debug_stream,
                       auth_hint=None if token else auth_hint)
