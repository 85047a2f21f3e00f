"""/healthcheck for load balancers: oslo.middleware's terse probe, on one exact path.

oslo.middleware ships its healthcheck as a paste *app* (the filter factory is
retired), so this filter hands exactly ``GET``/``HEAD <path>`` to it and every
other request down the pipeline untouched. Place it after ``request_id``,
``fault`` and ``sizelimit`` (the answer carries a request id, a 503 gets the v2
error body) and before authentication: probes carry no token, so the probe
must say nothing but 200 ``OK`` / 204 (HEAD) or 503. The detailed view (which
lists threads and stacks) is refused when the pipeline is loaded.
"""

import os

from oslo_middleware import healthcheck
import webob

from meterd.api import app as api_app
from meterd import exception

#: Default file whose existence makes the probe answer 503 (drain before maintenance).
DISABLE_FILE = 'healthcheck_disable'


class HealthcheckFilter:
    """Answer the probe path with oslo.middleware's healthcheck; pass everything else on."""

    def __init__(self, app, probe, path):
        self.app = app
        self.probe = probe
        self.path = path

    def __call__(self, environ, start_response):
        # The raw PATH_INFO: decoding a non-UTF-8 path is the router's business.
        # Plain WSGI: every other request passes without a WebOb round trip.
        if (environ.get('PATH_INFO') == self.path
                and environ.get('REQUEST_METHOD') in ('GET', 'HEAD')):
            return webob.Request(environ).get_response(self.probe)(environ, start_response)
        return self.app(environ, start_response)


def filter_factory(global_conf, **local_conf):
    """Paste filter. Knobs: ``path`` (default /healthcheck), ``backends``,
    ``disable_by_file_path`` (default ``<[DEFAULT] state_path>/healthcheck_disable``).

    :raises exception.ConfigError: ``detailed`` is switched on.
    """
    conf = api_app.conf_from(global_conf)
    # oslo_config_project/file: read [healthcheck] of meterd's file, never cfg.CONF.
    options = {k: v for k, v in global_conf.items() if k.startswith('oslo_config_')}
    options.update(local_conf)
    if str(options.get('detailed', 'false')).strip().lower() not in ('false', '0', 'no', 'off'):
        raise exception.ConfigError('[filter:healthcheck] detailed output exposes thread '
                                    'stacks to anonymous callers; it must stay off')
    options['detailed'] = False
    path = options.pop('path', '/healthcheck')
    if 'disable_by_file' in options.get('backends', ''):
        options.setdefault('disable_by_file_path', os.path.join(
            os.path.abspath(conf.state_path), DISABLE_FILE))

    def _filter(app):
        # A probe that declines (allowed_source_ranges) hands over to the pipeline.
        return HealthcheckFilter(app, healthcheck.Healthcheck(app, options), path)
    return _filter
