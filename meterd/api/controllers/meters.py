"""/v2/meters: the meter catalogue, the samples of one meter, and posting samples (§9.2–§9.4)."""

from meterd.api import policy
from meterd.api import sample_bodies
from meterd.api import validation
from meterd.api import views
from meterd.api import wsgi
from meterd import signing


class MetersController:
    """Meters are listed from the catalogue kept at ingest; samples are written synchronously."""

    def __init__(self, storage, conf):
        self._storage = storage
        self._conf = conf

    def index(self, req):
        policy.authorize(self._conf, req.context, 'telemetry:get_meters')
        args = validation.request_args(req)
        validation.reject_unknown_params(args, ('q', 'limit', 'unique'))
        query = validation.sample_filter(req.context, validation.query_items(args, self._conf), 'meters')
        limit = validation.limit(args, self._conf)
        unique = validation.bool_param(args, 'unique')
        return wsgi.Encoded(views.meter_json(m) for m in
                            self._storage.get_meters(query, limit=limit, unique=unique))

    def show(self, req, meter_name):
        policy.authorize(self._conf, req.context, 'telemetry:get_samples')
        args = validation.request_args(req)
        validation.reject_unknown_params(args, ('q', 'limit'))
        query = validation.sample_filter(req.context, validation.query_items(args, self._conf), 'samples',
                                         meter=meter_name)
        limit = validation.limit(args, self._conf)
        return wsgi.Encoded(views.old_sample_json(s)
                            for s in self._storage.get_samples(query, limit=limit))

    @wsgi.response(201)
    def create(self, req, meter_name, body):
        """Store the posted samples all-or-nothing; ``direct`` changes nothing (sync writes)."""
        policy.authorize(self._conf, req.context, 'telemetry:create_samples')
        args = validation.request_args(req)
        validation.reject_unknown_params(args, ('direct',))
        validation.bool_param(args, 'direct')
        secret = self._conf.publisher.telemetry_secret
        # No secret: compute_signature would answer '' for every sample; skip the messages.
        signer = (lambda message: signing.compute_signature(message, secret)) if secret else None
        posted = sample_bodies.new_samples(
            body, meter_name, req.context, self._conf, signer=signer, raw=req.body)
        self._storage.record_samples([p.sample for p in posted])
        return [views.posted_sample(p) for p in posted]
