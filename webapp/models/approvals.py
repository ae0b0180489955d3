"""Approvals: a post an editor scheduled waits for an approver's decision."""

from ..extensions import db
from .types import UTCDateTime, utcnow

APPROVAL_MODES = ("none", "required")
# pending: waits for a decision; approved / rejected: decided (rejected also covers a
# client's "request changes"); withdrawn: the author took the post back to a draft, or an
# approver's own edit scheduled it; expired: every occurrence passed unapproved.
APPROVAL_STATUSES = ("pending", "approved", "rejected", "withdrawn", "expired")
NOT_APPROVED = "not approved before its time"


class Approval(db.Model):
    """One request for approval of a post and its outcome (a post may have several over
    time: each edit of an approved post by an editor asks again)."""

    id = db.Column(db.Integer, primary_key=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False)
    post_id = db.Column(db.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    status = db.Column(db.String(16), nullable=False, default="pending")
    requested_by = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    requested_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    decided_by = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    # Who decided when it was not a member: the name of a client review link.
    decided_via = db.Column(db.String(120))
    decided_at = db.Column(UTCDateTime)
    comment = db.Column(db.Text, nullable=False, default="")
    # When approvers were reminded that an occurrence due within a day still waits.
    reminded_at = db.Column(UTCDateTime)

    post = db.relationship("Post", lazy="joined")
    requester = db.relationship("User", foreign_keys=[requested_by], lazy="joined")
    decider = db.relationship("User", foreign_keys=[decided_by], lazy="joined")

    __table_args__ = (
        db.CheckConstraint(f"status IN {APPROVAL_STATUSES!r}", name="status"),
        # The Approvals page and GET /approvals: a workspace's requests by status, oldest first.
        db.Index("ix_approval_workspace_status_requested", "workspace_id", "status",
                 "requested_at"),
    )
