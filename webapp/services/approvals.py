"""Approvals: whether what someone schedules must wait for an approver, the requests, and
the decisions (by a member, or by a client through a review link).

The states: an editor scheduling (or editing an approved post) in a workspace with
`approval: required` makes the post `pending_approval` with one pending Approval. Approving
makes it `scheduled` (what is already due stays cancelled: nothing goes out after its time
because someone approved late); rejecting returns it to `draft` with the comment. What time
does to waiting posts is in engine/approvals.py."""

from sqlalchemy import func, select

from ..engine import approvals as due
from ..engine import jobs, planner, post_status
from ..errors import Conflict, ValidationError
from ..extensions import db
from ..models import (
    APPROVAL_MODES,
    IN_JOB,
    UNTRIED,
    Approval,
    Delivery,
    Membership,
    Notification,
    Post,
    Workspace,
)
from ..models.audit import record
from ..timeutil import now_utc
from . import hooks
from .validation import Errors, text

NOT_PENDING = "not_pending"
COMMENT_MAX = 5_000


def required(workspace_id: int, user_id: int | None) -> bool:
    """Whether what this person schedules waits for approval: in a workspace that requires
    it, for anyone below approver. (No person — the command line, the system — never waits.)"""
    if user_id is None:
        return False
    workspace = db.session.get(Workspace, workspace_id)
    if workspace is None or workspace.approval != "required":
        return False
    membership = db.session.scalar(select(Membership).where(
        Membership.workspace_id == workspace_id, Membership.user_id == user_id))
    return membership is None or not membership.can("approver")


def request(post: Post, user_id: int | None) -> Approval:
    """The post's pending request, opened now unless one already waits."""
    pending = pending_of(post)
    if pending is None:
        pending = Approval(workspace_id=post.workspace_id, post=post, requested_by=user_id)
        db.session.add(pending)
        db.session.flush()
        record(post.workspace_id, "approval.requested", post, user_id=user_id)
    return pending


def ask_again(post: Post, user_id: int | None) -> None:
    """An approved post changed by someone whose changes wait (a calendar move of one of
    its occurrences): it waits for approval again, and its jobs are taken back."""
    if post.status in ("draft", "cancelled", "pending_approval"):
        return
    jobs.withhold(list(db.session.scalars(select(Delivery).where(
        Delivery.post_id == post.id, Delivery.status.in_(IN_JOB)))))
    post.status = "pending_approval"
    request(post, user_id)


def close(post: Post, status: str, user_id: int | None) -> None:
    """End a pending request without a decision (withdrawn: back to a draft, or scheduled
    by an approver's own edit)."""
    pending = pending_of(post)
    if pending is not None:
        pending.status, pending.decided_by, pending.decided_at = status, user_id, now_utc()


def pending_of(post: Post) -> Approval | None:
    """The post's open request for approval, if one waits."""
    return db.session.scalar(select(Approval).where(
        Approval.post_id == post.id, Approval.status == "pending").limit(1))


def latest_of(post: Post) -> Approval | None:
    """The post's most recent request (the composer shows a rejection's comment)."""
    return db.session.scalar(select(Approval).where(Approval.post_id == post.id)
                             .order_by(Approval.id.desc()).limit(1))


def _comment(value, *, needed: bool) -> str:
    errors = Errors()
    comment = text(value, "comment", errors, max_length=COMMENT_MAX, required=needed)
    if needed and not errors.fields and not comment.strip():
        errors.add("comment", "is required: say what should change")
    errors.raise_if_any()
    return comment.strip()


def _pending_or_refuse(post: Post) -> Approval:
    pending = pending_of(post)
    if post.status != "pending_approval" or pending is None:
        raise Conflict(f"post {post.id} is not waiting for approval (it is {post.status})",
                       reason=NOT_PENDING)
    return pending


def approve(post: Post, user_id: int | None, comment=None, *, via: str | None = None) -> Post:
    """Let the post go out at its times. Occurrences whose time already passed stay
    cancelled ("not approved before its time")."""
    comment = _comment(comment, needed=False)
    pending = _pending_or_refuse(post)
    now = now_utc()
    notices = due.expire_due(now, [post.id])
    if post.status != "pending_approval":  # its last occurrence just passed
        db.session.commit()
        due.send_mail(notices)
        raise Conflict(f"post {post.id} had nothing left to approve: its time passed "
                       "while it waited", reason=NOT_PENDING)
    _decide(pending, "approved", user_id, comment, via, now)
    post.status = "scheduled"
    post_status.refresh(post)
    notices += [_tell(post, "approved", comment, via)]
    record(post.workspace_id, "post.approved", post, user_id=user_id,
           before={"status": "pending_approval"}, after=_outcome(post, comment, via))
    _fire(post, "post.approved", user_id, comment, via)
    db.session.commit()
    due.send_mail(notices)
    planner.plan_now(post)
    return post


def reject(post: Post, user_id: int | None, comment, *, via: str | None = None) -> Post:
    """Send the post back to its author as a draft with the comment; nothing of it waits
    any more."""
    comment = _comment(comment, needed=True)
    pending = _pending_or_refuse(post)
    now = now_utc()
    _decide(pending, "rejected", user_id, comment, via, now)
    waiting = list(db.session.scalars(select(Delivery).where(
        Delivery.post_id == post.id, Delivery.status.in_(UNTRIED))))
    jobs.unschedule(waiting)
    for delivery in waiting:
        db.session.delete(delivery)
    post.status = "draft"
    note = _tell(post, "rejected", comment, via)
    record(post.workspace_id, "post.rejected", post, user_id=user_id,
           before={"status": "pending_approval"}, after=_outcome(post, comment, via))
    _fire(post, "post.rejected", user_id, comment, via)
    db.session.commit()
    due.send_mail([note])
    return post


def _decide(pending: Approval, status: str, user_id, comment: str, via, now) -> None:
    pending.status, pending.decided_by, pending.decided_at = status, user_id, now
    pending.comment, pending.decided_via = comment, via


def _fire(post: Post, event: str, user_id, comment: str, via) -> None:
    """The lifecycle hooks subscribed to the decision (sent once the caller commits)."""
    hooks.fire(post.workspace_id, event, {
        "post_id": post.id, "title": post.title, "status": post.status,
        "decided_by": user_id, "review_link": via, "comment": comment})


def _outcome(post: Post, comment: str, via: str | None) -> dict:
    outcome = {"status": post.status, "comment": comment}
    if via:
        outcome["review_link"] = via
    return outcome


def _tell(post: Post, decision: str, comment: str, via: str | None) -> int:
    """A notice for the author (and the team): the decision and its comment."""
    who = f" by {via} (review link)" if via else ""
    prefix = "Approved: " if decision == "approved" else "Changes requested: "
    note = Notification(
        workspace_id=post.workspace_id, kind=f"post_{decision}",
        title=due.label(post, prefix),
        body=f"Post {post.id} was {decision}{who}." + (f" Comment: {comment}" if comment else ""))
    db.session.add(note)
    db.session.flush()
    return note.id


def search(workspace_id: int, status: str | None):
    """Requests of the workspace with this status (every status when None), oldest first:
    a query, for paging."""
    query = select(Approval).where(Approval.workspace_id == workspace_id)
    if status is not None:
        query = query.where(Approval.status == status)
    return query.order_by(Approval.requested_at, Approval.id)


def count(query):
    """SELECT count(*) of a search() query."""
    return select(func.count()).select_from(query.order_by(None).subquery())


def first_due(post_ids: list[int]) -> dict:
    """Each post's soonest delivery still to be tried (engine.approvals.first_due)."""
    return due.first_due(post_ids)


def set_mode(workspace: Workspace, mode, user_id: int | None) -> Workspace:
    """The workspace's approval setting."""
    if mode not in APPROVAL_MODES:
        raise ValidationError.field("approval", "must be 'none' or 'required'")
    if mode != workspace.approval:
        record(workspace.id, "workspace.updated", workspace, user_id=user_id,
               before={"approval": workspace.approval}, after={"approval": mode})
        workspace.approval = mode
    db.session.commit()
    return workspace
