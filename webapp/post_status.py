"""A post's status follows from its schedules and deliveries: the one place that says how."""

from sqlalchemy import select

from .extensions import db
from .models import OPEN, Delivery, Post

# Set by people, not derived from deliveries.
MANUAL = ("draft", "pending_approval", "cancelled")


def refresh(post: Post) -> None:
    """Recompute a scheduled post's status.

    A failed delivery shows at once (failed, or partially_published when another channel
    got the post) even while a recurring schedule goes on; otherwise the post stays
    scheduled while anything is still to come, and is published when everything went out.
    """
    if post.status in MANUAL:
        return
    statuses = set(db.session.scalars(
        select(Delivery.status).where(Delivery.post_id == post.id).distinct()))
    upcoming = any(s.status == "active" and s.next_run_at is not None for s in post.schedules)
    if not statuses & set(OPEN):
        for schedule in post.schedules:
            if schedule.status == "active" and schedule.next_run_at is None:
                schedule.status = "completed"
    if "failed" in statuses:
        post.status = "partially_published" if "published" in statuses else "failed"
    elif upcoming or statuses & set(OPEN):
        post.status = "scheduled"
    elif "published" in statuses:
        post.status = "published"
    elif statuses == {"cancelled"}:
        post.status = "cancelled"
