"""From schedules to deliveries to jobs, and back again when Redis forgets.

The database says what must be published and when: Delivery rows exist for the next
HERALD_MATERIALIZE_DAYS (and always for a schedule's next occurrence). Redis holds only the
jobs for the next HERALD_HORIZON_SECONDS, so its memory stays flat however far ahead people
schedule. `plan()` runs every few seconds in the scheduler process: it writes the rows of
occurrences entering the window, gives each delivery entering the horizon its exact-time
job, re-creates jobs Redis lost (restart, FLUSHALL), recovers deliveries whose worker died
mid-publish, and cancels what is still unapproved at its time (engine/approvals.py). Every
step is idempotent, so running it twice, or in two processes, is harmless.
"""

import logging
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import distinct, func, insert, or_, select
from sqlalchemy.orm import lazyload

from ..extensions import db
from ..models import (
    INACTIVE_POSTS,
    OPEN,
    UNPLANNED_POSTS,
    UNTRIED,
    WAITING,
    Channel,
    Delivery,
    Post,
    Schedule,
    pattern_of,
    post_channels,
)
from ..timeutil import Occurrence, now_utc, resolve
from . import approvals, attempts, hook_calls, jobs

log = logging.getLogger(__name__)

# Rows written ahead per schedule: a minutely rule would otherwise write 10,080 a week;
# the planner writes more as these go out.
MAX_WAITING_OCCURRENCES = 100
# Schedules whose rows one planner transaction writes.
MATERIALIZE_CHUNK = 200


def set_first_run(schedule: Schedule) -> None:
    """Point next_run_* at the schedule's first occurrence (after a create or an edit)."""
    schedule.run_count = 0
    point_at(schedule, next(pattern_of(schedule).iterate(), None))


def point_at(schedule: Schedule, occurrence: Occurrence | None) -> None:
    """Set the next occurrence to materialise; None when the rule has no more. (The
    schedule becomes `completed` once its last delivery is done: see post_status.) The
    instant is kept as computed: a wall time alone cannot tell the two halves of a
    repeated hour apart."""
    if occurrence is None:
        schedule.next_run_local = schedule.next_run_at = None
    else:
        schedule.next_run_local = occurrence.wall.replace(fold=0)
        schedule.next_run_at = occurrence.at


def next_run(schedule: Schedule) -> Occurrence | None:
    """The occurrence next_run_* point at, with its DST warnings."""
    if schedule.next_run_at is None:
        return None
    tz = ZoneInfo(schedule.timezone)
    occurrence = resolve(schedule.next_run_local, tz)
    if occurrence.at != schedule.next_run_at:
        second = resolve(schedule.next_run_local.replace(fold=1), tz)
        if second.at == schedule.next_run_at:
            return second
    return occurrence


def skip_past(schedule: Schedule, now: datetime) -> None:
    """Move next_run_* past `now` without making deliveries for what was skipped."""
    if schedule.next_run_at is None or schedule.next_run_at > now:
        return
    point_at(schedule, next((o for o in pattern_of(schedule).iterate(next_run(schedule))
                             if o.at > now), None))


def horizon_end(now: datetime | None = None) -> datetime:
    """Until when deliveries have their jobs in Redis (HERALD_HORIZON_SECONDS ahead)."""
    return (now or now_utc()) + timedelta(seconds=current_app.config["HERALD_HORIZON_SECONDS"])


def materialize_until(now: datetime | None = None) -> datetime:
    """Until when occurrences have their Delivery rows (HERALD_MATERIALIZE_DAYS ahead)."""
    return (now or now_utc()) + timedelta(days=current_app.config["HERALD_MATERIALIZE_DAYS"])


def materialize(schedules: list[Schedule], until: datetime | None = None) -> int:
    """Write the Delivery rows (one per channel) of every occurrence due before `until`
    (default: HERALD_MATERIALIZE_DAYS ahead), and always of the next occurrence, so every
    active schedule shows in the queue. Returns how many rows were written.

    Each occurrence is written once: the schedule rows are locked and next_run_at moves on
    in the same transaction. A few statements serve any number of schedules (thousands
    arrive at once from a CSV import)."""
    if not schedules:
        return 0
    db.session.flush()
    return _materialize([s.id for s in schedules], until or materialize_until())


def _materialize(ids: list[int], until: datetime, occurrences: int | None = None) -> int:
    """materialize() by schedule ids (see there), at most `occurrences` per schedule."""
    schedules = db.session.scalars(
        select(Schedule).where(Schedule.id.in_(ids)).options(lazyload("*"))
        .with_for_update().execution_options(populate_existing=True)).all()
    post_ids = {s.post_id for s in schedules}
    posts = {p.id: p for p in db.session.scalars(
        select(Post).where(Post.id.in_(post_ids)).options(lazyload("*")))}
    channels: dict[int, list[int]] = {}
    for post_id, channel_id in db.session.execute(
            select(post_channels.c.post_id, post_channels.c.channel_id)
            .where(post_channels.c.post_id.in_(post_ids)).order_by(post_channels.c.channel_id)):
        channels.setdefault(post_id, []).append(channel_id)
    waiting = dict(db.session.execute(
        select(Delivery.schedule_id, func.count(distinct(Delivery.due_at)))
        .where(Delivery.schedule_id.in_(ids), Delivery.status.in_(OPEN),
               Delivery.action == "publish")
        .group_by(Delivery.schedule_id)).all())
    # A one-off post goes to each channel once: a new time for a partly published post
    # must not send it again where it already went.
    published = _published_channels({s.post_id for s in schedules if s.rrule is None})
    # A delivery moved by hand onto an occurrence's time already stands for it.
    starts = [s.next_run_at for s in schedules if s.next_run_at is not None]
    taken = set(db.session.execute(
        select(Delivery.schedule_id, Delivery.channel_id, Delivery.due_at)
        .where(Delivery.schedule_id.in_(ids), Delivery.due_at >= min(starts),
               Delivery.action == "publish"))) if starts else set()

    rows = []
    for schedule in schedules:
        post = posts[schedule.post_id]
        if schedule.status != "active" or post.status in UNPLANNED_POSTS:
            continue
        count = waiting.get(schedule.id, 0)
        skip = published.get(post.id, set()) if schedule.rrule is None else set()
        upcoming = pattern_of(schedule).iterate(next_run(schedule))
        limit = count + (occurrences or MAX_WAITING_OCCURRENCES)
        while schedule.next_run_at is not None and count < min(limit, MAX_WAITING_OCCURRENCES) \
                and (schedule.next_run_at <= until or not count):
            count += 1
            occurrence = next_run(schedule)
            rows += [{"workspace_id": post.workspace_id, "post_id": post.id,
                      "schedule_id": schedule.id, "channel_id": channel_id,
                      "due_at": occurrence.at, "next_attempt_at": occurrence.at,
                      "priority": post.priority, "idempotency_key": uuid.uuid4().hex,
                      "warnings": occurrence.warnings, "status": "pending"}
                     for channel_id in channels.get(post.id, ())
                     if channel_id not in skip
                     and (schedule.id, channel_id, occurrence.at) not in taken]
            schedule.run_count += 1
            point_at(schedule, next(upcoming, None))
    if rows:
        db.session.execute(insert(Delivery), rows)
    db.session.flush()
    return len(rows)


def plan_now(post: Post) -> None:
    """Give the post's waiting deliveries due in the next few seconds their jobs now, rather
    than at the planner's next pass (after a change the caller committed)."""
    if post.status in INACTIVE_POSTS:
        return
    if any(s.status == "paused" for s in post.schedules):
        return
    due = [d for d in db.session.scalars(
               select(Delivery).where(Delivery.post_id == post.id,
                                      Delivery.status.in_(UNTRIED)).order_by(Delivery.due_at))
           if d.job_id is None and jobs.needs_job_now(d) and not d.channel.paused]
    for delivery in due:
        delivery.status = "queued"
    jobs.enqueue(due)


def _published_channels(post_ids: set[int]) -> dict[int, set[int]]:
    """Per post, the channels a one-off (or published-now) delivery already reached."""
    reached: dict[int, set[int]] = {}
    if post_ids:
        for post_id, channel_id in db.session.execute(
                select(Delivery.post_id, Delivery.channel_id)
                .outerjoin(Schedule, Schedule.id == Delivery.schedule_id)
                .where(Delivery.post_id.in_(post_ids), Delivery.status == "published",
                       Delivery.action == "publish",
                       or_(Delivery.schedule_id.is_(None), Schedule.rrule.is_(None)))):
            reached.setdefault(post_id, set()).add(channel_id)
    return reached


def _plannable():
    """Deliveries whose schedule and channel allow them to go out."""
    return (
        select(Delivery)
        .join(Channel, Channel.id == Delivery.channel_id)
        .join(Post, Post.id == Delivery.post_id)
        .outerjoin(Schedule, Schedule.id == Delivery.schedule_id)
        .where(Channel.paused.is_(False), Post.status.not_in(INACTIVE_POSTS),
               or_(Delivery.schedule_id.is_(None), Schedule.status != "paused"))
    )


def plan(now: datetime | None = None) -> dict:
    """One pass of the planner. Returns what it did, for logs and tests."""
    now = now or now_utc()
    end = horizon_end(now)
    done = {"materialized": 0, "enqueued": 0, "restored": 0, "recovered": 0,
            "hook_calls_restored": 0, "approval_notices": 0, "more": False}

    rows_until = materialize_until(now)
    # Occurrences entering the window, and the first occurrence of schedules never written
    # (a CSV import leaves that to the planner), so that every post shows in the queue.
    schedule_ids = db.session.scalars(
        select(Schedule.id).join(Post)
        .where(Schedule.status == "active", Schedule.next_run_at.is_not(None),
               or_(Schedule.next_run_at <= rows_until, Schedule.run_count == 0),
               Post.status.not_in(UNPLANNED_POSTS))
        .order_by(Schedule.next_run_at)).all()
    # Soonest first, and only for so long: after a bulk import of thousands of schedules the
    # jobs of what is due now must not wait for rows needed next week.
    stop_at = time.monotonic() + current_app.config["HERALD_MATERIALIZE_SECONDS_PER_PASS"]
    for start in range(0, len(schedule_ids), MATERIALIZE_CHUNK):
        chunk = schedule_ids[start:start + MATERIALIZE_CHUNK]
        try:
            done["materialized"] += _materialize_ids(chunk, rows_until)
        except Exception:
            # One broken schedule must not stop the others: go through the chunk one by one.
            db.session.rollback()
            for schedule_id in chunk:
                done["materialized"] += _materialize_carefully(schedule_id, rows_until)
        if time.monotonic() > stop_at and start + MATERIALIZE_CHUNK < len(schedule_ids):
            done["more"] = True  # the scheduler runs the next pass at once
            break

    # Deliveries entering the horizon get their job, and so do those whose job Redis lost
    # (restart, FLUSHALL).
    waiting = db.session.execute(
        _plannable().with_only_columns(Delivery.id, Delivery.job_id)
        .where(Delivery.status.in_(WAITING), Delivery.next_attempt_at <= end)).all()
    db.session.commit()
    job_ids = sorted({row.job_id for row in waiting if row.job_id})
    lost = {job_id for job_id, exists in zip(job_ids, jobs.jobs_exist(job_ids), strict=True)
            if not exists}
    need = [row.id for row in waiting if row.job_id is None or row.job_id in lost]
    # Only these rows are locked (PostgreSQL), and checked again: a cancel or move in
    # between waits for this pass or wins before it, and workers claiming others never wait.
    deliveries = db.session.scalars(
        select(Delivery).where(Delivery.id.in_(need), Delivery.status.in_(WAITING))
        .options(lazyload("*")).with_for_update()).all() if need else []
    missing = []
    for delivery in deliveries:
        if delivery.job_id in lost:
            log.warning("re-creating the lost job of delivery %s", delivery.id)
            done["restored"] += 1
        elif delivery.job_id is None:  # new, or a retry entering the horizon
            done["enqueued"] += 1
        else:
            continue
        if delivery.status == "pending":
            delivery.status = "queued"
        missing.append(delivery)
    jobs.enqueue(missing)

    done["recovered"] = attempts.recover_abandoned(now, jobs.seconds_since_redis_lost_data(now))
    notices = approvals.expire_due(now) + approvals.remind(now)
    done["approval_notices"] = len(notices)
    db.session.commit()
    approvals.send_mail(notices)
    done["hook_calls_restored"] = hook_calls.recover(now)
    return done


def _materialize_ids(schedule_ids: list[int], until: datetime,
                     occurrences: int | None = None) -> int:
    written = _materialize(schedule_ids, until, occurrences)
    db.session.commit()
    return written


def _materialize_carefully(schedule_id: int, until: datetime) -> int:
    """Write one schedule's rows, and when that fails, occurrence by occurrence: an
    occurrence that cannot be written is skipped (and counted in error_count), so it never
    stops the ones after it."""
    try:
        return _materialize_ids([schedule_id], until)
    except Exception:
        db.session.rollback()
    written = 0
    for _ in range(MAX_WAITING_OCCURRENCES):
        try:
            step = _materialize_ids([schedule_id], until, occurrences=1)
        except Exception:
            db.session.rollback()
            log.exception("skipping an occurrence of schedule %s: it cannot be written",
                          schedule_id)
            if not _skip_occurrence(schedule_id):
                break
            continue
        if not step:
            break
        written += step
    return written


def _skip_occurrence(schedule_id: int) -> bool:
    """Move a schedule past its next occurrence, counting an error. A schedule whose rule
    cannot even be computed any more gets status `error` (shown on its post)."""
    schedule = db.session.get(Schedule, schedule_id)
    schedule.error_count += 1
    try:
        point_at(schedule, next(pattern_of(schedule).iterate(next_run(schedule)), None))
    except Exception:
        log.exception("schedule %s cannot be computed; it stops", schedule_id)
        schedule.status = "error"
    db.session.commit()
    return schedule.status == "active" and schedule.next_run_at is not None


