"""The per-request identity every controller reads, built by the auth middleware."""

from oslo_context import context


class RequestContext(context.RequestContext):
    """Identity of the caller; ``is_admin`` means some role is exactly ``admin``.

    Role comparison follows oslo.policy (case-insensitive) but roles are not
    trimmed: ``" admin"`` is not admin (spec §1).
    """

    def __init__(self, user_id=None, project_id=None, roles=None, **kwargs):
        roles = list(roles or [])
        kwargs.setdefault('is_admin', any(r.lower() == 'admin' for r in roles))
        super().__init__(user_id=user_id, project_id=project_id, roles=roles, **kwargs)

    @property
    def auth_project(self):
        """The project a non-admin is confined to; None for admins."""
        return None if self.is_admin else self.project_id


def admin_context():
    """An admin context for console tools that act outside a request."""
    return RequestContext(user_id=None, project_id=None, roles=['admin'],
                          overwrite=False)
