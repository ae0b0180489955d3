"""What happened: in-app notifications and the audit log."""

from ..extensions import db
from .types import UTCDateTime, utcnow


class Notification(db.Model):
    """A workspace-wide notice (shared by its members, like a team inbox)."""

    id = db.Column(db.Integer, primary_key=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    kind = db.Column(db.String(32), nullable=False)
    title = db.Column(db.String(200), nullable=False)
    body = db.Column(db.Text, nullable=False, default="")
    delivery_id = db.Column(db.ForeignKey("delivery.id", ondelete="SET NULL"))
    read_at = db.Column(UTCDateTime)
    emailed_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)


class AuditEvent(db.Model):
    """One change: who (None for Herald itself), what, when, from what to what."""

    id = db.Column(db.Integer, primary_key=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False)
    # None for system events (retries, recovery, automatic rescheduling).
    user_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    action = db.Column(db.String(64), nullable=False)
    object_type = db.Column(db.String(32), nullable=False)
    object_id = db.Column(db.Integer)
    before = db.Column(db.JSON)
    after = db.Column(db.JSON)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)

    # The audit log's filters (services.audit.search), each newest first within a workspace.
    __table_args__ = (
        db.Index("ix_audit_event_workspace_created", "workspace_id", "created_at"),
        db.Index("ix_audit_event_workspace_object", "workspace_id", "object_type", "object_id",
                 "created_at"),
        db.Index("ix_audit_event_workspace_user", "workspace_id", "user_id", "created_at"),
        db.Index("ix_audit_event_workspace_action", "workspace_id", "action", "created_at"),
    )
