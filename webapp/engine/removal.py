"""Unpublishing: when a publication of a schedule with `unpublish_local` succeeds, a
delivery with action `unpublish` is written for the same channel, due at the schedule's
removal time, carrying the publication's external id. It is claimed, retried and notified
like any delivery (engine/publishing.py calls the publisher's `unpublish`).

The removal is written when the publication succeeds, in the same transaction, and only
then: a publication that fails, is cancelled or never happens has no removal to cancel,
and a removal never runs before what it removes went out."""

import uuid

from sqlalchemy import and_, insert, select
from sqlalchemy.orm import aliased, lazyload

from ..extensions import db
from ..models import OPEN, Delivery, Schedule, unpublish_instant
from . import jobs


def plan_removals(published_ids: list[int]) -> list[int]:
    """Write the removals of these just-published deliveries (action `publish`) whose
    schedule asks for one, unless one exists already; in the caller's transaction. Returns
    the new deliveries' ids."""
    if not published_ids:
        return []
    removal = aliased(Delivery)
    rows = db.session.execute(
        select(Delivery.workspace_id, Delivery.post_id, Delivery.schedule_id,
               Delivery.channel_id, Delivery.priority, Delivery.external_id,
               Delivery.external_url, Schedule)
        .join(Schedule, Schedule.id == Delivery.schedule_id)
        .outerjoin(removal, and_(removal.schedule_id == Delivery.schedule_id,
                                 removal.channel_id == Delivery.channel_id,
                                 removal.action == "unpublish"))
        .where(Delivery.id.in_(published_ids), Delivery.status == "published",
               Delivery.action == "publish", Schedule.unpublish_local.is_not(None),
               removal.id.is_(None))
        .options(lazyload("*"))).all()
    values = []
    for row in rows:
        at = unpublish_instant(row.Schedule)
        values.append({"workspace_id": row.workspace_id, "post_id": row.post_id,
                       "schedule_id": row.schedule_id, "channel_id": row.channel_id,
                       "due_at": at, "next_attempt_at": at, "priority": row.priority,
                       "idempotency_key": uuid.uuid4().hex, "warnings": [],
                       "status": "pending", "action": "unpublish",
                       "external_id": row.external_id, "external_url": row.external_url})
    if not values:
        return []
    return list(db.session.scalars(insert(Delivery).returning(Delivery.id), values))


def give_jobs(delivery_ids: list[int]) -> None:
    """After the commit: removals due within a few seconds get their jobs now (the planner
    gives the others theirs as they enter its horizon)."""
    if not delivery_ids:
        return
    due = [d for d in db.session.scalars(
        select(Delivery).where(Delivery.id.in_(delivery_ids), Delivery.status == "pending"))
        if jobs.needs_job_now(d) and not d.channel.paused]
    for delivery in due:
        delivery.status = "queued"
    jobs.enqueue(due)


def replan(post_id: int, schedule: Schedule) -> int:
    """After a post's schedule was replaced: the channels where the post is already up
    (published, not removed) get their removal from the new schedule's time, instead of
    the old one taken back with the old schedule. In the caller's transaction."""
    at = unpublish_instant(schedule)
    if at is None:
        return 0
    db.session.flush()
    open_removals = set(db.session.scalars(
        select(Delivery.channel_id).where(
            Delivery.post_id == post_id, Delivery.action == "unpublish",
            Delivery.status.in_(OPEN + ("published",)))))
    latest: dict[int, Delivery] = {}
    for d in db.session.scalars(
            select(Delivery).where(Delivery.post_id == post_id, Delivery.action == "publish",
                                   Delivery.status == "published")
            .order_by(Delivery.finished_at, Delivery.id).options(lazyload("*"))):
        latest[d.channel_id] = d
    values = [{"workspace_id": d.workspace_id, "post_id": post_id, "schedule_id": schedule.id,
               "channel_id": channel_id, "due_at": at, "next_attempt_at": at,
               "priority": d.priority, "idempotency_key": uuid.uuid4().hex, "warnings": [],
               "status": "pending", "action": "unpublish", "external_id": d.external_id,
               "external_url": d.external_url}
              for channel_id, d in latest.items() if channel_id not in open_removals]
    if values:
        db.session.execute(insert(Delivery), values)
    return len(values)
