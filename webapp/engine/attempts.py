"""What becomes of an attempt that did not publish: the retry policy
(HERALD_RETRY_DELAYS, a platform's Retry-After), failing for good with a notice, and the
deliveries a dead worker left in `publishing`."""

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from ..extensions import db
from ..models import Delivery
from ..models.audit import record
from ..publishers import PUBLISHERS
from ..timeutil import now_utc
from . import hooks, jobs, metrics, notifications, post_status

log = logging.getLogger(__name__)


def finish(delivery_id: int, attempts: int, worker: str | None, **values) -> bool:
    """Apply `values` only if the delivery is still this worker's claim."""
    changed = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == "publishing",
               Delivery.attempts == attempts,
               Delivery.claimed_by == worker if worker else Delivery.claimed_by.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if not changed:
        db.session.rollback()
    return changed


def retry_wait(made: int, transient: bool, delay: float | None = None,
               at_least: bool = False) -> float | None:
    """The retry policy: seconds until the next attempt after `made` attempts, or None
    when there is none (a permanent failure, or HERALD_RETRY_DELAYS used up). `delay`
    overrides the policy's delay; with `at_least` it only lengthens it (Retry-After).
    Deliveries and lifecycle hooks both retry by it."""
    delays = current_app.config["HERALD_RETRY_DELAYS"]
    if not transient or made > len(delays):
        return None
    wait = float(delays[made - 1])
    if delay is not None:
        wait = max(wait, delay) if at_least else delay
    return wait


def record_failure(delivery_id: int, attempts: int, worker: str | None, error: str | None, *,
                   transient: bool, delay: float | None = None, at_least: bool = False) -> bool:
    """Schedule the next attempt by the retry policy (retry_wait), or fail the delivery
    for good."""
    delivery = db.session.get(Delivery, delivery_id)
    db.session.refresh(delivery)
    wait = retry_wait(attempts - delivery.retry_base, transient, delay, at_least)
    now = now_utc()
    if wait is not None:
        if not finish(delivery_id, attempts, worker, status="retrying", last_error=error,
                       next_attempt_at=now + timedelta(seconds=wait), finished_at=now):
            return False
        db.session.refresh(delivery)
        record(delivery.workspace_id, "delivery.retry_scheduled", delivery,
               after={"attempt": attempts, "error": error, "retry_in_seconds": wait})
        db.session.commit()
        metrics.count_retry()
        if jobs.needs_job_now(delivery):
            jobs.enqueue([delivery])
        return True
    return _give_up(delivery, attempts, worker, error, "failed", now)


def record_unknown(delivery_id: int, attempts: int, worker: str | None,
                   error: str | None) -> bool:
    """The request may have reached a platform that cannot deduplicate and no answer came
    back: status `unknown`, never resent by itself (no retry, no job), and people are told
    to check, then retry or mark it published."""
    delivery = db.session.get(Delivery, delivery_id)
    db.session.refresh(delivery)
    return _give_up(delivery, attempts, worker, error, "unknown", now_utc())


def _give_up(delivery: Delivery, attempts: int, worker: str | None, error: str | None,
             status: str, now: datetime) -> bool:
    """End the delivery with no attempt to come (`failed` or `unknown`): audited, the
    workspace's hooks called (`delivery.failed` for both), the team notified."""
    if not finish(delivery.id, attempts, worker, status=status, last_error=error,
                  finished_at=now):
        return False
    db.session.refresh(delivery)
    record(delivery.workspace_id, f"delivery.{status}", delivery,
           after={"attempts": attempts, "error": error})
    hooks.fire(delivery.workspace_id, "delivery.failed",
               hooks.delivery_data(delivery, "delivery.failed"))
    note = notifications.notify_failure(delivery, unknown=status == "unknown")
    post_status.refresh(delivery.post)
    db.session.commit()
    notifications.send_later(note.id)
    return True


def _resendable(delivery: Delivery) -> bool:
    """Whether the delivery's platform drops a copy of a request it already has."""
    publisher = PUBLISHERS.get(delivery.channel.platform)
    return publisher is None or publisher.idempotent


def recover_abandoned(now: datetime, redis_data_age: float) -> int:
    """Deliveries left in `publishing` by a worker that died (SIGKILL, lost machine).

    A worker is dead when its heartbeat has expired and it claimed the delivery longer ago
    than the heartbeat's lifetime. A Redis restart or FLUSHALL wipes the heartbeats of live
    workers too; they write them again within one beat, so for that long after Redis lost
    its data nobody is taken for dead. The attempt counts as a transient failure, so it is
    retried at once with the same idempotency key and the platform drops a copy that did
    arrive.
    """
    ttl = current_app.config["HERALD_HEARTBEAT_TTL"]
    stale = db.session.scalars(
        select(Delivery).where(
            Delivery.status == "publishing",
            or_(Delivery.started_at < now - timedelta(seconds=ttl),
                Delivery.started_at.is_(None)))).all()
    heartbeats_known = redis_data_age > jobs.beat_period(ttl) + 1
    recovered = 0
    hard_limit = now - timedelta(seconds=jobs.JOB_TIMEOUT + 60)
    for delivery in stale:
        dead = heartbeats_known and not jobs.is_alive("worker", delivery.claimed_by or "")
        if dead or delivery.started_at is None or delivery.started_at < hard_limit:
            log.warning("recovering delivery %s abandoned by %s", delivery.id, delivery.claimed_by)
            # In the transaction record_failure commits: gone again if it loses the race.
            record(delivery.workspace_id, "delivery.recovered", delivery,
                   before={"status": "publishing", "worker": delivery.claimed_by})
            if not _resendable(delivery):
                # The request may have gone out, and this platform would publish it twice.
                if record_unknown(delivery.id, delivery.attempts, delivery.claimed_by,
                                  "the worker stopped while publishing; it may have gone out"):
                    recovered += 1
                continue
            if record_failure(delivery.id, delivery.attempts, delivery.claimed_by,
                              "the worker stopped while publishing", transient=True,
                              delay=0):
                recovered += 1
    return recovered
