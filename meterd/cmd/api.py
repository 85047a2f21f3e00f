"""meterd-api: serve the Telemetry API v2 with eventlet."""

import eventlet

eventlet.monkey_patch()

import ipaddress  # noqa: E402
import sys  # noqa: E402

from oslo_log import log  # noqa: E402

from meterd.api import app as api_app  # noqa: E402
from meterd.api.middleware import auth  # noqa: E402
from meterd.api import server  # noqa: E402
from meterd import exception  # noqa: E402
from meterd import service  # noqa: E402

LOG = log.getLogger(__name__)


def _is_loopback(host):
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_auth_settings(conf):
    """Refuse noauth on a public address unless explicitly allowed."""
    if conf.api.auth_strategy != 'noauth':
        return
    LOG.warning('auth_strategy=noauth: identity headers are trusted as sent; use only '
                'on closed networks')
    if not _is_loopback(conf.api.host) and not conf.api.noauth_allow_remote:
        raise exception.ConfigError(
            f'[api] auth_strategy=noauth refuses to listen on {conf.api.host}; bind to a '
            'loopback address or set [api] noauth_allow_remote = true')


def main(argv=None):
    conf = service.prepare_service(
        argv, description='Serve the meterd Telemetry API v2 (OpenStack Ceilometer v2 '
                          'compatible) over HTTP.')
    try:
        check_auth_settings(conf)
        app = api_app.load_app(conf)
    except exception.MeterdError as err:
        LOG.error('Cannot start: %s', err.message)
        return 1
    if conf.api.auth_strategy == 'token':
        LOG.info('Tokens are read from %s', auth.token_file_path(conf))
    server.serve(conf, app)
    return 0


if __name__ == '__main__':
    sys.exit(main())
