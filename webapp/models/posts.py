"""Posts (the content), their schedules (when), campaigns and templates."""

from datetime import datetime
from zoneinfo import ZoneInfo

from ..extensions import db
from ..timeutil import Pattern, resolve
from .types import UTCDateTime, utcnow

POST_STATUSES = ("draft", "pending_approval", "scheduled", "published", "partially_published",
                 "failed", "cancelled")
SCHEDULE_STATUSES = ("active", "paused", "completed", "cancelled", "error")
# Posts in these states are not (or no longer) meant to go out: their deliveries get no
# job and no worker claims them.
INACTIVE_POSTS = ("draft", "pending_approval", "cancelled")
# Posts whose occurrences are not even written as deliveries. A post waiting for approval
# has its deliveries (the queue and calendar show what waits; unapproved at their time they
# are cancelled), it only gets no jobs.
UNPLANNED_POSTS = ("draft", "cancelled")

post_channels = db.Table(
    "post_channel",
    db.Column("post_id", db.ForeignKey("post.id", ondelete="CASCADE"), primary_key=True),
    db.Column("channel_id", db.ForeignKey("channel.id", ondelete="CASCADE"), primary_key=True),
)


CAMPAIGN_STATUSES = ("active", "paused", "completed", "archived")
# An archived campaign is kept for the record: no post is filed under it any more.
CLOSED_CAMPAIGNS = ("archived",)


class Campaign(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    name = db.Column(db.String(120), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    color = db.Column(db.String(7), nullable=False, default="#8b5cf6")
    status = db.Column(db.String(16), nullable=False, default="active")
    tags = db.Column(db.JSON, nullable=False, default=list)
    # The goal: how many posts should be published within start_date..end_date.
    target_post_count = db.Column(db.Integer)
    start_date = db.Column(db.Date)
    end_date = db.Column(db.Date)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        db.CheckConstraint(f"status IN {CAMPAIGN_STATUSES!r}", name="status"),
        # The CSV import and the pickers name campaigns: a name must say which one.
        db.UniqueConstraint("workspace_id", "name"),
    )


class Template(db.Model):
    """What a post can start from: its text, channels, per-channel texts, tags, priority,
    campaign and recurrence. Using one makes a post (services.templates.use)."""

    id = db.Column(db.Integer, primary_key=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    name = db.Column(db.String(120), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    title = db.Column(db.String(200), nullable=False, default="")
    body = db.Column(db.Text, nullable=False, default="")
    channel_ids = db.Column(db.JSON, nullable=False, default=list)
    # {"<channel id>": "text just for that channel"}, as a post's overrides
    overrides = db.Column(db.JSON, nullable=False, default=dict)
    tags = db.Column(db.JSON, nullable=False, default=list)
    priority = db.Column(db.Integer, nullable=False, default=5)
    campaign_id = db.Column(db.ForeignKey("campaign.id", ondelete="SET NULL"))
    # As timeutil.parse_recurrence stores it (an RRULE body, weekly:, monthly:, cron:).
    recurrence = db.Column(db.String(500))
    favorite = db.Column(db.Boolean, nullable=False, default=False)
    use_count = db.Column(db.Integer, nullable=False, default=0)
    last_used_at = db.Column(UTCDateTime)
    created_by = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    campaign = db.relationship("Campaign")

    __table_args__ = (
        db.CheckConstraint("priority BETWEEN 1 AND 10", name="priority"),
    )


class Post(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    author_id = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    title = db.Column(db.String(200), nullable=False, default="")
    body = db.Column(db.Text, nullable=False)
    # {"<channel id>": "text just for that channel"}
    overrides = db.Column(db.JSON, nullable=False, default=dict)
    tags = db.Column(db.JSON, nullable=False, default=list)
    priority = db.Column(db.Integer, nullable=False, default=5)
    campaign_id = db.Column(db.ForeignKey("campaign.id", ondelete="SET NULL"))
    template_id = db.Column(db.ForeignKey("template.id", ondelete="SET NULL"))
    status = db.Column(db.String(24), nullable=False, default="draft", index=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    channels = db.relationship("Channel", secondary=post_channels, lazy="selectin",
                               order_by="Channel.id")
    schedules = db.relationship("Schedule", back_populates="post", lazy="selectin",
                                order_by="Schedule.id")
    campaign = db.relationship("Campaign")

    __table_args__ = (
        db.CheckConstraint("priority BETWEEN 1 AND 10", name="priority"),
        db.CheckConstraint(f"status IN {POST_STATUSES!r}", name="status"),
    )

    def body_for(self, channel_id: int) -> str:
        return self.overrides.get(str(channel_id)) or self.body


class Schedule(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    post_id = db.Column(db.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    action = db.Column(db.String(16), nullable=False, default="publish")
    # The user's intent: wall time in a zone (to the microsecond). Instants are derived
    # from it. A *_fold flag marks the second of a repeated wall time (clocks fall back),
    # set when the user gave that exact instant.
    start_local = db.Column(db.DateTime, nullable=False)
    start_fold = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    timezone = db.Column(db.String(64), nullable=False)
    rrule = db.Column(db.String(500))
    until_local = db.Column(db.DateTime)
    until_fold = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    count = db.Column(db.Integer)
    # When what was published is removed from the platform again (one-off schedules): wall
    # time in `timezone`, with its fold like start_local.
    unpublish_local = db.Column(db.DateTime)
    unpublish_fold = db.Column(db.Boolean, nullable=False, default=False,
                               server_default=db.false())
    status = db.Column(db.String(16), nullable=False, default="active", index=True)
    # The next occurrence not yet turned into deliveries, as wall time and as instant.
    next_run_local = db.Column(db.DateTime)
    next_run_at = db.Column(UTCDateTime, index=True)
    run_count = db.Column(db.Integer, nullable=False, default=0)
    error_count = db.Column(db.Integer, nullable=False, default=0)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    post = db.relationship("Post", back_populates="schedules")

    __table_args__ = (
        db.CheckConstraint("action IN ('publish', 'unpublish')", name="action"),
        db.CheckConstraint(f"status IN {SCHEDULE_STATUSES!r}", name="status"),
    )


def unpublish_instant(schedule) -> datetime | None:
    """When the schedule's published post is removed (UTC), or None."""
    if schedule.unpublish_local is None:
        return None
    return resolve(schedule.unpublish_local.replace(fold=int(schedule.unpublish_fold)),
                   ZoneInfo(schedule.timezone)).at


def pattern_of(schedule) -> Pattern:
    """The schedule's Pattern (a Schedule, or a row with the same columns)."""
    until = schedule.until_local
    return Pattern(schedule.start_local.replace(fold=int(schedule.start_fold)),
                   ZoneInfo(schedule.timezone), schedule.rrule,
                   until.replace(fold=int(schedule.until_fold)) if until else None,
                   schedule.count)
