"""Redis, RQ and rq-scheduler: the jobs that carry out what the database says.

Every job id is derived from its delivery and attempt (`JobRef.id`), so scheduling a
delivery twice replaces its job, and cancelling finds it without a lookup table.
"""

import math
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq_scheduler import Scheduler

HEARTBEAT_PREFIX = "herald:heartbeat:"
# Ample for one HTTP request (HERALD_HTTP_TIMEOUT) and the bookkeeping around it.
JOB_TIMEOUT = 120


def redis() -> Redis:
    """The app's Redis connection (one per process, created on first use)."""
    ext = current_app.extensions
    if "herald.redis" not in ext:
        ext["herald.redis"] = Redis.from_url(current_app.config["REDIS_URL"],
                                             socket_timeout=10, socket_connect_timeout=5,
                                             health_check_interval=30)
    return ext["herald.redis"]


def queue() -> Queue:
    return Queue(current_app.config["HERALD_QUEUE"], connection=redis())


def scheduler(interval: float = 1.0) -> Scheduler:
    return Scheduler(queue_name=current_app.config["HERALD_QUEUE"], connection=redis(),
                     interval=interval)


def _ceil_second(when: datetime) -> datetime:
    """rq-scheduler keeps whole seconds, rounding down; round up instead so a job is never
    handed to a worker before its time."""
    return datetime.fromtimestamp(math.ceil(when.timestamp()), UTC)


@dataclass(frozen=True)
class JobRef:
    """What a delivery's job needs: plain values, usable after the transaction ended."""

    delivery_id: int
    attempts: int
    run_at: datetime

    @classmethod
    def of(cls, delivery) -> "JobRef":
        return cls(delivery.id, delivery.attempts, delivery.next_attempt_at)

    @property
    def id(self) -> str:
        """One job id per delivery and attempt: re-enqueueing an attempt replaces its job
        instead of adding a second one."""
        return f"delivery-{self.delivery_id}-{self.attempts}"


def schedule_delivery(job: JobRef) -> None:
    """Create (or replace) the exact-time job for a delivery's next attempt."""
    cancel_job(job.id)
    scheduler().enqueue_at(
        _ceil_second(job.run_at),
        "webapp.publishing.publish_delivery", job.delivery_id, job.attempts,
        job_id=job.id, timeout=JOB_TIMEOUT, job_result_ttl=0,
        job_description=f"publish delivery {job.delivery_id}",
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


def jobs_exist(job_ids: list[str]) -> list[bool]:
    """Whether each job's hash is in Redis, in one round trip."""
    pipe = redis().pipeline(transaction=False)
    for job_id in job_ids:
        pipe.exists(Job.key_for(job_id))
    return [bool(n) for n in pipe.execute()]


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
