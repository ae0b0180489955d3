"""The publishing job: claim a delivery, send it, record what happened.

Exactly once rests on three things: the claim is a conditional UPDATE (only one worker can
move a delivery from a claimable state to `publishing`), every state change after it is
conditional on the claim (same attempt, same worker), and the platform receives the
delivery's idempotency key, which stays the same on every attempt.
"""

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from . import notifications, planner, post_status, publishers, queueing
from .audit import record
from .extensions import db
from .models import CLAIMABLE, Delivery
from .timeutil import iso_utc, now_utc

log = logging.getLogger(__name__)

# A job that arrives this early waits for its time; an earlier one is stale (its delivery
# was moved) and does nothing: the replacement job or the planner takes over.
MAX_EARLY_WAIT = 2.0


def publish_delivery(delivery_id: int, attempt: int) -> str:
    """RQ job: publish one attempt of one delivery. Returns what happened, for logs."""
    row = db.session.execute(
        select(Delivery.status, Delivery.attempts, Delivery.next_attempt_at)
        .where(Delivery.id == delivery_id)).first()
    db.session.rollback()  # hold no transaction while waiting
    if row is None or row.attempts != attempt or row.status not in CLAIMABLE:
        return "stale"
    wait = (row.next_attempt_at - now_utc()).total_seconds()
    if wait > MAX_EARLY_WAIT:
        return "early"
    if wait > 0:
        time.sleep(wait)
    worker = queueing.process_name()
    if not claim(delivery_id, attempt, worker):
        return "claimed elsewhere"

    # Only what the message needs: the post's channels and schedules are not loaded.
    delivery = db.session.scalars(
        select(Delivery).where(Delivery.id == delivery_id)
        .options(joinedload(Delivery.post).lazyload("*"), joinedload(Delivery.channel))).one()
    post, channel = delivery.post, delivery.channel
    try:
        publisher = publishers.for_channel(channel)
        message = publishers.Message(
            delivery_id=delivery.id, post_id=post.id, channel_id=channel.id, title=post.title,
            body=post.body_for(channel.id), due_at=iso_utc(delivery.due_at),
            attempt=delivery.attempts, idempotency_key=delivery.idempotency_key)
        db.session.rollback()  # no transaction open during the HTTP request
        result = publisher.publish(message)
    except Exception as exc:  # a bug or a refused URL must not leave the delivery stuck
        log.exception("publishing delivery %s failed", delivery_id)
        db.session.rollback()
        result = publishers.PublishResult(ok=False, transient=False,
                                          error=_describe(exc))
    if result.ok:
        record_success(delivery_id, attempt + 1, worker, result)
        return "published"
    record_failure(delivery_id, attempt + 1, worker, result.error, transient=result.transient,
                   delay=result.retry_after, at_least=True)
    return "failed"


def _describe(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {message}"[:500]


def claim(delivery_id: int, attempt: int, worker: str) -> bool:
    """Move the delivery to `publishing` unless someone else already did."""
    now = now_utc()
    claimed = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.attempts == attempt,
               Delivery.status.in_(CLAIMABLE),
               Delivery.next_attempt_at <= now + timedelta(seconds=1))
        .values(status="publishing", attempts=attempt + 1, started_at=now, claimed_by=worker,
                finished_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    return claimed


def _finish(delivery_id: int, attempts: int, worker: str | None, **values) -> bool:
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


def record_success(delivery_id: int, attempts: int, worker: str, result) -> None:
    if not _finish(delivery_id, attempts, worker, status="published", finished_at=now_utc(),
                   last_error=None, external_id=result.external_id,
                   external_url=result.external_url):
        return
    post_status.refresh(db.session.get(Delivery, delivery_id).post)
    db.session.commit()


def record_failure(delivery_id: int, attempts: int, worker: str | None, error: str | None, *,
                   transient: bool, delay: float | None = None, at_least: bool = False) -> bool:
    """Schedule the next attempt by HERALD_RETRY_DELAYS, or fail the delivery for good.

    `delay` overrides the policy's delay; with `at_least` it only lengthens it (Retry-After).
    """
    delivery = db.session.get(Delivery, delivery_id)
    db.session.refresh(delivery)
    delays = current_app.config["HERALD_RETRY_DELAYS"]
    made = attempts - delivery.retry_base
    now = now_utc()
    if transient and made <= len(delays):
        wait = float(delays[made - 1])
        if delay is not None:
            wait = max(wait, delay) if at_least else delay
        if not _finish(delivery_id, attempts, worker, status="retrying", last_error=error,
                       next_attempt_at=now + timedelta(seconds=wait), finished_at=now):
            return False
        db.session.refresh(delivery)
        record(delivery.workspace_id, "delivery.retry_scheduled", delivery,
               after={"attempt": attempts, "error": error, "retry_in_seconds": wait})
        db.session.commit()
        if planner.due_soon(delivery):
            planner.enqueue(delivery)
        return True
    if not _finish(delivery_id, attempts, worker, status="failed", last_error=error,
                   finished_at=now):
        return False
    db.session.refresh(delivery)
    record(delivery.workspace_id, "delivery.failed", delivery,
           after={"attempts": attempts, "error": error})
    note = notifications.notify_failure(delivery)
    post_status.refresh(delivery.post)
    db.session.commit()
    notifications.send_later(note.id)
    return True
