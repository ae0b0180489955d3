"""The domain model. Models hold data and their own invariants; they enqueue nothing."""

from .accounts import (
    ROLES,
    TOKEN_KINDS,
    ApiToken,
    Invitation,
    Membership,
    User,
    UserSession,
    Workspace,
)
from .activity import AuditEvent, Notification
from .approvals import APPROVAL_MODES, APPROVAL_STATUSES, NOT_APPROVED, Approval, ReviewLink
from .channels import Channel
from .deliveries import (
    DELIVERY_ACTIONS,
    DELIVERY_STATUSES,
    FINAL,
    IN_JOB,
    NEEDS_ATTENTION,
    OPEN,
    UNTRIED,
    WAITING,
    Delivery,
)
from .hooks import CALL_WAITING, HOOK_CALL_STATUSES, HOOK_EVENTS, Hook, HookCall
from .posts import (
    CAMPAIGN_STATUSES,
    CLOSED_CAMPAIGNS,
    INACTIVE_POSTS,
    POST_STATUSES,
    SCHEDULE_STATUSES,
    UNPLANNED_POSTS,
    Campaign,
    Post,
    Schedule,
    Template,
    pattern_of,
    post_channels,
    unpublish_instant,
)
from .types import MAX_ID, UTCDateTime, utcnow

__all__ = [
    "ROLES", "TOKEN_KINDS", "ApiToken", "Invitation", "Membership", "User", "UserSession",
    "Workspace",
    "AuditEvent", "Notification",
    "APPROVAL_MODES", "APPROVAL_STATUSES", "NOT_APPROVED", "Approval", "ReviewLink",
    "Channel", "DELIVERY_ACTIONS", "DELIVERY_STATUSES", "FINAL", "NEEDS_ATTENTION", "IN_JOB",
    "OPEN", "UNTRIED", "WAITING", "Delivery",
    "CALL_WAITING", "HOOK_CALL_STATUSES", "HOOK_EVENTS", "Hook", "HookCall",
    "CAMPAIGN_STATUSES", "CLOSED_CAMPAIGNS", "INACTIVE_POSTS", "UNPLANNED_POSTS", "POST_STATUSES",
    "SCHEDULE_STATUSES", "Campaign", "Post", "Schedule",
    "Template", "pattern_of", "post_channels", "unpublish_instant", "MAX_ID", "UTCDateTime",
    "utcnow",
]
