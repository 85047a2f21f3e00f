"""GET / and GET /v2: the version documents (spec §9.1, §3.2), and the retired alarm URLs."""

from meterd import exception
from meterd.api import views


class VersionsController:
    """Version discovery; needs no identity (readiness probes call GET /)."""

    def __init__(self, storage, conf):
        pass

    def index(self, req):
        return {'versions': {'values': [views.version(req.application_url)]}}

    def show(self, req):
        return {'version': views.version(req.application_url)}

    def alarms_gone(self, req, body=None, **_ids):
        """Alarms moved to Aodh; answer like Ceilometer Pike without Aodh (§13)."""
        raise exception.Gone('alarms URLs is unavailable when Aodh is disabled or unavailable.')
