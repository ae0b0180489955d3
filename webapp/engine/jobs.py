"""Redis, RQ and rq-scheduler: the jobs that carry out what the database says.

A job carries the attempts of up to HERALD_BATCH_SIZE deliveries due in the same second: at
the top of the hour thousands fall due at once, and one job per delivery would spend more
time in RQ than in publishing. Each delivery stores its job's id (`Delivery.job_id`), so the
planner can tell when Redis lost it and cancelling finds it without a lookup table.
"""

import logging
import math
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.utils import import_attribute
from rq_scheduler import Scheduler
from sqlalchemy import func, select, update

from ..extensions import db
from ..models import IN_JOB, WAITING, Delivery
from ..timeutil import now_utc

log = logging.getLogger(__name__)

HEARTBEAT_PREFIX = "herald:heartbeat:"
DATA_MARKER = "herald:data-since"
# How long before its second a batch's job goes onto the queue (see schedule_batch).
HANDED_OVER_AHEAD = timedelta(seconds=1)
# Ample for one HTTP request (HERALD_HTTP_TIMEOUT) and the bookkeeping around it.
JOB_TIMEOUT = 120
# The functions jobs run, by the dotted name RQ stores with each job.
PUBLISH_BATCH = "webapp.engine.publishing.publish_batch"
SEND_EMAIL = "webapp.engine.notifications.send_email"
SEND_INVITATION = "webapp.engine.notifications.send_invitation"
SEND_HOOK_CALL = "webapp.engine.hook_calls.send_call"
# Jobs already in Redis keep the names earlier versions gave them (an upgrade may find
# jobs queued for days ahead): HeraldJob runs them under the current name.
FORMER_NAMES = {"webapp.publishing.publish_batch": PUBLISH_BATCH,
                "webapp.notifications.send_email": SEND_EMAIL}


class HeraldJob(Job):
    """RQ's job, able to run a job queued under one of the FORMER_NAMES."""

    @property
    def func(self):
        former = FORMER_NAMES.get(self.func_name)
        return import_attribute(former) if former else super().func


def _connect(socket_timeout: float) -> Redis:
    return Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=socket_timeout,
                          socket_connect_timeout=5, health_check_interval=30)


def redis() -> Redis:
    """The app's Redis connection, for commands Redis answers at once (one per process,
    created on first use). A command unanswered for HERALD_REDIS_SOCKET_TIMEOUT seconds
    fails, so a frozen Redis holds up a request, a heartbeat or the planner only that long.
    Never hand it to an RQ worker: see blocking_redis()."""
    ext = current_app.extensions
    if "herald.redis" not in ext:
        ext["herald.redis"] = _connect(current_app.config["HERALD_REDIS_SOCKET_TIMEOUT"])
    return ext["herald.redis"]


def blocking_redis(socket_timeout: float) -> Redis:
    """A Redis connection of its own for commands that block, such as an idle RQ worker's
    dequeue (BLPOP): `socket_timeout` must be longer than the longest block, or an idle
    wait reads as a lost server. Sharing no pool with redis() matters twice over: RQ
    lengthens its connection's timeout (its `connection_timeout`), which must not reach
    short commands, and a short-timeout connection made earlier, e.g. by the heartbeat
    thread, must never be the one a dequeue blocks on."""
    return _connect(socket_timeout)


def queue() -> Queue:
    """The RQ queue the workers publish from."""
    return Queue(current_app.config["HERALD_QUEUE"], connection=redis())


def scheduler(interval: float = 1.0) -> Scheduler:
    """rq-scheduler on the app's Redis: it holds each job until its second."""
    return Scheduler(queue_name=current_app.config["HERALD_QUEUE"], connection=redis(),
                     interval=interval)


def batch_second(when: datetime) -> datetime:
    """The second whose batch an attempt at `when` belongs to. rq-scheduler keeps whole
    seconds, rounding down; batches go by the second rounded up."""
    return datetime.fromtimestamp(math.ceil(when.timestamp()), UTC)


@dataclass(frozen=True)
class Attempt:
    """One delivery's next attempt, as plain values usable after the transaction ended."""

    delivery_id: int
    attempts: int
    run_at: datetime
    priority: int = 5


@dataclass(frozen=True)
class Batch:
    """One job: attempts that start in the same second, published together. The job
    publishes the deliveries that name it (Delivery.job_id): these attempts, and any that
    joined it later (see jobs.enqueue)."""

    run_at: datetime
    attempts: tuple[Attempt, ...]
    # Set to re-create a job that already has an id (its first attempt may have left it).
    job_id: str | None = None

    @property
    def id(self) -> str:
        """Derived from the first attempt and the second, so creating the same batch again
        replaces its job instead of adding a second one."""
        if self.job_id:
            return self.job_id
        first = self.attempts[0]
        return f"publish-{first.delivery_id}-{first.attempts}-{int(self.run_at.timestamp())}"


def batches(attempts: list[Attempt], size: int) -> list[Batch]:
    """Group attempts by the second they start in (rounded up: rq-scheduler keeps whole
    seconds), higher priority first, in jobs of at most `size`."""
    by_second: dict[datetime, list[Attempt]] = {}
    for attempt in attempts:
        by_second.setdefault(batch_second(attempt.run_at), []).append(attempt)
    result = []
    for second, group in sorted(by_second.items()):
        group.sort(key=lambda a: (-a.priority, a.delivery_id))
        result += [Batch(second, tuple(group[i:i + size])) for i in range(0, len(group), size)]
    return result


def schedule_batch(batch: Batch) -> None:
    """Create (or replace) the job of a batch, handed to a worker a little ahead of its
    second: the worker waits for the exact due time itself (publish_batch never sends
    early), so neither the scheduler's polling interval nor the trip through the queue
    makes a post late."""
    cancel_job(batch.id)
    scheduler().enqueue_at(
        batch.run_at - HANDED_OVER_AHEAD, PUBLISH_BATCH,
        [[a.delivery_id, a.attempts] for a in batch.attempts],
        job_id=batch.id, timeout=JOB_TIMEOUT, job_result_ttl=0,
        job_description=f"publish {len(batch.attempts)} deliveries",
    )


def cancel_job(job_id: str) -> None:
    """Remove a job wherever it is: the scheduler's set, the queue, and its own data
    (rq-scheduler's cancel() alone would leave the job hash behind)."""
    conn = redis()
    scheduler().cancel(job_id)
    try:
        job = Job.fetch(job_id, connection=conn)
    except NoSuchJobError:
        return
    job.delete(remove_from_queue=True)


def jobs_waiting(job_ids: list[str]) -> list[bool]:
    """Whether each job is still in rq-scheduler's hands, not yet on the queue, in one round
    trip. RQ marks a job `queued` in the same transaction that puts it on the queue, so a
    delivery saved with a job's id before this answers True is seen by that job's claim."""
    pipe = redis().pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hget(Job.key_for(job_id), "status")
    return [status == b"scheduled" for status in pipe.execute()]


def jobs_exist(job_ids: list[str]) -> list[bool]:
    """Whether each job's hash is in Redis, in one round trip."""
    pipe = redis().pipeline(transaction=False)
    for job_id in job_ids:
        pipe.exists(Job.key_for(job_id))
    return [bool(n) for n in pipe.execute()]


def handed_over_at(job_ids: list[str]) -> list[datetime | None]:
    """When rq-scheduler moves each job onto the queue (None: it no longer holds the job),
    in one round trip."""
    pipe = redis().pipeline(transaction=False)
    for job_id in job_ids:
        pipe.zscore(Scheduler.scheduled_jobs_key, job_id)
    return [datetime.fromtimestamp(score, UTC) if score is not None else None
            for score in pipe.execute()]


def scheduled_count() -> int:
    """Jobs rq-scheduler holds, of every kind."""
    return redis().zcard(Scheduler.scheduled_jobs_key)


def workers() -> list[Worker]:
    """RQ's record of the workers taking jobs from the app's queue, with their heartbeats."""
    return Worker.all(queue=queue())


def failed_count() -> int:
    """Jobs that raised (RQ's failed job registry): a bug, not a platform's refusal, which
    the deliveries record themselves."""
    return queue().failed_job_registry.count


def seconds_since_redis_lost_data(now: datetime) -> float:
    """How long before `now` Redis last started empty (a restart without persistence, a
    FLUSHALL), as far as this marker key can tell: it is set when missing, so after a loss
    of data it reads 0 at the first call (the planner calls it on every pass)."""
    conn = redis()
    conn.set(DATA_MARKER, now.timestamp(), nx=True)
    return max(0.0, now.timestamp() - float(conn.get(DATA_MARKER) or now.timestamp()))


def beat_period(ttl: int) -> int:
    """How often a worker renews its heartbeat: three times per lifetime."""
    return max(1, ttl // 3)


def beat(role: str, name: str) -> None:
    """Say that this scheduler or worker is alive, for /healthz and for recovery."""
    redis().set(f"{HEARTBEAT_PREFIX}{role}:{name}", datetime.now(UTC).isoformat(),
                ex=current_app.config["HERALD_HEARTBEAT_TTL"])


def alive(role: str) -> list[str]:
    """The names of the processes of `role` ("worker", "scheduler") with a live heartbeat."""
    prefix = f"{HEARTBEAT_PREFIX}{role}:"
    return [key.decode()[len(prefix):] for key in redis().scan_iter(prefix + "*", count=500)]


def is_alive(role: str, name: str) -> bool:
    """Whether the process `name` of `role` has a live heartbeat."""
    return bool(redis().exists(f"{HEARTBEAT_PREFIX}{role}:{name}"))


def process_name() -> str:
    """This process's name in heartbeats and in Delivery.claimed_by."""
    return current_app.config.get("HERALD_PROCESS_NAME") or f"{socket.gethostname()}.{os.getpid()}"


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
    attempts = {d.id: Attempt(d.id, d.attempts, d.next_attempt_at, d.priority)
                for d in deliveries}
    joined = _join_open_jobs(list(attempts.values()), size)
    new = batches([a for a in attempts.values() if a.delivery_id not in joined], size)
    by_id = {d.id: d for d in deliveries}
    for delivery_id, job_id in joined.items():
        by_id[delivery_id].job_id = job_id
    for batch in new:
        for attempt in batch.attempts:
            by_id[attempt.delivery_id].job_id = batch.id
    db.session.commit()
    try:
        new += _leave_closed_jobs(joined, attempts, size)
        for batch in new:
            schedule_batch(batch)
    except RedisError as exc:
        # The rows are saved with their job ids: the planner re-creates the missing jobs
        # once Redis is back. Saving a post must not fail because Redis is away.
        log.warning("could not create jobs now (%s); the planner will", type(exc).__name__)


def _join_open_jobs(attempts: list[Attempt], size: int) -> dict[int, str]:
    """{delivery id: job id} for the attempts that fit into jobs other deliveries already
    have for the same second. (Two processes filling the same job at once may take it a
    little past `size`; the job just takes a little longer.)"""
    seconds = {batch_second(a.run_at) for a in attempts}
    open_jobs = db.session.execute(
        select(Delivery.job_id, func.max(Delivery.next_attempt_at), func.count())
        .where(Delivery.status.in_(WAITING), Delivery.job_id.is_not(None),
               Delivery.next_attempt_at > min(seconds) - timedelta(seconds=1),
               Delivery.next_attempt_at <= max(seconds),
               Delivery.id.not_in([a.delivery_id for a in attempts]))
        .group_by(Delivery.job_id).order_by(Delivery.job_id)).all()
    room: dict[datetime, list[list]] = {}
    for job_id, latest, members in open_jobs:
        if members < size:
            room.setdefault(batch_second(latest), []).append([job_id, members])
    joined = {}
    for attempt in sorted(attempts, key=lambda a: (-a.priority, a.delivery_id)):
        for job in room.get(batch_second(attempt.run_at), ()):
            if job[1] < size:
                joined[attempt.delivery_id] = job[0]
                job[1] += 1
                break
    return joined


def _leave_closed_jobs(joined: dict[int, str], attempts: dict[int, Attempt],
                       size: int) -> list[Batch]:
    """New batches for the deliveries that joined a job no longer waiting in rq-scheduler
    (on the queue, running, finished or lost): its claim may already have passed them by.
    Each leaves only if it still names that job: one the job did claim stays claimed."""
    job_ids = sorted(set(joined.values()))
    waiting = dict(zip(job_ids, jobs_waiting(job_ids), strict=True))
    left = [attempts[delivery_id] for delivery_id, job_id in joined.items()
            if not waiting[job_id] and db.session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.job_id == job_id,
                       Delivery.status.in_(WAITING))
                .values(job_id=None).execution_options(synchronize_session=False)).rowcount]
    new = batches(left, size)
    for batch in new:
        db.session.execute(
            update(Delivery).where(Delivery.id.in_([a.delivery_id for a in batch.attempts]))
            .values(job_id=batch.id).execution_options(synchronize_session=False))
    db.session.commit()
    return new


def needs_job_now(delivery: Delivery, now: datetime | None = None) -> bool:
    """Whether a delivery must get its job at once rather than from the planner's next
    pass, which batches everything due in the same second. Either way it shares the jobs
    of its second (see enqueue)."""
    lead = 3 * current_app.config["HERALD_PLANNER_INTERVAL"]
    return delivery.next_attempt_at <= (now or now_utc()) + timedelta(seconds=lead)


def unschedule(deliveries) -> None:
    """Take deliveries that are being cancelled, moved or paused out of their jobs, and
    remove each job that then carries nothing else. (A job that still runs finds nothing
    to claim for them: its claim is conditional on the attempt and status.)"""
    ids = {d.id for d in deliveries}
    for job_id in {d.job_id for d in deliveries if d.job_id}:
        if _members(job_id, ids):
            continue
        cancel_job(job_id)
        # A delivery that joined the job just before it was cancelled (see enqueue) saw it
        # waiting and relies on it: the job is made again for it.
        joined = _members(job_id, ids)
        if joined:
            schedule_batch(Batch(
                batch_second(max(a.run_at for a in joined)), tuple(joined), job_id))
    for delivery in deliveries:
        delivery.job_id = None


def withhold(deliveries) -> None:
    """Take waiting deliveries out of their jobs until the planner may give them jobs
    again (a pause, a post sent back for approval, a paused channel): a queued one is
    pending once more; a retrying one keeps its status and next attempt."""
    unschedule(deliveries)
    for delivery in deliveries:
        if delivery.status == "queued":
            delivery.status = "pending"


def _members(job_id: str, leaving: set[int]) -> list[Attempt]:
    """The waiting deliveries that name a job, except those `leaving` it."""
    return [Attempt(row.id, row.attempts, row.next_attempt_at, row.priority)
            for row in db.session.execute(
                select(Delivery.id, Delivery.attempts, Delivery.next_attempt_at,
                       Delivery.priority)
                .where(Delivery.job_id == job_id, Delivery.id.not_in(leaving),
                       Delivery.status.in_(IN_JOB)))]
