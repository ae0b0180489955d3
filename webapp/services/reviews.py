"""Client review links: an approver sends a link to someone outside the workspace, who sees
the post as each channel will show it and approves it or requests changes, once.

The link carries a random token (secrets.token_urlsafe, 256 bits) and the database keeps
only its SHA-256, as invitations do. It is not also signed with SECRET_KEY (itsdangerous):
every request looks the token up anyway, so a signature would add no protection against
guessing, and expiry and revocation must be decided by the server on each request, not
by a timestamp inside the URL; a signature would only tie every link to the current
SECRET_KEY, so rotating the key would silently break the links clients were sent.

The decision goes through services.approvals under the link's name (`via`): the audit
event, the notices and the lifecycle hooks are the same as a member's decision."""

from sqlalchemy import select, update

from ..errors import Conflict, DomainError, Gone, NotFound, ValidationError
from ..extensions import db
from ..models import Post, ReviewLink
from ..models.audit import record
from ..timeutil import now_utc
from . import approvals
from .validation import Errors, in_workspace, text

TOKEN_LENGTH = 43  # secrets.token_urlsafe(32)
DECISIONS = ("approve", "changes")
# Why a link opens nothing (Refused.reason).
EXPIRED, REVOKED, USED, NOT_WAITING = "expired", "revoked", "used", "not_waiting"


class Refused(Gone):
    """A link that exists but may no longer decide; `link` lets the page show why (and,
    once used, what was decided)."""

    def __init__(self, message: str, link: ReviewLink, reason: str):
        super().__init__(message, reason=reason)
        self.link = link


def _days(value, errors: Errors) -> int:
    """Whole days from 1 to ReviewLink.MAX_DAYS (a form sends digits, the code an int)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) \
            or not 1 <= value <= ReviewLink.MAX_DAYS:
        errors.add("days", f"must be a whole number of days from 1 to {ReviewLink.MAX_DAYS}")
        return 0
    return value


def create(post: Post, user_id: int | None, name, days=ReviewLink.LIFETIME_DAYS
           ) -> tuple[ReviewLink, str]:
    """A new link for a post that waits for approval, and its plain token (shown once,
    never stored)."""
    errors = Errors()
    name = text(name, "name", errors, max_length=ReviewLink.NAME_MAX, required=True).strip()
    days = _days(days, errors)
    errors.raise_if_any()
    if post.status != "pending_approval":
        raise Conflict(f"post {post.id} is not waiting for approval (it is {post.status}): "
                       "only a post that waits can be sent for review",
                       reason=approvals.NOT_PENDING)
    link, plain = ReviewLink.issue(post, name, days, user_id)
    db.session.add(link)
    db.session.flush()
    record(post.workspace_id, "review_link.created", link, user_id=user_id,
           after={"name": name, "post_id": post.id, "expires_at": link.expires_at.isoformat()})
    db.session.commit()
    return link, plain


def of_post(post: Post) -> list[ReviewLink]:
    """The post's links, newest first."""
    return list(db.session.scalars(select(ReviewLink).where(ReviewLink.post_id == post.id)
                                   .order_by(ReviewLink.created_at.desc(),
                                             ReviewLink.id.desc())))


def get(workspace_id: int, link_id) -> ReviewLink:
    """The workspace's link, or NotFound."""
    return in_workspace(ReviewLink, workspace_id, link_id, "review link")


def revoke(link: ReviewLink, user_id: int | None) -> ReviewLink:
    """The link opens nothing from now on (a used link keeps its outcome: Conflict)."""
    if link.used_at is not None:
        raise Conflict(f"the link for {link.name} was used already: its decision stands",
                       reason=USED)
    if link.revoked_at is None:
        link.revoked_at = now_utc()
        record(link.workspace_id, "review_link.revoked", link, user_id=user_id,
               before={"name": link.name, "post_id": link.post_id})
    db.session.commit()
    return link


def _find(token) -> ReviewLink:
    row = None
    if isinstance(token, str) and len(token) == TOKEN_LENGTH:
        row = db.session.scalar(select(ReviewLink).where(
            ReviewLink.token_hash == ReviewLink.hash(token)))
    if row is None:
        raise NotFound("This review link is not valid: it may have been mistyped. Ask "
                       "whoever sent it for a new one.")
    return row


def open(token) -> ReviewLink:
    """The link with this token, while it may still decide; else NotFound (unknown) or
    Refused (expired, revoked, used, or the post no longer waits)."""
    link = _find(token)
    state = link.status(now_utc())
    if state == "used":
        raise Refused("This review link was used already: each link decides once.", link,
                      USED)
    if state == "revoked":
        raise Refused("This review link was withdrawn by its sender. Ask them for a new "
                      "one if you still need it.", link, REVOKED)
    if state == "expired":
        raise Refused("This review link has expired. Ask whoever sent it for a new one.",
                      link, EXPIRED)
    if link.post.status != "pending_approval" or approvals.pending_of(link.post) is None:
        raise Refused("This post no longer waits for a decision: it was decided, changed "
                      "or withdrawn meanwhile. Nothing more is needed from you.", link,
                      NOT_WAITING)
    return link


def decide(token, decision, comment) -> ReviewLink:
    """Approve the post, or request changes (a comment required), under the link's name;
    the link is used by it."""
    if decision not in DECISIONS:
        raise ValidationError.field("decision", "must be 'approve' or 'changes'")
    link = open(token)
    pending = approvals.pending_of(link.post)
    # Conditional, so that two tabs deciding at once use the link once; in the decision's
    # own transaction (approve/reject commit it), so a refused decision leaves it unused.
    used = db.session.execute(
        update(ReviewLink).where(ReviewLink.id == link.id, ReviewLink.used_at.is_(None))
        .values(used_at=now_utc(), approval_id=pending.id)
        .execution_options(synchronize_session=False))
    if used.rowcount != 1:
        db.session.rollback()
        raise Refused("This review link was used already: each link decides once.", link,
                      USED)
    decide_as = approvals.approve if decision == "approve" else approvals.reject
    try:
        decide_as(link.post, None, comment, via=link.name)
    except DomainError:
        # (When the post's last time passed while it waited, approve() commits that and
        # refuses: the link then shows that outcome.)
        db.session.rollback()
        raise
    db.session.refresh(link)
    return link
