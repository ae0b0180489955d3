"""Redis, RQ and rq-scheduler: the jobs that carry out what the database says.

A job carries the attempts of up to HERALD_BATCH_SIZE deliveries due in the same second: at
the top of the hour thousands fall due at once, and one job per delivery would spend more
time in RQ than in publishing. Each delivery stores its job's id (`Delivery.job_id`), so the
planner can tell when Redis lost it and cancelling finds it without a lookup table.
"""

import math
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq_scheduler import Scheduler

HEARTBEAT_PREFIX = "herald:heartbeat:"
DATA_MARKER = "herald:data-since"
# How long before its second a batch's job goes onto the queue (see schedule_batch).
HANDED_OVER_AHEAD = timedelta(seconds=1)
# Ample for one HTTP request (HERALD_HTTP_TIMEOUT) and the bookkeeping around it.
JOB_TIMEOUT = 120


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
    return Queue(current_app.config["HERALD_QUEUE"], connection=redis())


def scheduler(interval: float = 1.0) -> Scheduler:
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
    joined it later (see planner.enqueue)."""

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
        batch.run_at - HANDED_OVER_AHEAD, "webapp.publishing.publish_batch",
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
    prefix = f"{HEARTBEAT_PREFIX}{role}:"
    return [key.decode()[len(prefix):] for key in redis().scan_iter(prefix + "*", count=500)]


def is_alive(role: str, name: str) -> bool:
    return bool(redis().exists(f"{HEARTBEAT_PREFIX}{role}:{name}"))


def process_name() -> str:
    """This process's name in heartbeats and in Delivery.claimed_by."""
    return current_app.config.get("HERALD_PROCESS_NAME") or f"{socket.gethostname()}.{os.getpid()}"
