"""/v2/samples: samples in the new form, newest first, and one sample by id (§9.6)."""

from meterd import exception
from meterd.api import policy
from meterd.api import validation
from meterd.api import views
from meterd.api import wsgi
from meterd import storage


class SamplesController:
    """A non-admin sees only its project's samples, on the list and by id."""

    def __init__(self, storage, conf):
        self._storage = storage
        self._conf = conf

    def index(self, req):
        policy.authorize(self._conf, req.context, 'telemetry:get_samples')
        args = validation.request_args(req)
        validation.reject_unknown_params(args, ('q', 'limit'))
        query = validation.sample_filter(req.context, validation.query_items(args, self._conf), 'samples')
        limit = validation.limit(args, self._conf)
        return wsgi.Encoded(views.sample_json(s)
                            for s in self._storage.get_samples(query, limit=limit))

    def show(self, req, sample_id):
        policy.authorize(self._conf, req.context, 'telemetry:get_sample')
        validation.reject_unknown_params(validation.request_args(req), ())
        query = storage.SampleFilter(message_id=sample_id,
                                     project=req.context.auth_project)
        for found in self._storage.get_samples(query, limit=1):
            return views.sample(found)
        raise exception.SampleNotFound(sample_id)
