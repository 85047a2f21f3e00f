"""Paste factories and load_app: the v2 application behind the operator's pipeline.

The oslo ConfigOpts travels to the factories as a string key in paste's
``global_conf`` (paste copies global_conf, so it must hold plain values).
"""

import os
import uuid

from oslo_config import cfg
from oslo_log import log
from paste import deploy

from meterd import exception
from meterd.api import router
from meterd import storage

LOG = log.getLogger(__name__)

GROUP = 'api'
OPTS = [
    cfg.StrOpt('auth_strategy', default='token',
               choices=[('keystone', 'validate X-Auth-Token with Keystone '
                                     '(keystonemiddleware, [keystone_authtoken])'),
                        ('token', 'built-in tokens from [api] token_file'),
                        ('noauth', 'trust X-User-Id/X-Project-Id/X-Roles as sent; '
                                   'loopback or closed networks only')],
               help='Which pipeline of the paste file serves requests; each auth '
                    'strategy names one pipeline there.'),
    cfg.StrOpt('paste_config', default='api-paste.ini',
               help='The paste pipeline file; a relative name is looked up beside the '
                    'config files, then in /etc/meterd and the source tree\'s etc/.'),
    cfg.StrOpt('sample_source', default='openstack',
               help='Source given to posted samples that name none (stored as '
                    '"<project_id>:<source>").'),
]

CONF_KEY = 'meterd.conf_key'
_CONFS = {}


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]


def _source_tree_etc():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'etc')


def find_paste_config(conf):
    """Absolute path of the paste file; ConfigError when it cannot be found."""
    name = conf.api.paste_config
    candidates = [name] if os.path.isabs(name) else (
        [os.path.join(os.path.dirname(os.path.abspath(f)), name)
         for f in conf.config_file or []]
        + [conf.find_file(name) or '', os.path.join('/etc/meterd', name),
           os.path.join(_source_tree_etc(), name)])
    for path in candidates:
        if path and os.path.isfile(path):
            return os.path.abspath(path)
    raise exception.ConfigError(f'[api] paste_config: cannot find {name!r}')


def load_app(conf, paste_file=None):
    """Build the WSGI pipeline named by ``[api] auth_strategy`` from the paste file."""
    paste_file = paste_file or find_paste_config(conf)
    key = uuid.uuid4().hex
    _CONFS[key] = conf
    LOG.info('Loading the API pipeline %r from %s', conf.api.auth_strategy, paste_file)
    return deploy.loadapp('config:' + paste_file, name='meterd',
                          global_conf=_global_conf(conf, key))


def _global_conf(conf, key):
    """What every filter factory receives besides its own section.

    ``oslo_config_project``/``oslo_config_file`` make oslo.middleware filters
    (sizelimit, cors, http_proxy_to_wsgi, ...) read their options from
    meterd's config file into a ConfigOpts of their own instead of falling
    back to the process-global ``cfg.CONF``.
    """
    global_conf = {CONF_KEY: key, 'oslo_config_project': 'meterd'}
    if conf.config_file:
        global_conf['oslo_config_file'] = os.path.abspath(conf.config_file[0])
    return global_conf


def conf_from(global_conf):
    """The ConfigOpts that load_app registered for this paste load."""
    try:
        return _CONFS[global_conf[CONF_KEY]]
    except KeyError:
        raise exception.ConfigError('the paste pipeline must be loaded with '
                                    'meterd.api.app.load_app')


def pipeline_factory(loader, global_conf, **local_conf):
    """Paste composite: pick the pipeline named by [api] auth_strategy."""
    conf = conf_from(global_conf)
    strategy = conf.api.auth_strategy
    if strategy not in local_conf:
        raise exception.ConfigError(
            f'[api] auth_strategy: the paste file has no pipeline {strategy!r}')
    names = local_conf[strategy].split()
    app = loader.get_app(names[-1])
    for name in reversed(names[:-1]):
        app = loader.get_filter(name)(app)
    return app


def app_factory(global_conf, **local_conf):
    """Paste app: the v2 router with its storage connection, opened once."""
    conf = conf_from(global_conf)
    return router.API(storage.get_connection(conf), conf)
