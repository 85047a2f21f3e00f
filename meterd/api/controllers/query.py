"""POST /v2/query/samples: the complex query of samples (spec §9.8)."""

from meterd.api import complex_query
from meterd.api import policy
from meterd.api import validation
from meterd.api import views
from meterd.api import wsgi


class QueryController:
    """Filter, order and limit samples with the JSON query language of §9.8."""

    def __init__(self, storage, conf):
        self._storage = storage
        self._conf = conf

    def samples(self, req, body):
        policy.authorize(self._conf, req.context, 'telemetry:query_sample')
        validation.reject_unknown_params(validation.request_args(req), ())
        query = complex_query.parse(body, req.context, self._conf)
        found = self._storage.query_samples(query.filter, query.orderby, query.limit)
        return wsgi.Encoded(views.sample_json(s) for s in found)
