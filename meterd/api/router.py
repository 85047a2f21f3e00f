"""Every URL of the API in one table, dispatched by a routes.Mapper.

A path that exists but not for the method answers 405 with ``Allow``; every
item path also accepts a trailing slash (spec §9). Explicit ``connect`` only:
``mapper.resource()`` would read ``disk.read.bytes`` as a format suffix.
"""

import routes
import webob.dec
import webob.exc

from meterd import exception
from meterd.api.controllers import capabilities
from meterd.api.controllers import meters
from meterd.api.controllers import openapi
from meterd.api.controllers import query
from meterd.api.controllers import resources
from meterd.api.controllers import samples
from meterd.api.controllers import statistics
from meterd.api.controllers import versions
from meterd.api import wsgi

#: path -> {method: (controller name, action)}
ROUTES = (
    ('/', {'GET': ('versions', 'index')}),
    ('/v2', {'GET': ('versions', 'show')}),
    ('/v2/capabilities', {'GET': ('capabilities', 'index')}),
    ('/v2/openapi.json', {'GET': ('openapi', 'index')}),
    ('/v2/meters', {'GET': ('meters', 'index')}),
    ('/v2/meters/{meter_name}', {'GET': ('meters', 'show'), 'POST': ('meters', 'create')}),
    ('/v2/meters/{meter_name}/statistics', {'GET': ('statistics', 'index')}),
    ('/v2/samples', {'GET': ('samples', 'index')}),
    ('/v2/samples/{sample_id}', {'GET': ('samples', 'show')}),
    ('/v2/resources', {'GET': ('resources', 'index')}),
    # '.+': an id may hold '/' (sent as %2F, which the server decodes).
    ('/v2/resources/{resource_id:.+}', {'GET': ('resources', 'show')}),
    ('/v2/query/samples', {'POST': ('query', 'samples')}),
    ('/v2/query/alarms', {'POST': ('versions', 'alarms_gone')}),
    ('/v2/query/alarms/history', {'POST': ('versions', 'alarms_gone')}),
    ('/v2/alarms', {'GET': ('versions', 'alarms_gone'), 'POST': ('versions', 'alarms_gone')}),
    ('/v2/alarms/{alarm_id:.*}', {'GET': ('versions', 'alarms_gone'),
                                  'PUT': ('versions', 'alarms_gone'),
                                  'POST': ('versions', 'alarms_gone'),
                                  'DELETE': ('versions', 'alarms_gone')}),
)

#: controller name -> class, constructed once with (storage, conf).
CONTROLLERS = {
    'versions': versions.VersionsController,
    'capabilities': capabilities.CapabilitiesController,
    'openapi': openapi.OpenAPIController,
    'meters': meters.MetersController,
    'statistics': statistics.StatisticsController,
    'samples': samples.SamplesController,
    'resources': resources.ResourcesController,
    'query': query.QueryController,
}


class MethodNotAllowed:
    """Answers 405 with the methods the path does support."""

    def __init__(self, allowed):
        self.allowed = ', '.join(sorted(allowed))

    @webob.dec.wsgify
    def __call__(self, req):
        raise webob.exc.HTTPMethodNotAllowed(headers=[('Allow', self.allowed)])


def _variants(path):
    return (path,) if path == '/' else (path, path + '/')


def build_mapper(resources_by_name):
    mapper = routes.Mapper()
    for path, methods in ROUTES:
        for variant in _variants(path):
            for method, (name, action) in methods.items():
                mapper.connect(variant, controller=resources_by_name[name], action=action,
                               conditions={'method': [method]})
            # Order matters: the method-less route only catches what the above did not.
            mapper.connect(variant, controller=MethodNotAllowed(methods),
                           action='method_not_allowed')
    return mapper


#: Route matches remembered per (path, method); beyond it the memo starts afresh.
_MATCHES_SIZE = 512


class API:
    """The v2 WSGI application: match the route, hand over to the controller's Resource."""

    def __init__(self, storage, conf):
        self.storage = storage
        controllers = {name: wsgi.Resource(cls(storage, conf))
                       for name, cls in CONTROLLERS.items()}
        self._mapper = build_mapper(controllers)
        self._matches = {}

    def _match(self, path, environ):
        """The mapper's match, remembered: it depends on the path and method only,
        and trying the routes' regexes in turn cost more than the rest of routing."""
        key = (path, environ.get('REQUEST_METHOD'))
        try:
            return self._matches[key]
        except KeyError:
            pass
        result = self._mapper.routematch(path, environ=environ)
        if len(self._matches) >= _MATCHES_SIZE:
            self._matches.clear()
        self._matches[key] = result
        return result

    def __call__(self, environ, start_response):
        """Plain WSGI (no WebOb round trip here); errors reach the ``fault`` filter."""
        # Match on the UTF-8 decoded path so non-ASCII meter names round-trip.
        try:
            path = environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')
        except UnicodeDecodeError:
            raise exception.ClientSideError('The request path is not valid UTF-8.')
        result = self._match(path, environ)
        if not result:
            raise webob.exc.HTTPNotFound()
        match = dict(result[0])
        app = match.pop('controller')
        _set_urlvars(environ, match)
        return app(environ, start_response)


def _set_urlvars(environ, urlvars):
    """What ``webob.Request.urlvars = urlvars`` does: the route's arguments for the controller."""
    if 'wsgiorg.routing_args' in environ:
        environ['wsgiorg.routing_args'] = (environ['wsgiorg.routing_args'][0], urlvars)
        environ.pop('paste.urlvars', None)
    elif 'paste.urlvars' in environ:
        environ['paste.urlvars'] = urlvars
    else:
        environ['wsgiorg.routing_args'] = ((), urlvars)
