"""prepare_service: build the ConfigOpts every console script and test starts from."""

import sys

from oslo_config import cfg
from oslo_log import log

from meterd import opts

LOG = log.getLogger(__name__)

#: Libraries whose INFO chatter drowns an operator's log.
_QUIET_LOGGERS = ['stevedore=WARN', 'routes=WARN', 'keystonemiddleware=INFO',
                  'keystoneauth=WARN', 'urllib3=WARN', 'oslo_policy=WARN',
                  'sqlalchemy=WARN', 'pymongo=WARN', 'eventlet.wsgi.server=INFO']


def prepare_service(argv=None, config_files=None, description=None):
    """Register every option, parse argv and config files, set up oslo.log.

    :raises SystemExit: on a bad option value, naming the option (oslo.config).
    """
    conf = cfg.ConfigOpts()
    log.register_options(conf)
    opts.register_opts(conf)
    log.set_defaults(default_log_levels=log.get_default_log_levels() + _QUIET_LOGGERS)
    argv = sys.argv[1:] if argv is None else argv
    conf(argv, project='meterd', prog=None, description=description,
         default_config_files=config_files, validate_default_values=True)
    log.setup(conf, 'meterd')
    return conf
