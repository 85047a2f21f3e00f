"""The MeterdError tree: every error a client may see, with its HTTP status.

One place (the fault middleware) turns these into the v2 JSON error body, so
messages here are written for the client: no SQL, no credentials, no traces.
"""


class MeterdError(Exception):
    """Base error; ``code`` is the HTTP status, ``message`` the faultstring."""

    code = 500
    message_format = 'An unknown error occurred.'

    def __init__(self, message=None, **kwargs):
        if message is None:
            message = self.message_format % kwargs if kwargs else self.message_format
        self.message = str(message)
        super().__init__(self.message)


class InvalidInput(MeterdError):
    code = 400
    message_format = 'Invalid input.'


class ClientSideError(InvalidInput):
    """A 400 whose text is given verbatim (the §15 catalogue strings)."""


class InvalidFieldValue(InvalidInput):
    """WSME-style binding error: names the field, the raw value and why."""

    def __init__(self, field, value, reason):
        super().__init__(
            f"Invalid input for field/attribute {field}. Value: '{value}'. {reason}")
        self.field = field
        self.value = value


class NotAuthenticated(MeterdError):
    code = 401
    message_format = 'Authentication required.'


class ProjectNotAuthorized(MeterdError):
    code = 401

    def __init__(self, project_id):
        super().__init__(f'Not Authorized to access project {project_id}')


class NotAuthorized(MeterdError):
    code = 403
    message_format = 'RBAC Authorization Failed'


class NotFound(MeterdError):
    code = 404
    message_format = 'The resource could not be found.'


class SampleNotFound(NotFound):
    def __init__(self, sample_id):
        super().__init__(f'Sample {sample_id} Not Found')


class ResourceNotFound(NotFound):
    def __init__(self, resource_id):
        super().__init__(f'Resource {resource_id} Not Found')


class Conflict(MeterdError):
    code = 409
    message_format = 'Conflict.'


class Gone(MeterdError):
    code = 410
    message_format = 'This resource is no longer available.'


class RequestTooLarge(MeterdError):
    code = 413
    message_format = 'Request is too large.'


class NotImplementedByDriver(MeterdError):
    code = 501
    message_format = 'This feature is not implemented by the storage driver.'


class StorageUnavailable(MeterdError):
    code = 503
    message_format = 'The storage backend is unavailable; try again later.'


class ConfigError(MeterdError):
    """A start-up problem in configuration; never reaches a client."""

    message_format = 'Invalid configuration.'
