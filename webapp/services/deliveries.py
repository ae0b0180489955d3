"""Acting on single deliveries, and the figures of the queue."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, cast, extract, func, select, update

from ..engine import jobs, notifications, planner, post_status
from ..errors import Conflict, Forbidden, ValidationError
from ..extensions import db
from ..models import (
    DELIVERY_STATUSES,
    INACTIVE_POSTS,
    NEEDS_ATTENTION,
    OPEN,
    UNTRIED,
    WAITING,
    Delivery,
    Schedule,
    pattern_of,
)
from ..models.audit import record
from ..publishers.base import EXTERNAL_URL_MAX, external_ref
from ..timeutil import now_utc, parse_at, resolve, zone
from . import approvals
from .validation import in_workspace

# Conflict.reason when a delivery is not in a state the action applies to.
WRONG_STATUS = "wrong_status"


def get(workspace_id: int, delivery_id) -> Delivery:
    """The workspace's delivery, or NotFound."""
    return in_workspace(Delivery, workspace_id, delivery_id, "delivery")


def search(workspace_id: int, *, status: str | None = None, channel_id: int | None = None,
           post_id: int | None = None, start: datetime | None = None,
           end: datetime | None = None):
    """The query (by due time) for the workspace's deliveries of a status, channel and
    post, due in [start, end]; each filter optional."""
    query = select(Delivery).where(Delivery.workspace_id == workspace_id)
    if status:
        query = query.where(Delivery.status == status)
    if channel_id:
        query = query.where(Delivery.channel_id == channel_id)
    if post_id:
        query = query.where(Delivery.post_id == post_id)
    if start:
        query = query.where(Delivery.due_at >= start)
    if end:
        query = query.where(Delivery.due_at <= end)
    return query.order_by(Delivery.due_at, Delivery.id)


def upcoming(workspace_id: int, within: timedelta) -> list[Delivery]:
    """The workspace's open deliveries next tried within `within` from now, soonest first
    (overdue ones included)."""
    return db.session.scalars(
        select(Delivery).where(Delivery.workspace_id == workspace_id, Delivery.status.in_(OPEN),
                               Delivery.next_attempt_at <= now_utc() + within)
        .order_by(Delivery.next_attempt_at, Delivery.id)).all()


def _transition(delivery: Delivery, allowed: tuple, **values) -> bool:
    return db.session.execute(
        update(Delivery).where(Delivery.id == delivery.id, Delivery.status.in_(allowed))
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1


def retry(delivery: Delivery, user_id: int | None) -> Delivery:
    """Try a failed (or unknown: someone checked it did not go out) delivery again now,
    with a fresh run of the retry policy and the same idempotency key."""
    if not _transition(delivery, NEEDS_ATTENTION, status="pending", next_attempt_at=now_utc(),
                       retry_base=Delivery.attempts, finished_at=None):
        db.session.rollback()
        raise Conflict(f"delivery {delivery.id} is {delivery.status}; only failed or unknown "
                       "ones retry", reason=WRONG_STATUS)
    db.session.refresh(delivery)
    record(delivery.workspace_id, "delivery.retried", delivery, user_id=user_id)
    post_status.refresh(delivery.post)
    if delivery.post.status in INACTIVE_POSTS:
        delivery.post.status = "scheduled"
    db.session.commit()
    if not delivery.channel.paused:
        delivery.status = "queued"
        jobs.enqueue([delivery])
    return delivery


def mark_published(delivery: Delivery, user_id: int | None,
                   external_url: str | None = None) -> Delivery:
    """Record that an unknown (or failed) delivery did go out after all: someone checked the
    platform. Conflict (reason WRONG_STATUS) for any other status; nothing is sent."""
    if external_url is not None:
        # Kept only as a platform's own link would be (http(s), storable as it is).
        _, external_url = external_ref({"url": external_url})
        if external_url is None:
            raise ValidationError.field(
                "external_url", f"must be an http(s) address of at most {EXTERNAL_URL_MAX} "
                                "characters")
    before = {"status": delivery.status, "last_error": delivery.last_error}
    values = {"status": "published", "finished_at": now_utc(), "last_error": None}
    if external_url is not None:
        values["external_url"] = external_url
    if not _transition(delivery, NEEDS_ATTENTION, **values):
        db.session.rollback()
        raise Conflict(f"delivery {delivery.id} is {delivery.status}; only unknown or failed "
                       "ones can be marked published", reason=WRONG_STATUS)
    db.session.refresh(delivery)
    record(delivery.workspace_id, "delivery.marked_published", delivery, user_id=user_id,
           before=before, after={"status": "published", "external_url": external_url})
    notifications.resolve_for([delivery.id])
    post_status.refresh(delivery.post)
    db.session.commit()
    return delivery


def cancel(delivery: Delivery, user_id: int | None) -> Delivery:
    """Cancel one waiting delivery (Conflict, reason WRONG_STATUS, if it is no longer
    waiting)."""
    jobs.unschedule([delivery])
    if not _transition(delivery, WAITING, status="cancelled",
                       last_error="cancelled", finished_at=now_utc()):
        db.session.rollback()
        raise Conflict(f"delivery {delivery.id} is {delivery.status}; it can no longer be "
                       "cancelled", reason=WRONG_STATUS)
    db.session.refresh(delivery)
    record(delivery.workspace_id, "delivery.cancelled", delivery, user_id=user_id)
    post_status.refresh(delivery.post)
    db.session.commit()
    return delivery


def stats(workspace_id: int, days: int) -> dict:
    """Counts per status, success rate, average wait (due → started) and processing time
    (started → finished) of deliveries due in the last `days` days."""
    since = now_utc() - timedelta(days=days)
    in_window = (Delivery.workspace_id == workspace_id, Delivery.due_at >= since,
                 Delivery.due_at <= now_utc() + timedelta(days=days))
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    for status, n in db.session.execute(
            select(Delivery.status, func.count()).where(*in_window).group_by(Delivery.status)):
        counts[status] = n
    done = counts["published"] + counts["failed"]
    # Averaged by the database: loading every published delivery to average in Python
    # took two thirds of the dashboard's time at 100,000 deliveries. AVG skips NULLs, so
    # a wait needs started_at and a processing time needs started_at and finished_at.
    wait, run = db.session.execute(
        select(func.avg(_microseconds_between(Delivery.due_at, Delivery.started_at)),
               func.avg(_microseconds_between(Delivery.started_at, Delivery.finished_at)))
        .where(*in_window, Delivery.status == "published")).one()
    return {
        "days": days,
        "counts": counts,
        "total": sum(counts.values()),
        "success_rate": round(counts["published"] / done, 4) if done else None,
        "average_wait_seconds": _seconds(wait),
        "average_processing_seconds": _seconds(run),
    }


def _microseconds_between(earlier, later):
    """SQL for `later - earlier` in microseconds, exact on SQLite and PostgreSQL.

    Instants are stored as naive UTC (models.types.UTCDateTime). PostgreSQL keeps a
    `timestamp`, and EXTRACT(EPOCH FROM interval) is exact (numeric). SQLite keeps the text
    'YYYY-MM-DD HH:MM:SS.ffffff', and its date functions round to the millisecond (which
    shows in the third decimal the figures keep): julianday() gets only the first 19
    characters, and its difference is rounded to whole seconds (a float of ~2.4 million
    days is only good to ~40 µs); the microseconds come from characters 21-26. (strftime
    ('%s') would be exact too, but takes half as long again.)"""
    if db.session.get_bind().dialect.name != "sqlite":
        return extract("epoch", later - earlier) * 1_000_000

    def days(column):
        return func.julianday(func.substr(column, 1, 19))

    def microseconds(column):
        return cast(func.substr(column, 21, 6), Integer)

    return (func.round((days(later) - days(earlier)) * 86_400) * 1_000_000
            + microseconds(later) - microseconds(earlier))


def _seconds(microseconds) -> float | None:
    """An average from _microseconds_between in seconds, as the figures show it (a float
    on SQLite, a Decimal on PostgreSQL, None when nothing was averaged)."""
    return None if microseconds is None else round(float(microseconds) / 1_000_000, 3)


def slot_taken(schedule: Schedule, channel_ids: list[int], at: datetime, *,
               but: int | None = None, planned: bool = True) -> bool:
    """Whether another occurrence of `schedule` on one of `channel_ids` is at `at`: a row
    already written (other than delivery `but`), or, with `planned`, an occurrence the
    planner is still to write. Two rows of one schedule and channel never share a time
    (the planner relies on it, and skips an occurrence whose time a moved row took)."""
    taken = db.session.scalar(select(Delivery.id).where(
        Delivery.schedule_id == schedule.id, Delivery.channel_id.in_(channel_ids),
        Delivery.due_at == at, *([Delivery.id != but] if but else [])).limit(1))
    later = (planned and schedule.rrule and schedule.next_run_at is not None
             and at >= schedule.next_run_at
             and pattern_of(schedule).between(at, at + timedelta(seconds=1), limit=1))
    return bool(taken or later)


def move(delivery: Delivery, user_id: int | None, local: str, timezone: str) -> Delivery:
    """Move one delivery (one occurrence on one channel) to a new local time in `timezone`.
    Only deliveries not yet attempted move; the DST rule applies and its warning is kept;
    times in the past are refused. The old job is removed before the new one exists."""
    tz = zone(timezone)
    occurrence = resolve(parse_at(local, tz), ZoneInfo(tz.key))
    if occurrence.at <= now_utc():
        raise ValidationError.field("at", f"{occurrence.local:%Y-%m-%d %H:%M %Z} is in the past")
    if delivery.status not in UNTRIED or delivery.attempts:
        raise Conflict(f"delivery {delivery.id} is {delivery.status}; only waiting deliveries "
                       "move", reason=WRONG_STATUS)
    before = {"due_at": delivery.due_at.isoformat()}
    jobs.unschedule([delivery])
    schedule = db.session.get(Schedule, delivery.schedule_id) if delivery.schedule_id else None
    # Onto a later occurrence not yet written is allowed: the planner skips that one.
    if schedule is not None and slot_taken(schedule, [delivery.channel_id], occurrence.at,
                                           but=delivery.id, planned=False):
        raise Conflict(f"another occurrence of this post is already at that time on "
                       f"{delivery.channel.name}")
    if not _transition(delivery, UNTRIED, status="pending",
                       due_at=occurrence.at, next_attempt_at=occurrence.at,
                       warnings=occurrence.warnings):
        db.session.rollback()
        raise Conflict(f"delivery {delivery.id} was picked up meanwhile")
    db.session.refresh(delivery)
    record(delivery.workspace_id, "delivery.moved", delivery, user_id=user_id, before=before,
           after={"due_at": delivery.due_at.isoformat()})
    if approvals.required(delivery.workspace_id, user_id):
        approvals.ask_again(delivery.post, user_id)
    db.session.commit()
    planner.plan_now(delivery.post)
    db.session.refresh(delivery)
    return delivery


def publish_now(delivery: Delivery, user_id: int | None) -> Delivery:
    """Send one waiting or retrying delivery now (its idempotency key unchanged)."""
    if approvals.required(delivery.workspace_id, user_id) and delivery.attempts == 0:
        raise Forbidden("in this workspace what you schedule waits for approval, so it "
                        "cannot be published at once; an approver or admin can")
    now = now_utc()
    jobs.unschedule([delivery])
    values = {"next_attempt_at": now}
    if delivery.attempts == 0:
        values["due_at"] = now
    if not _transition(delivery, WAITING, **values):
        db.session.rollback()
        raise Conflict(f"delivery {delivery.id} is {delivery.status}; it cannot be sent now",
                       reason=WRONG_STATUS)
    db.session.refresh(delivery)
    record(delivery.workspace_id, "delivery.published_now", delivery, user_id=user_id)
    db.session.commit()
    if delivery.status == "retrying":
        jobs.enqueue([delivery])
    else:
            planner.plan_now(delivery.post)
    db.session.refresh(delivery)
    return delivery
