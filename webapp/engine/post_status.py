"""A post's status follows from its schedules and deliveries: the one place that says how."""

from sqlalchemy import select, update

from ..extensions import db
from ..models import NEEDS_ATTENTION, OPEN, Delivery, Post, Schedule

# A post's status follows its publications; removals (action `unpublish`) come after the
# post went out and leave it published.
PUBLICATIONS = Delivery.action == "publish"
# Set by people, not derived from deliveries.
MANUAL = ("draft", "pending_approval", "cancelled")


def derive(status: str, delivery_statuses: set[str],
           schedules: list[tuple[str, object]]) -> tuple[str, bool]:
    """(the post's status, whether its finished schedules are now completed), from its
    current status, the statuses of its deliveries and its schedules' (status, next_run_at).

    A failed (or unknown) delivery shows at once (failed, or partially_published when
    another channel got the post) even while a recurring schedule goes on; otherwise the post stays
    scheduled while anything is still to come, and is published when everything went out.
    """
    if status in MANUAL:
        return status, False
    waiting = bool(delivery_statuses & set(OPEN))
    upcoming = any(s == "active" and next_run is not None for s, next_run in schedules)
    if not delivery_statuses.isdisjoint(NEEDS_ATTENTION):
        status = "partially_published" if "published" in delivery_statuses else "failed"
    elif upcoming or waiting:
        status = "scheduled"
    elif "published" in delivery_statuses:
        status = "published"
    elif delivery_statuses == {"cancelled"}:
        status = "cancelled"
    return status, not waiting


def refresh(post: Post) -> None:
    """Recompute a post's status (the ORM object and its schedules)."""
    statuses = set(db.session.scalars(
        select(Delivery.status).where(Delivery.post_id == post.id, PUBLICATIONS).distinct()))
    post.status, complete = derive(post.status, statuses,
                                   [(s.status, s.next_run_at) for s in post.schedules])
    if complete:
        for schedule in post.schedules:
            if schedule.status == "active" and schedule.next_run_at is None:
                schedule.status = "completed"


def refresh_many(post_ids: set[int]) -> None:
    """The same for many posts with a few statements, for the publishing hot path (no ORM
    objects are loaded; rows change only where the status does)."""
    if not post_ids:
        return
    ids = list(post_ids)
    current = dict(db.session.execute(select(Post.id, Post.status).where(Post.id.in_(ids))).all())
    statuses: dict[int, set[str]] = {post_id: set() for post_id in current}
    for post_id, status in db.session.execute(
            select(Delivery.post_id, Delivery.status).where(Delivery.post_id.in_(ids),
                                                            PUBLICATIONS)
            .distinct()):
        statuses[post_id].add(status)
    schedules: dict[int, list] = {post_id: [] for post_id in current}
    for post_id, status, next_run in db.session.execute(
            select(Schedule.post_id, Schedule.status, Schedule.next_run_at)
            .where(Schedule.post_id.in_(ids))):
        schedules[post_id].append((status, next_run))
    changed: dict[str, list[int]] = {}
    finished = []
    for post_id, status in current.items():
        new, complete = derive(status, statuses[post_id], schedules[post_id])
        if new != status:
            changed.setdefault(new, []).append(post_id)
        if complete:
            finished.append(post_id)
    for new, changed_ids in changed.items():
        db.session.execute(update(Post).where(Post.id.in_(changed_ids)).values(status=new)
                           .execution_options(synchronize_session=False))
    if finished:
        db.session.execute(
            update(Schedule).where(Schedule.post_id.in_(finished), Schedule.status == "active",
                                   Schedule.next_run_at.is_(None))
            .values(status="completed").execution_options(synchronize_session=False))
