"""Request parameters and bodies -> typed, validated values, or a 400 naming the field."""

from meterd import exception


def reject_unknown_params(req, allowed):
    """400 ``Unknown argument: "<name>"`` for any query parameter not in ``allowed`` (§6.2)."""
    for name in req.params:
        if name not in allowed and name.split('.', 1)[0] not in allowed:
            raise exception.ClientSideError(f'Unknown argument: "{name}"')
