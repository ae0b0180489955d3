"""Lifecycle webhooks: where a workspace's events are POSTed, and the log of each POST."""

import uuid

from ..extensions import db
from .types import UTCDateTime, utcnow

# What a hook may subscribe to (API.md, "Team, tokens, audit, hooks").
HOOK_EVENTS = ("delivery.published", "delivery.failed", "post.approved", "post.rejected",
               "conflict.opened")
HOOK_CALL_STATUSES = ("pending", "sent", "retrying", "failed")
# A call whose POST is still to be made (first or next attempt).
CALL_WAITING = ("pending", "retrying")


class Hook(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    url = db.Column(db.String(2000), nullable=False)
    # The signing secret, encrypted like channel credentials (crypto.py); None: unsigned.
    secret_encrypted = db.Column(db.Text)
    events = db.Column(db.JSON, nullable=False, default=list)
    created_by = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class HookCall(db.Model):
    """One event POSTed to one hook: the delivery log. `payload` is the body, the same on
    every attempt; the id keys its Idempotency-Key."""

    id = db.Column(db.Integer, primary_key=True)
    hook_id = db.Column(db.ForeignKey("hook.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    event = db.Column(db.String(32), nullable=False)
    # Sent as Idempotency-Key on every attempt, so a receiver drops a repeated call.
    idempotency_key = db.Column(db.String(64), nullable=False, unique=True,
                                default=lambda: uuid.uuid4().hex)
    payload = db.Column(db.JSON, nullable=False)
    status = db.Column(db.String(16), nullable=False, default="pending", index=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    response_status = db.Column(db.Integer)
    last_error = db.Column(db.Text)
    # When the next attempt may start; while one is under way, when it counts as lost.
    next_attempt_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    finished_at = db.Column(UTCDateTime)
