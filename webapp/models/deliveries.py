"""Deliveries: one occurrence of a post on one channel — the queue users see."""

from ..extensions import db
from .types import UTCDateTime, utcnow

DELIVERY_STATUSES = ("pending", "queued", "publishing", "published", "retrying", "failed",
                     "cancelled", "unknown")
# What a delivery does on its channel: send the post, or remove what was sent.
DELIVERY_ACTIONS = ("publish", "unpublish")
# Waiting to be published: a worker may claim a delivery only from these states.
WAITING = ("pending", "queued", "retrying")
# Not yet tried (a new delivery, or one given its job).
UNTRIED = ("pending", "queued")
# Carried by a job in Redis (Delivery.job_id).
IN_JOB = ("queued", "retrying")
# Not settled yet: waiting, or being published right now.
OPEN = ("pending", "queued", "publishing", "retrying")
# Settled: nothing more happens to these unless someone acts on them. `unknown`: the
# request may have reached a platform that cannot deduplicate and no answer came back;
# it is never resent by itself.
FINAL = ("published", "failed", "cancelled", "unknown")
# Someone has to look: retried by hand (or, for `unknown`, marked published).
NEEDS_ATTENTION = ("failed", "unknown")


class Delivery(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    # Indexed by the composite workspace indexes below.
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False)
    post_id = db.Column(db.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    schedule_id = db.Column(db.ForeignKey("schedule.id", ondelete="SET NULL"))
    channel_id = db.Column(db.ForeignKey("channel.id", ondelete="CASCADE"), nullable=False,
                           index=True)
    due_at = db.Column(UTCDateTime, nullable=False, index=True)
    # When the next attempt may start: due_at for the first, later for retries.
    next_attempt_at = db.Column(UTCDateTime, nullable=False, index=True)
    status = db.Column(db.String(16), nullable=False, default="pending", index=True)
    action = db.Column(db.String(16), nullable=False, default="publish",
                       server_default="publish")
    priority = db.Column(db.Integer, nullable=False, default=5)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    # Attempts made before the last manual retry: the retry policy counts from there.
    retry_base = db.Column(db.Integer, nullable=False, default=0)
    last_error = db.Column(db.Text)
    external_id = db.Column(db.String(255))
    external_url = db.Column(db.String(1000))
    idempotency_key = db.Column(db.String(64), nullable=False, unique=True)
    claimed_by = db.Column(db.String(120))
    # The RQ job that carries this attempt (several deliveries due in the same second share
    # one); the planner re-creates it when Redis has lost it.
    job_id = db.Column(db.String(80))
    warnings = db.Column(db.JSON, nullable=False, default=list)
    started_at = db.Column(UTCDateTime)
    finished_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    post = db.relationship("Post", lazy="joined")
    channel = db.relationship("Channel", lazy="joined")

    __table_args__ = (
        db.CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status"),
        db.CheckConstraint(f"action IN {DELIVERY_ACTIONS!r}", name="action"),
        # One delivery per occurrence, channel and action, however often the planner runs
        # (a removal may fall on the time of a delivery moved by hand).
        db.UniqueConstraint("schedule_id", "channel_id", "due_at", "action",
                            name="uq_delivery_occurrence"),
        db.Index("ix_delivery_status_next_attempt", "status", "next_attempt_at"),
        # The queue's tabs and counts, and the dashboard, per workspace.
        db.Index("ix_delivery_workspace_status_next_attempt", "workspace_id", "status",
                 "next_attempt_at"),
        db.Index("ix_delivery_workspace_status_due", "workspace_id", "status", "due_at"),
        # Never reuse the id of a deleted delivery: job ids are derived from it.
        {"sqlite_autoincrement": True},
    )
