"""Approvals: a post an editor scheduled waits for an approver's decision."""

import hashlib
import secrets
from datetime import datetime, timedelta

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


class ReviewLink(db.Model):
    """A read-only link an approver sends to someone outside the workspace (a client), who
    sees the post as each channel will show it and decides once: approve or request
    changes. Expires, can be revoked; after its decision it shows the outcome."""

    LIFETIME_DAYS = 7
    MAX_DAYS = 30
    NAME_MAX = 120

    id = db.Column(db.Integer, primary_key=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False)
    post_id = db.Column(db.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    # Who the link is for ("Acme Corp — Jane"): the decision is recorded under it.
    name = db.Column(db.String(NAME_MAX), nullable=False)
    # Only a SHA-256 of the link's token is kept: the table alone opens no link.
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_by = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = db.Column(UTCDateTime, nullable=False)
    revoked_at = db.Column(UTCDateTime)
    used_at = db.Column(UTCDateTime)
    # The request it decided (its outcome and comment), once used.
    approval_id = db.Column(db.ForeignKey("approval.id", ondelete="SET NULL"))

    workspace = db.relationship("Workspace", lazy="joined")
    post = db.relationship("Post", lazy="joined")
    approval = db.relationship("Approval", lazy="joined")
    creator = db.relationship("User", lazy="joined")

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, post, name: str, days: int, created_by: int | None) -> tuple["ReviewLink", str]:
        """A new link valid for `days` and its plain token (which is not stored)."""
        plain = secrets.token_urlsafe(32)  # 43 characters: the review route's length
        row = cls(workspace_id=post.workspace_id, post=post, name=name, created_by=created_by,
                  token_hash=cls.hash(plain), expires_at=utcnow() + timedelta(days=days))
        return row, plain

    def status(self, now: datetime) -> str:
        """used, revoked, expired or active (in that order: a decision stays the outcome)."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "active"
