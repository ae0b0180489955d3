"""The publishing job: claim deliveries, send them, record what happened.

Exactly once rests on three things: the claim is a conditional UPDATE (only one worker can
move a delivery from a claimable state to `publishing`), every state change after it is
conditional on the claim (same attempt, same worker), and the platform receives the
delivery's idempotency key, which stays the same on every attempt.
"""

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from rq import get_current_job
from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.orm import joinedload, lazyload

from .. import database, publishers
from ..extensions import db
from ..models import INACTIVE_POSTS, WAITING, Delivery, Hook, Post
from ..publishers.base import safe_result
from ..timeutil import iso_utc, now_utc
from . import attempts, hooks, jobs, metrics, notifications, post_status, removal

log = logging.getLogger(__name__)

# A job that arrives this early waits for its time; an attempt due later than this was
# moved, and its new job takes care of it.
MAX_EARLY_WAIT = 2.0


@dataclass
class Sending:
    """One claimed delivery on its way out."""

    delivery_id: int
    attempts: int
    post_id: int | None = None
    due_at: datetime | None = None
    publisher: publishers.Publisher | None = None
    message: publishers.Message | None = None
    result: publishers.PublishResult | None = None
    action: str = "publish"


def publish_batch(items: list[list[int]]) -> str:
    """RQ job: publish the deliveries of one second that name this job (Delivery.job_id):
    the attempts it was made with (`items`: [delivery id, attempts made]) and any that
    joined it since (jobs.enqueue). Claims them together, sends them concurrently,
    records each outcome. Called outside a job, it publishes `items`."""
    job = get_current_job()
    job_id = job.id if job else None
    query = select(Delivery.id, Delivery.status, Delivery.attempts, Delivery.next_attempt_at)
    database.reading()
    if job_id:
        rows = db.session.execute(query.where(Delivery.job_id == job_id)).all()
    else:
        expected = dict((delivery_id, attempt) for delivery_id, attempt in items)
        rows = [r for r in db.session.execute(query.where(Delivery.id.in_(expected)))
                if r.attempts == expected[r.id]]
    db.session.rollback()  # hold no transaction while waiting
    now = now_utc()
    live = [r for r in rows if r.status in WAITING
            and (r.next_attempt_at - now).total_seconds() <= MAX_EARLY_WAIT]
    if not live:
        return "nothing to publish"
    wait = max((r.next_attempt_at - now).total_seconds() for r in live)
    if wait > 0:
        time.sleep(wait)

    worker = jobs.process_name()
    sendings = [Sending(delivery_id, attempt + 1) for delivery_id, attempt
                in claim([(r.id, r.attempts) for r in live], worker, job_id)]
    if not sendings:
        return "claimed elsewhere"
    _prepare(sendings)
    db.session.rollback()  # no transaction open during the HTTP requests
    _send(sendings)
    for s in sendings:
        s.result = safe_result(s.result)

    published = [s for s in sendings if s.result.ok]
    record_successes(published, worker)
    for s in sendings:
        if not s.result.ok:
            metrics.count_platform_error(s.result.error, s.result.transient)
            _record_failure_contained(s, worker)
    return f"{len(published)} published, {len(sendings) - len(published)} failed"


def _unknown(sending: Sending) -> bool:
    """Whether the outcome cannot be known and must not be resent: the request may have
    reached a platform that cannot deduplicate."""
    result = sending.result
    return bool(result.unknown) and not result.transient and not (
        sending.publisher is not None and sending.publisher.idempotent)


def _prepare(sendings: list[Sending]) -> None:
    """Build each claimed delivery's publisher and message; a delivery whose channel cannot
    be used (bad configuration, a bug) gets a permanent failure instead."""
    # Only what the messages need: the posts' channels and schedules are not loaded.
    database.reading()
    deliveries = {d.id: d for d in db.session.scalars(
        select(Delivery).where(Delivery.id.in_([s.delivery_id for s in sendings]))
        .options(joinedload(Delivery.post).lazyload("*"), joinedload(Delivery.channel)))}
    channel_publishers = {}
    for sending in sendings:
        delivery = deliveries[sending.delivery_id]
        post, channel = delivery.post, delivery.channel
        sending.post_id = post.id
        sending.due_at = delivery.due_at
        sending.action = delivery.action
        try:
            if channel.id not in channel_publishers:
                channel_publishers[channel.id] = publishers.for_channel(
                    channel, redis=jobs.redis())
            sending.publisher = channel_publishers[channel.id]
            sending.message = publishers.Message(
                delivery_id=delivery.id, post_id=post.id, channel_id=channel.id,
                title=post.title, body=post.body_for(channel.id),
                due_at=iso_utc(delivery.due_at), attempt=delivery.attempts,
                idempotency_key=delivery.idempotency_key, tags=tuple(post.tags or ()),
                action=delivery.action,
                # A removal carries what it removes: the publication's external id.
                external_id=delivery.external_id if delivery.action == "unpublish" else None)
        except Exception as exc:
            log.exception("cannot publish delivery %s", delivery.id)
            sending.result = publishers.PublishResult(ok=False, transient=False,
                                                      error=_describe(exc))


def _send(sendings: list[Sending]) -> None:
    """One HTTP request per delivery, all at once: a batch takes as long as its slowest
    request, not the sum of them."""
    ready = [s for s in sendings if s.result is None]
    if not ready:
        return
    for sending, result in zip(ready, _pool().map(_publish_one, ready), strict=True):
        sending.result = result


def _pool() -> ThreadPoolExecutor:
    """The process's sending threads, kept between jobs (starting 50 threads per job
    would cost more than the requests)."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=current_app.config["HERALD_BATCH_SIZE"],
                                   thread_name_prefix="publish")
    return _POOL


_POOL: ThreadPoolExecutor | None = None


def _publish_one(sending: Sending) -> publishers.PublishResult:
    try:
        if sending.message.action == "unpublish":
            return sending.publisher.unpublish(sending.message)
        return sending.publisher.publish(sending.message)
    except Exception as exc:  # a bug must not leave the delivery stuck in `publishing`
        log.exception("publishing delivery %s failed", sending.delivery_id)
        return publishers.PublishResult(ok=False, transient=False, error=_describe(exc))


def _describe(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {message}"[:500]


def claim(attempts: list[tuple[int, int]], worker: str,
          job_id: str | None = None) -> list[tuple[int, int]]:
    """Move deliveries ([(id, attempts made)]) to `publishing` unless someone else already
    did; returns those this worker claimed. One conditional UPDATE per attempt number.
    With `job_id`, only deliveries that still name that job are claimed: one moved,
    cancelled or given another job meanwhile stays where it is."""
    now = now_utc()
    by_attempt: dict[int, list[int]] = {}
    for delivery_id, attempt in attempts:
        by_attempt.setdefault(attempt, []).append(delivery_id)
    in_job = (Delivery.job_id == job_id,) if job_id else ()
    # A post taken back to a draft, or waiting for approval, is never sent, whatever job
    # still names its deliveries.
    releasable = exists().where(Post.id == Delivery.post_id, Post.status.not_in(INACTIVE_POSTS))
    claimed = []
    for attempt, ids in by_attempt.items():
        claimed += [(delivery_id, attempt) for delivery_id in db.session.scalars(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.attempts == attempt,
                   Delivery.status.in_(WAITING), *in_job,
                   Delivery.next_attempt_at <= now, releasable)
            .values(status="publishing", attempts=attempt + 1, started_at=now,
                    claimed_by=worker, finished_at=None, job_id=None)
            .returning(Delivery.id)
            .execution_options(synchronize_session=False))]
    db.session.commit()
    return claimed


def record_successes(published: list[Sending], worker: str) -> None:
    """Mark sent deliveries published: one executemany, conditional on each still being
    this worker's claim, and one transaction.

    What a platform accepted is never left in `publishing` (it would be sent again): if the
    batch cannot be recorded, each delivery is recorded on its own, and one whose platform
    reference cannot be stored is recorded published without it."""
    if not published:
        return
    try:
        _mark_published(published, worker, references=True)
        return
    except Exception:
        db.session.rollback()
        log.exception("could not record %s published deliveries together", len(published))
    for sending in published:
        try:
            _mark_published([sending], worker, references=True)
        except Exception:
            db.session.rollback()
            log.exception("recording delivery %s without its platform reference",
                          sending.delivery_id)
            try:
                _mark_published([sending], worker, references=False)
            except Exception:
                # Not even the hooks' rows: the publication itself is what must be kept.
                db.session.rollback()
                log.exception("recording delivery %s without telling its hooks",
                              sending.delivery_id)
                _mark_published([sending], worker, references=False, announce=False)


def _mark_published(published: list[Sending], worker: str, references: bool,
                    announce: bool = True) -> None:
    table = Delivery.__table__
    now = now_utc()
    db.session.execute(
        update(table)
        .where(table.c.id == bindparam("delivery_id"), table.c.status == "publishing",
               table.c.attempts == bindparam("made"), table.c.claimed_by == worker)
        # A removal keeps the reference of what it removed when the platform names nothing.
        .values(status="published", finished_at=now, last_error=None,
                external_id=func.coalesce(bindparam("external_id"), table.c.external_id),
                external_url=func.coalesce(bindparam("external_url"), table.c.external_url)),
        [{"delivery_id": s.delivery_id, "made": s.attempts,
          "external_id": s.result.external_id if references else None,
          "external_url": s.result.external_url if references else None} for s in published])
    # The last resort (announce=False) records the publication alone.
    removals = removal.plan_removals([s.delivery_id for s in published
                                      if s.action == "publish"]) if announce else []
    post_status.refresh_many({s.post_id for s in published})
    notifications.resolve_for(s.delivery_id for s in published)
    if announce:
        _announce(published, worker)
    db.session.commit()
    try:
        removal.give_jobs(removals)
    except Exception:  # the planner gives them their jobs on its next pass
        db.session.rollback()
        log.exception("could not give removals %s their jobs now", removals)
    metrics.observe_published([s.due_at for s in published], now)


def _announce(published: list[Sending], worker: str) -> None:
    """delivery.published for the hooks, for the deliveries the update above did mark
    (still this worker's claim, same attempt): rows in this transaction, sent after it."""
    made = {s.delivery_id: s.attempts for s in published}
    rows = db.session.scalars(
        select(Delivery).where(Delivery.id.in_(made), Delivery.status == "published",
                               Delivery.claimed_by == worker,
                               exists().where(Hook.workspace_id == Delivery.workspace_id))
        .options(lazyload("*")).execution_options(populate_existing=True)).all()
    hooks.fire_many("delivery.published", [
        (d.workspace_id, hooks.delivery_data(d, "delivery.published"))
        for d in rows if d.attempts == made[d.id]])


def _record_failure_contained(sending: Sending, worker: str) -> None:
    """record_failure for one delivery of a batch; should its error text still be refused,
    the failure is recorded without it, so the rest of the batch is recorded all the same."""
    result = sending.result
    if _unknown(sending):
        try:
            attempts.record_unknown(sending.delivery_id, sending.attempts, worker, result.error)
        except Exception:
            db.session.rollback()
            log.exception("could not record the unknown outcome of delivery %s as given",
                          sending.delivery_id)
            attempts.record_unknown(sending.delivery_id, sending.attempts, worker,
                                    "no answer came back; it may have gone out")
        return
    try:
        attempts.record_failure(sending.delivery_id, sending.attempts, worker, result.error,
                       transient=result.transient, delay=result.retry_after, at_least=True)
        return
    except Exception:
        db.session.rollback()
        log.exception("could not record the failure of delivery %s as given",
                      sending.delivery_id)
    attempts.record_failure(sending.delivery_id, sending.attempts, worker,
                   "the platform's answer could not be saved", transient=result.transient,
                   delay=result.retry_after, at_least=True)


