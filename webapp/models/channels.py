"""Channels: connected destinations a post is published to."""

from ..extensions import db
from .types import UTCDateTime, utcnow


class Channel(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    name = db.Column(db.String(120), nullable=False)
    platform = db.Column(db.String(32), nullable=False)
    color = db.Column(db.String(7), nullable=False, default="#3b82f6")
    # Non-secret settings (URLs, instance names) in clear; credentials encrypted (see crypto.py).
    config = db.Column(db.JSON, nullable=False, default=dict)
    secrets_encrypted = db.Column(db.Text)
    rate_limit_per_hour = db.Column(db.Integer)
    # Optional posting slots: [{"weekday": 0-6, "time": "09:00"}], in the workspace's zone.
    slots = db.Column(db.JSON, nullable=False, default=list)
    paused = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
