"""What time does to posts waiting for approval: an occurrence still unapproved at its time
is not published (its deliveries are cancelled), and approvers are reminded a day ahead.
Run by every planner pass, and by an approval itself for what is already due."""

from datetime import datetime, timedelta

from sqlalchemy import exists, func, select, update

from ..extensions import db
from ..models import NOT_APPROVED, UNTRIED, Approval, Delivery, Notification, Post, Schedule
from ..models.audit import record
from .notifications import TITLE_MAX, one_line, send_later

# Approvers are reminded once when a waiting post's next occurrence is this close.
REMIND_AHEAD = timedelta(hours=24)


def label(post: Post, prefix: str) -> str:
    """A notice's one-line title: `prefix` and the post's title or text, within the
    column's size."""
    return prefix + one_line(post.title or post.body, TITLE_MAX - len(prefix))


def expire_due(now: datetime, post_ids: list[int] | None = None) -> list[int]:
    """Cancel the deliveries of posts waiting for approval whose time has come (of these
    posts only, with `post_ids`), notify the workspace once per post, and return a post
    whose last occurrence passed to a draft. Returns the notices' ids: the caller commits,
    then send_mail()s them."""
    query = (select(Delivery.id, Delivery.post_id).join(Post, Post.id == Delivery.post_id)
             .where(Post.status == "pending_approval", Delivery.status.in_(UNTRIED),
                    Delivery.due_at <= now))
    if post_ids is not None:
        query = query.where(Delivery.post_id.in_(post_ids))
    rows = db.session.execute(query).all()
    if not rows:
        return []
    ids = [delivery_id for delivery_id, _ in rows]
    # Conditional on the status: nothing else may have taken these rows meanwhile.
    db.session.execute(update(Delivery).where(
        Delivery.id.in_(ids), Delivery.status.in_(UNTRIED)
    ).values(status="cancelled", last_error=NOT_APPROVED, finished_at=now, job_id=None)
        .execution_options(synchronize_session=False))
    notices = []
    for post_id in sorted({post_id for _, post_id in rows}):
        post = db.session.get(Post, post_id)
        missed = sum(1 for _, p in rows if p == post_id)
        notices.append(Notification(
            workspace_id=post.workspace_id, kind="not_approved",
            title=label(post, "Not published (not approved in time): "),
            body=(f"Post {post.id} was still waiting for approval at its time, so "
                  f"{missed} delivery(ies) were cancelled: {NOT_APPROVED}.")))
        record(post.workspace_id, "post.not_approved", post,
               after={"cancelled_deliveries": missed})
        if not _still_to_come(post):
            db.session.execute(update(Approval).where(
                Approval.post_id == post.id, Approval.status == "pending"
            ).values(status="expired", decided_at=now).execution_options(
                synchronize_session=False))
            post.status = "draft"
    db.session.add_all(notices)
    db.session.flush()
    return [note.id for note in notices]


def _still_to_come(post: Post) -> bool:
    """Whether the post has an occurrence left that an approval could still let out."""
    if db.session.scalar(select(Delivery.id).where(
            Delivery.post_id == post.id, Delivery.status.in_(UNTRIED)).limit(1)):
        return True
    return db.session.scalar(select(Schedule.id).where(
        Schedule.post_id == post.id, Schedule.status.in_(("active", "paused")),
        Schedule.next_run_at.is_not(None)).limit(1)) is not None


def remind(now: datetime) -> list[int]:
    """One notice per waiting request whose post is due within REMIND_AHEAD, once.
    Returns the notices' ids (the caller commits, then e-mails them). Runs every planner
    pass: it starts from the (few) unreminded requests, not from the deliveries due."""
    due_soon = exists().where(Delivery.post_id == Approval.post_id,
                              Delivery.status.in_(UNTRIED),
                              Delivery.due_at <= now + REMIND_AHEAD)
    waiting = db.session.scalars(select(Approval).where(
        Approval.status == "pending", Approval.reminded_at.is_(None), due_soon)).all()
    soonest = first_due([approval.post_id for approval in waiting])
    notices = []
    for approval in waiting:
        post = approval.post
        note = Notification(
            workspace_id=post.workspace_id, kind="approval_reminder",
            title=label(post, "Waiting for approval: "),
            body=(f"Post {post.id} goes out at {soonest[post.id]:%Y-%m-%d %H:%M} UTC only if "
                  "it is approved before then; otherwise it is not published."))
        db.session.add(note)
        approval.reminded_at = now
        notices.append(note)
    db.session.flush()
    return [note.id for note in notices]


def first_due(post_ids: list[int]) -> dict[int, datetime]:
    """Each post's soonest delivery still to be tried."""
    if not post_ids:
        return {}
    return dict(db.session.execute(
        select(Delivery.post_id, func.min(Delivery.due_at))
        .where(Delivery.post_id.in_(post_ids), Delivery.status.in_(UNTRIED))
        .group_by(Delivery.post_id)).all())


def send_mail(notification_ids: list[int]) -> None:
    """Queue the e-mail of each notice (sent by its own job, after the commit)."""
    for notification_id in notification_ids:
        send_later(notification_id)
