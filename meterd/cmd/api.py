"""meterd-api: serve the Telemetry API v2 with eventlet."""

import os
import warnings

# eventlet is a deliberate choice here (see meterd.api.server); its import-time
# deprecation notice would only alarm operators on every start.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

# eventlet's green resolver loads dnspython, ~7 MB in every API process, for
# lookups this server makes only when it opens a connection (the database,
# Keystone): those use the system resolver instead. EVENTLET_NO_GREENDNS=no
# in the environment brings the green resolver back. Read at eventlet's import.
os.environ.setdefault('EVENTLET_NO_GREENDNS', 'yes')

import eventlet  # noqa: E402

eventlet.monkey_patch()

import sys  # noqa: E402

from oslo_config import cfg  # noqa: E402
from oslo_log import log  # noqa: E402

from meterd.api import app as api_app  # noqa: E402
from meterd.api.middleware import auth  # noqa: E402
from meterd.api import server  # noqa: E402
from meterd import exception  # noqa: E402
from meterd import service  # noqa: E402

LOG = log.getLogger(__name__)


def main(argv=None):
    conf = service.prepare_service(
        argv, description='Serve the meterd Telemetry API v2 (OpenStack Ceilometer v2 '
                          'compatible) over HTTP.')
    try:
        server.check_bind(conf)
        app = api_app.load_app(conf)
    except exception.MeterdError as err:
        LOG.error('Cannot start: %s', err.message)
        return 1
    except cfg.Error as err:
        # keystonemiddleware registers [keystone_authtoken] only when loaded.
        LOG.error('Cannot start: configuration error: %s', err)
        return 1
    if conf.api.auth_strategy == 'token':
        LOG.info('Tokens are read from %s', auth.token_file_path(conf))
    try:
        server.serve(conf, app)
    except OSError as err:
        LOG.error('Cannot listen on %s:%d: %s', conf.api.host, conf.api.port, err.strerror)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
