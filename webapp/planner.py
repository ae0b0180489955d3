"""From schedules to deliveries to jobs, and back again when Redis forgets.

The database says what must be published and when: Delivery rows exist for the next
HERALD_MATERIALIZE_DAYS (and always for a schedule's next occurrence). Redis holds only the
jobs for the next HERALD_HORIZON_SECONDS, so its memory stays flat however far ahead people
schedule. `plan()` runs every few seconds in the scheduler process: it writes the rows of
occurrences entering the window, gives each delivery entering the horizon its exact-time
job, re-creates jobs Redis lost (restart, FLUSHALL) and recovers deliveries whose worker died
mid-publish. Every step is idempotent, so running it twice, or in two processes, is harmless.
"""

import logging
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import distinct, func, insert, or_, select, update
from sqlalchemy.orm import lazyload

from . import queueing
from .extensions import db
from .models import OPEN, Channel, Delivery, Post, Schedule, post_channels
from .timeutil import Occurrence, Pattern, now_utc, resolve

log = logging.getLogger(__name__)

# Rows written ahead per schedule: a minutely rule would otherwise write 10,080 a week;
# the planner writes more as these go out.
MAX_WAITING_OCCURRENCES = 100
# Schedules whose rows one planner transaction writes.
MATERIALIZE_CHUNK = 200
# Deliveries waiting for an attempt, which the planner gives jobs.
WAITING = ("pending", "queued", "retrying")
# Posts in these states are not (or no longer) meant to go out.
INACTIVE_POSTS = ("draft", "pending_approval", "cancelled")


def pattern(schedule: Schedule) -> Pattern:
    """The schedule's Pattern (a Schedule, or a row with the same columns)."""
    until = schedule.until_local
    return Pattern(schedule.start_local.replace(fold=int(schedule.start_fold)),
                   ZoneInfo(schedule.timezone), schedule.rrule,
                   until.replace(fold=int(schedule.until_fold)) if until else None,
                   schedule.count)


def set_first_run(schedule: Schedule) -> None:
    """Point next_run_* at the schedule's first occurrence (after a create or an edit)."""
    schedule.run_count = 0
    point_at(schedule, next(pattern(schedule).iterate(), None))


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
    point_at(schedule, next((o for o in pattern(schedule).iterate(next_run(schedule))
                             if o.at > now), None))


def horizon_end(now: datetime | None = None) -> datetime:
    return (now or now_utc()) + timedelta(seconds=current_app.config["HERALD_HORIZON_SECONDS"])


def materialize_until(now: datetime | None = None) -> datetime:
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
        .where(Delivery.schedule_id.in_(ids), Delivery.status.in_(OPEN))
        .group_by(Delivery.schedule_id)).all())
    # A one-off post goes to each channel once: a new time for a partly published post
    # must not send it again where it already went.
    published = _published_channels({s.post_id for s in schedules if s.rrule is None})
    # A delivery moved by hand onto an occurrence's time already stands for it.
    starts = [s.next_run_at for s in schedules if s.next_run_at is not None]
    taken = set(db.session.execute(
        select(Delivery.schedule_id, Delivery.channel_id, Delivery.due_at)
        .where(Delivery.schedule_id.in_(ids), Delivery.due_at >= min(starts)))) if starts else set()

    rows = []
    for schedule in schedules:
        post = posts[schedule.post_id]
        if schedule.status != "active" or post.status in INACTIVE_POSTS:
            continue
        count = waiting.get(schedule.id, 0)
        skip = published.get(post.id, set()) if schedule.rrule is None else set()
        upcoming = pattern(schedule).iterate(next_run(schedule))
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


def _published_channels(post_ids: set[int]) -> dict[int, set[int]]:
    """Per post, the channels a one-off (or published-now) delivery already reached."""
    reached: dict[int, set[int]] = {}
    if post_ids:
        for post_id, channel_id in db.session.execute(
                select(Delivery.post_id, Delivery.channel_id)
                .outerjoin(Schedule, Schedule.id == Delivery.schedule_id)
                .where(Delivery.post_id.in_(post_ids), Delivery.status == "published",
                       or_(Delivery.schedule_id.is_(None), Schedule.rrule.is_(None)))):
            reached.setdefault(post_id, set()).add(channel_id)
    return reached


def enqueue(deliveries: list[Delivery]) -> None:
    """Give deliveries their jobs. Commits: the rows must be visible before a worker can
    pick up their job.

    A delivery joins a job of its second that has room and is still waiting in
    rq-scheduler, so posts saved one by one near their time share jobs instead of making
    one each (RQ costs a worker ~18 ms per job, a delivery in a batch ~2 ms); the rest get
    new jobs, batched by second. A job claims the deliveries that name it when it runs."""
    if not deliveries:
        return
    size = current_app.config["HERALD_BATCH_SIZE"]
    attempts = {d.id: queueing.Attempt(d.id, d.attempts, d.next_attempt_at, d.priority)
                for d in deliveries}
    joined = _join_open_jobs(list(attempts.values()), size)
    batches = queueing.batches([a for a in attempts.values() if a.delivery_id not in joined],
                               size)
    by_id = {d.id: d for d in deliveries}
    for delivery_id, job_id in joined.items():
        by_id[delivery_id].job_id = job_id
    for batch in batches:
        for attempt in batch.attempts:
            by_id[attempt.delivery_id].job_id = batch.id
    db.session.commit()
    try:
        batches += _leave_closed_jobs(joined, attempts, size)
        for batch in batches:
            queueing.schedule_batch(batch)
    except RedisError as exc:
        # The rows are saved with their job ids: the planner re-creates the missing jobs
        # once Redis is back. Saving a post must not fail because Redis is away.
        log.warning("could not create jobs now (%s); the planner will", type(exc).__name__)


def _join_open_jobs(attempts: list[queueing.Attempt], size: int) -> dict[int, str]:
    """{delivery id: job id} for the attempts that fit into jobs other deliveries already
    have for the same second. (Two processes filling the same job at once may take it a
    little past `size`; the job just takes a little longer.)"""
    seconds = {queueing.batch_second(a.run_at) for a in attempts}
    jobs = db.session.execute(
        select(Delivery.job_id, func.max(Delivery.next_attempt_at), func.count())
        .where(Delivery.status.in_(WAITING), Delivery.job_id.is_not(None),
               Delivery.next_attempt_at > min(seconds) - timedelta(seconds=1),
               Delivery.next_attempt_at <= max(seconds),
               Delivery.id.not_in([a.delivery_id for a in attempts]))
        .group_by(Delivery.job_id).order_by(Delivery.job_id)).all()
    room: dict[datetime, list[list]] = {}
    for job_id, latest, members in jobs:
        if members < size:
            room.setdefault(queueing.batch_second(latest), []).append([job_id, members])
    joined = {}
    for attempt in sorted(attempts, key=lambda a: (-a.priority, a.delivery_id)):
        for job in room.get(queueing.batch_second(attempt.run_at), ()):
            if job[1] < size:
                joined[attempt.delivery_id] = job[0]
                job[1] += 1
                break
    return joined


def _leave_closed_jobs(joined: dict[int, str], attempts: dict[int, queueing.Attempt],
                       size: int) -> list[queueing.Batch]:
    """New batches for the deliveries that joined a job no longer waiting in rq-scheduler
    (on the queue, running, finished or lost): its claim may already have passed them by.
    Each leaves only if it still names that job: one the job did claim stays claimed."""
    job_ids = sorted(set(joined.values()))
    waiting = dict(zip(job_ids, queueing.jobs_waiting(job_ids), strict=True))
    left = [attempts[delivery_id] for delivery_id, job_id in joined.items()
            if not waiting[job_id] and db.session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.job_id == job_id,
                       Delivery.status.in_(WAITING))
                .values(job_id=None).execution_options(synchronize_session=False)).rowcount]
    batches = queueing.batches(left, size)
    for batch in batches:
        db.session.execute(
            update(Delivery).where(Delivery.id.in_([a.delivery_id for a in batch.attempts]))
            .values(job_id=batch.id).execution_options(synchronize_session=False))
    db.session.commit()
    return batches


def needs_job_now(delivery: Delivery, now: datetime | None = None) -> bool:
    """Whether a delivery must get its job at once rather than from the planner's next
    pass, which batches everything due in the same second. Either way it shares the jobs
    of its second (see enqueue)."""
    lead = 3 * current_app.config["HERALD_PLANNER_INTERVAL"]
    return delivery.next_attempt_at <= (now or now_utc()) + timedelta(seconds=lead)


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
    done = {"materialized": 0, "enqueued": 0, "restored": 0, "recovered": 0, "more": False}

    rows_until = materialize_until(now)
    # Occurrences entering the window, and the first occurrence of schedules never written
    # (a CSV import leaves that to the planner), so that every post shows in the queue.
    schedule_ids = db.session.scalars(
        select(Schedule.id).join(Post)
        .where(Schedule.status == "active", Schedule.next_run_at.is_not(None),
               or_(Schedule.next_run_at <= rows_until, Schedule.run_count == 0),
               Post.status.not_in(INACTIVE_POSTS))
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
    lost = {job_id for job_id, exists in zip(job_ids, queueing.jobs_exist(job_ids), strict=True)
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
    enqueue(missing)

    done["recovered"] = recover_abandoned(now, queueing.seconds_since_redis_lost_data(now))
    db.session.commit()
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
        point_at(schedule, next(pattern(schedule).iterate(next_run(schedule)), None))
    except Exception:
        log.exception("schedule %s cannot be computed; it stops", schedule_id)
        schedule.status = "error"
    db.session.commit()
    return schedule.status == "active" and schedule.next_run_at is not None


def recover_abandoned(now: datetime, redis_data_age: float) -> int:
    """Deliveries left in `publishing` by a worker that died (SIGKILL, lost machine).

    A worker is dead when its heartbeat has expired and it claimed the delivery longer ago
    than the heartbeat's lifetime. A Redis restart or FLUSHALL wipes the heartbeats of live
    workers too; they write them again within one beat, so for that long after Redis lost
    its data nobody is taken for dead. The attempt counts as a transient failure, so it is
    retried at once with the same idempotency key and the platform drops a copy that did
    arrive.
    """
    from .publishing import record_failure

    ttl = current_app.config["HERALD_HEARTBEAT_TTL"]
    stale = db.session.scalars(
        select(Delivery).where(
            Delivery.status == "publishing",
            or_(Delivery.started_at < now - timedelta(seconds=ttl),
                Delivery.started_at.is_(None)))).all()
    heartbeats_known = redis_data_age > queueing.beat_period(ttl) + 1
    recovered = 0
    hard_limit = now - timedelta(seconds=queueing.JOB_TIMEOUT + 60)
    for delivery in stale:
        dead = heartbeats_known and not queueing.is_alive("worker", delivery.claimed_by or "")
        if dead or delivery.started_at is None or delivery.started_at < hard_limit:
            log.warning("recovering delivery %s abandoned by %s", delivery.id, delivery.claimed_by)
            if record_failure(delivery.id, delivery.attempts, delivery.claimed_by,
                              "the worker stopped while publishing", transient=True,
                              delay=0):
                recovered += 1
    return recovered


def unschedule(deliveries) -> None:
    """Take deliveries that are being cancelled, moved or paused out of their jobs, and
    remove each job that then carries nothing else. (A job that still runs finds nothing
    to claim for them: its claim is conditional on the attempt and status.)"""
    ids = {d.id for d in deliveries}
    for job_id in {d.job_id for d in deliveries if d.job_id}:
        if _members(job_id, ids):
            continue
        queueing.cancel_job(job_id)
        # A delivery that joined the job just before it was cancelled (see enqueue) saw it
        # waiting and relies on it: the job is made again for it.
        joined = _members(job_id, ids)
        if joined:
            queueing.schedule_batch(queueing.Batch(
                queueing.batch_second(max(a.run_at for a in joined)), tuple(joined), job_id))
    for delivery in deliveries:
        delivery.job_id = None


def _members(job_id: str, leaving: set[int]) -> list[queueing.Attempt]:
    """The waiting deliveries that name a job, except those `leaving` it."""
    return [queueing.Attempt(row.id, row.attempts, row.next_attempt_at, row.priority)
            for row in db.session.execute(
                select(Delivery.id, Delivery.attempts, Delivery.next_attempt_at,
                       Delivery.priority)
                .where(Delivery.job_id == job_id, Delivery.id.not_in(leaving),
                       Delivery.status.in_(("queued", "retrying"))))]

