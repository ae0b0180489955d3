"""The dashboard: what is due soon, what failed, and the workspace's unread notifications."""

from datetime import timedelta

from flask import redirect, url_for
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import OPEN, Channel, Delivery, Notification, Post
from ..timeutil import now_utc
from . import bp
from .context import current_workspace, render, require, wants_fragment

UPCOMING_HOURS = 24
SHOWN = 5
NOTIFICATIONS_SHOWN = 10


def _unread(workspace_id: int):
    return (Notification.workspace_id == workspace_id, Notification.read_at.is_(None))


def _notifications(workspace_id: int) -> dict:
    unread = _unread(workspace_id)
    return {
        "notifications": db.session.scalars(
            select(Notification).where(*unread)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(NOTIFICATIONS_SHOWN)).all(),
        "unread_count": db.session.scalar(select(func.count()).where(*unread)),
    }


@bp.get("/")
def dashboard():
    workspace = current_workspace()
    ws = Delivery.workspace_id == workspace.id
    upcoming = (ws, Delivery.status.in_(OPEN),
                Delivery.next_attempt_at <= now_utc() + timedelta(hours=UPCOMING_HOURS))
    failed = (ws, Delivery.status == "failed")
    return render(
        "pages/dashboard.html",
        upcoming_hours=UPCOMING_HOURS,
        upcoming_count=db.session.scalar(select(func.count()).where(*upcoming)),
        failed_count=db.session.scalar(select(func.count()).where(*failed)),
        upcoming=db.session.scalars(
            select(Delivery).where(*upcoming)
            .order_by(Delivery.next_attempt_at, Delivery.id).limit(SHOWN)).all(),
        failures=db.session.scalars(
            select(Delivery).where(*failed)
            .order_by(Delivery.finished_at.desc(), Delivery.id.desc()).limit(SHOWN)).all(),
        has_channels=db.session.scalar(
            select(Channel.id).where(Channel.workspace_id == workspace.id).limit(1)) is not None,
        has_posts=db.session.scalar(
            select(Post.id).where(Post.workspace_id == workspace.id).limit(1)) is not None,
        **_notifications(workspace.id),
    )


@bp.post("/notifications/read")
def notifications_read():
    """Mark every unread notification of the workspace read (they are shared by its members)."""
    require("editor")
    workspace = current_workspace()
    db.session.execute(update(Notification).where(*_unread(workspace.id))
                       .values(read_at=now_utc()).execution_options(synchronize_session=False))
    db.session.commit()
    if wants_fragment():
        return render("pages/dashboard.html", "pages/_notifications.html",
                      **_notifications(workspace.id))
    return redirect(url_for("pages.dashboard"), 303)
