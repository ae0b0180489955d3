"""The domain model. Models hold data and their own invariants; they enqueue nothing."""

from .accounts import ROLES, ApiToken, Membership, User, UserSession, Workspace
from .activity import AuditEvent, Notification
from .channels import Channel
from .deliveries import CLAIMABLE, DELIVERY_STATUSES, OPEN, Delivery
from .posts import Campaign, Post, Schedule, Template, post_channels
from .types import UTCDateTime, utcnow

__all__ = [
    "ROLES", "ApiToken", "Membership", "User", "UserSession", "Workspace",
    "AuditEvent", "Notification",
    "Channel", "CLAIMABLE", "DELIVERY_STATUSES", "OPEN", "Delivery", "Campaign", "Post",
    "Schedule", "Template", "post_channels", "UTCDateTime", "utcnow",
]
