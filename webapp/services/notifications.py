"""Notifications as the pages show them: a workspace's notices are shared by its members,
like a team inbox, so reading one reads it for everybody."""

from sqlalchemy import func, select, update

from ..engine.notifications import email_enabled
from ..errors import NotFound
from ..extensions import db
from ..models import Notification
from ..timeutil import now_utc

__all__ = ["email_enabled", "mark_all_read", "mark_read", "recent", "unread_count"]


def _unread(workspace_id: int) -> tuple:
    return (Notification.workspace_id == workspace_id, Notification.read_at.is_(None))


def unread_count(workspace_id: int) -> int:
    """How many of the workspace's notifications nobody has read yet."""
    return db.session.scalar(select(func.count()).where(*_unread(workspace_id)))


def recent(workspace_id: int, limit: int) -> list[Notification]:
    """The newest notifications, read or not."""
    return db.session.scalars(
        select(Notification).where(Notification.workspace_id == workspace_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)).all()


def mark_all_read(workspace_id: int) -> None:
    """Mark every unread notification of the workspace read."""
    db.session.execute(update(Notification).where(*_unread(workspace_id))
                       .values(read_at=now_utc()).execution_options(synchronize_session=False))
    db.session.commit()


def mark_read(workspace_id: int, notification_id: int) -> None:
    """Mark one notification read (NotFound unless it is the workspace's)."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.workspace_id != workspace_id:
        raise NotFound(f"Notification {notification_id} not found.")
    if note.read_at is None:
        note.read_at = now_utc()
        db.session.commit()
