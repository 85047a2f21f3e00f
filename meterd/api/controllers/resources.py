"""/v2/resources: resources with their meter links, and one resource by id (§9.7)."""

import itertools
import urllib.parse

from meterd import exception
from meterd.api import policy
from meterd.api import validation
from meterd.api import views
from meterd.api import wsgi
from meterd import storage

#: Resources rendered per meter-name lookup when listing with links.
_LINK_BATCH = 500
_PREFIX = '/v2/resources/'


class ResourcesController:
    """Listing reads the catalogue kept at ingest; links take one query per batch."""

    def __init__(self, storage, conf):
        self._storage = storage
        self._conf = conf

    def index(self, req):
        policy.authorize(self._conf, req.context, 'telemetry:get_resources')
        args = validation.request_args(req)
        validation.reject_unknown_params(args, ('q', 'limit', 'meter_links'))
        query = validation.sample_filter(req.context, validation.query_items(args, self._conf),
                                         'resources')
        limit = validation.limit(args, self._conf)
        links = validation.int_param(args, 'meter_links', 1) != 0
        found = self._storage.get_resources(query, limit=limit)
        return wsgi.Encoded(
            self._render(found, req.application_url, links, req.context.auth_project))

    def _render(self, resources, application_url, links, project):
        if not links:
            for r in resources:
                yield views.resource_json(r, application_url)
            return
        resources = iter(resources)
        while batch := list(itertools.islice(resources, _LINK_BATCH)):
            names = self._storage.get_meter_names_by_resource(
                [r.resource_id for r in batch], project=project)
            for r in batch:
                yield views.resource_json(r, application_url, names.get(r.resource_id))

    def show(self, req, resource_id):
        policy.authorize(self._conf, req.context, 'telemetry:get_resource')
        validation.reject_unknown_params(validation.request_args(req), ())
        resource_id = _resource_id(req, resource_id)
        query = storage.SampleFilter(resource=resource_id, project=req.context.auth_project)
        for found in self._storage.get_resources(query, limit=1):
            names = self._storage.get_meter_names_by_resource(
                [found.resource_id], project=req.context.auth_project)
            return views.resource(found, req.application_url, names.get(found.resource_id))
        raise exception.ResourceNotFound(resource_id)


def _resource_id(req, routed):
    """The id decoded once more than the path (``%252F`` -> ``/``, spec §9.7).

    When the server exposes the raw path (eventlet's RAW_PATH_INFO), a single
    ``%2F`` is accepted too: the raw segment is decoded twice.
    """
    raw = req.environ.get('RAW_PATH_INFO')
    if raw and _PREFIX in raw:
        segment = raw.split(_PREFIX, 1)[1]
        segment = segment[:-1] if segment.endswith('/') else segment
        return urllib.parse.unquote(urllib.parse.unquote(segment))
    routed = routed[:-1] if routed.endswith('/') else routed
    return urllib.parse.unquote(routed)
