"""GET /v2/capabilities: what the storage driver supports, flattened (spec §9.9)."""

from meterd.api import validation
from meterd.storage import base


class CapabilitiesController:
    """Rendered once from the driver's maps; readable by any caller."""

    def __init__(self, storage, conf):
        self._document = {
            'api': base.flatten_capabilities(storage.get_capabilities()),
            'storage': base.flatten_capabilities(storage.get_storage_capabilities()),
        }

    def index(self, req):
        validation.reject_unknown_params(validation.request_args(req), allowed=())
        return self._document
