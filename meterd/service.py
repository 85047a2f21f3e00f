"""prepare_service: build the ConfigOpts every console script and test starts from."""

import re
import sys

from oslo_config import cfg
from oslo_log import log
from oslo_policy import opts as policy_opts

from meterd import opts

LOG = log.getLogger(__name__)

#: Libraries whose INFO chatter drowns an operator's log.
_QUIET_LOGGERS = ['stevedore=WARN', 'routes=WARN', 'keystonemiddleware=INFO',
                  'keystoneauth=WARN', 'urllib3=WARN', 'oslo_policy=WARN',
                  'sqlalchemy=WARN', 'pymongo=WARN', 'eventlet.wsgi.server=INFO']

_LOCATION = re.compile(r"detail='([^']*)'")


class ConfigurationError(SystemExit):
    """A bad configuration at start-up: one clear line on stderr, no traceback."""

    def __init__(self, message):
        print(f'{_prog()}: configuration error: {message}', file=sys.stderr)
        super().__init__(2)


def _prog():
    return (sys.argv[0].rsplit('/', 1)[-1] if sys.argv and sys.argv[0] else 'meterd')


def _describe(group, name, err):
    """``[api] port: invalid value in FILE: reason`` from oslo.config's message."""
    text = str(err)
    reason = text.split(' is not valid: ', 1)[-1]
    where = _LOCATION.search(text)
    place = f' in {where.group(1)}' if where and where.group(1) else ''
    return f'[{group}] {name}: invalid value{place}: {reason}'


def validate(conf):
    """Read every registered option once so a bad value fails now, naming the option.

    oslo.config converts values lazily; without this, a typo in a rarely read
    option would surface as a traceback in the middle of serving requests.

    :raises ConfigurationError: listing every invalid option.
    """
    problems = []
    for name in conf:
        try:
            value = conf[name]
        except (cfg.ConfigFileValueError, ValueError) as err:
            problems.append(_describe('DEFAULT', name, err))
            continue
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            for opt_name in value:
                try:
                    value[opt_name]
                except (cfg.ConfigFileValueError, ValueError) as err:
                    problems.append(_describe(name, opt_name, err))
    if problems:
        raise ConfigurationError('; '.join(problems))


def prepare_service(argv=None, config_files=None, description=None):
    """Register every option, parse argv and config files, validate, set up oslo.log.

    :param config_files: the files to read; None means oslo.config's defaults
        (``~/.meterd/meterd.conf``, ``~/meterd.conf``, ``/etc/meterd/meterd.conf``,
        ``/etc/meterd.conf`` and the ``meterd.conf.d`` directories), overridden
        by ``--config-file`` / ``--config-dir`` on the command line.
    :raises ConfigurationError: (a SystemExit) a missing file or a bad value;
        the message names the file or the option.
    """
    conf = cfg.ConfigOpts()
    log.register_options(conf)
    # Libraries register these lazily; up front, a bad value fails at start
    # and tests can override them ([keystone_authtoken] below, once the
    # configuration says it is used).
    policy_opts.set_defaults(conf)
    opts.register_opts(conf)
    log.set_defaults(default_log_levels=log.get_default_log_levels() + _QUIET_LOGGERS)
    argv = sys.argv[1:] if argv is None else argv
    try:
        conf(argv, project='meterd', description=description,
             default_config_files=config_files, validate_default_values=True)
    except cfg.ConfigFilesNotFoundError as err:
        raise ConfigurationError(f'cannot read {", ".join(err.config_files)}') from None
    except (cfg.ConfigFileParseError, cfg.ConfigFileValueError,
            cfg.RequiredOptError) as err:
        raise ConfigurationError(str(err)) from None
    try:
        keystone = conf.api.auth_strategy == 'keystone'
    except (cfg.ConfigFileValueError, ValueError):
        keystone = False  # validate() names the bad value
    if keystone:
        register_keystone_opts(conf)
    validate(conf)
    log.setup(conf, 'meterd')
    return conf


def register_keystone_opts(conf):
    """[keystone_authtoken], registered up front so a bad value fails at start.

    Only for the keystone pipeline: keystonemiddleware and the clients it
    imports weigh about 13 MB in every process that imports them.
    """
    from keystonemiddleware import auth_token

    for group, group_opts in auth_token.list_opts():
        conf.register_opts(group_opts, group=group)
