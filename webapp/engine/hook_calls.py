"""Lifecycle webhooks: POSTing the calls engine/hooks.py recorded.

Each is POSTed like a webhook channel's message (API.md): the same signature header, the
same answers counted as success, transient and permanent, the same retry policy
(attempts.retry_wait, Retry-After honoured), its Idempotency-Key the same on every attempt.
"""

import json
import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from ..crypto import decrypt
from ..extensions import db
from ..models import CALL_WAITING, Hook, HookCall
from ..publishers.base import clean_text
from ..publishers.http import Reply, classify, configured_resolver, send
from ..publishers.webhook import SIGNATURE_HEADER, signature
from ..timeutil import now_utc
from . import attempts, hooks, jobs

log = logging.getLogger(__name__)

# A hook is a notice, not the post itself: it gets less time than a platform.
HOOK_TIMEOUT = 10.0
# While an attempt is under way its call is not due: a second copy of the job, or the
# planner, leaves it alone until then (a worker that died mid-call is retried after it).
LEASE = timedelta(seconds=jobs.JOB_TIMEOUT)
# rq-scheduler rounds times down to whole seconds: a job this early waits for its time.
MAX_EARLY_WAIT = 2.0
# How long after its time a due call without a job counts as lost (its job may be on
# its way into Redis right now).
RECOVER_AFTER = timedelta(seconds=10)
RECOVER_LIMIT = 1000


def send_call(call_id: int) -> str:
    """RQ job: POST one call, once it is due, and record the outcome: 2xx sent; 408, 429,
    5xx and network failures retried by the retry policy (Retry-After honoured) until it
    is used up; anything else failed at once."""
    call = db.session.get(HookCall, call_id)
    if call is None or call.status not in CALL_WAITING:
        return "nothing to send"
    wait = (call.next_attempt_at - now_utc()).total_seconds()
    if wait > MAX_EARLY_WAIT:
        return "not due"  # under way elsewhere, or a later job has it
    made = call.attempts
    db.session.rollback()  # hold no transaction while waiting or sending
    if wait > 0:
        time.sleep(wait)
    now = now_utc()
    if not _update(call_id, made, attempts=made + 1, next_attempt_at=now + LEASE):
        return "claimed elsewhere"
    call = db.session.get(HookCall, call_id)
    hook = db.session.get(Hook, call.hook_id) if call else None
    if hook is None:
        return "hook removed"
    body = json.dumps(call.payload).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": call.idempotency_key}
    secret = decrypt(hook.secret_encrypted).get("secret")
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    url = hook.url
    db.session.rollback()
    try:
        reply = send("POST", url, data=body, headers=headers,
                     timeout=min(HOOK_TIMEOUT, current_app.config["HERALD_HTTP_TIMEOUT"]),
                     allow_private=current_app.config["HERALD_ALLOW_PRIVATE_NETWORKS"],
                     resolve=configured_resolver())
        return _record(call_id, made + 1, reply, secret)
    except Exception:  # a bug must not leave the call leased until recovery
        log.exception("hook call %s failed", call_id)
        db.session.rollback()
        _update(call_id, made + 1, status="failed", last_error="internal error",
                finished_at=now_utc())
        return "failed"


def _record(call_id: int, made: int, reply, secret: str | None) -> str:
    now = now_utc()
    status_code = reply.status_code if isinstance(reply, Reply) else None
    failure = classify(reply) if isinstance(reply, Reply) else reply
    if failure is None:
        _update(call_id, made, status="sent", response_status=status_code, last_error=None,
                finished_at=now)
        return "sent"
    error = failure.error or "no description"
    if secret and len(secret) >= 4:  # a receiver may quote what it was sent
        error = error.replace(secret, "[redacted]")
    error = clean_text(error, 500)
    wait = attempts.retry_wait(made, failure.transient, failure.retry_after, at_least=True)
    if wait is None:
        _update(call_id, made, status="failed", response_status=status_code,
                last_error=error, finished_at=now)
        return "failed"
    at = now + timedelta(seconds=wait)
    if _update(call_id, made, status="retrying", response_status=status_code,
               last_error=error, next_attempt_at=at):
        _schedule(call_id, made, at)
    return "retrying"


def _update(call_id: int, made: int, **values) -> bool:
    """Apply `values` (and commit) only if the call is still waiting after `made`
    attempts: a claim, or the outcome of the attempt this job claimed."""
    changed = db.session.execute(
        update(HookCall).where(HookCall.id == call_id, HookCall.attempts == made,
                               HookCall.status.in_(CALL_WAITING))
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return changed


def _schedule(call_id: int, made: int, at: datetime) -> None:
    """The next attempt's job, at its time (rq-scheduler, like a delivery's retry)."""
    try:
        jobs.scheduler().enqueue_at(at, jobs.SEND_HOOK_CALL, call_id,
                                    job_id=hooks.job_id(call_id, made), timeout=jobs.JOB_TIMEOUT,
                                    job_result_ttl=0, job_description=f"hook call {call_id}")
    except Exception as exc:
        log.warning("could not schedule hook call %s (%s); the planner will", call_id,
                    type(exc).__name__)


def recover(now: datetime) -> int:
    """Queue again the due calls whose job Redis no longer has (lost, or its worker died
    after the lease ran out). Part of the planner's pass."""
    due = db.session.execute(
        select(HookCall.id, HookCall.attempts)
        .where(HookCall.status.in_(CALL_WAITING),
               HookCall.next_attempt_at <= now - RECOVER_AFTER)
        .order_by(HookCall.next_attempt_at).limit(RECOVER_LIMIT)).all()
    db.session.rollback()
    if not due:
        return 0
    exists = jobs.jobs_exist([hooks.job_id(row.id, row.attempts) for row in due])
    lost = [(row.id, row.attempts) for row, there in zip(due, exists, strict=True)
            if not there]
    if lost:
        log.warning("re-queueing %s hook calls whose jobs were lost", len(lost))
        hooks.queue_calls(lost)
    return len(lost)
