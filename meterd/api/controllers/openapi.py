"""GET /v2/openapi.json: the OpenAPI 3.1 document of the v2 API (meterd/api/openapi.json).

Documentation, so no policy rule; it still sits behind the pipeline's
authentication like every v2 path (only /healthcheck is anonymous).
"""

import json
import os

from meterd.api import validation

DOCUMENT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        'openapi.json')


class OpenAPIController:
    """Read the document once at start-up; serve it as is."""

    def __init__(self, storage, conf):
        with open(DOCUMENT, encoding='utf-8') as f:
            self._document = json.load(f)

    def index(self, req):
        validation.reject_unknown_params(validation.request_args(req), ())
        return self._document
