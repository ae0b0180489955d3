"""The audit log: who changed what, from what to what (user None for system events)."""

from ..extensions import db
from . import AuditEvent


def record(workspace_id: int, action: str, obj, *, user_id: int | None = None,
           before: dict | None = None, after: dict | None = None) -> AuditEvent:
    # __class__, not type(): Flask-Login's current_user is a proxy of the User.
    event = AuditEvent(workspace_id=workspace_id, user_id=user_id, action=action,
                       object_type=obj.__class__.__name__.lower(), object_id=obj.id,
                       before=before, after=after)
    db.session.add(event)
    return event
