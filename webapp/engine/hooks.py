"""Lifecycle webhooks: recording the events a workspace's hooks subscribe to.

Firing only inserts HookCall rows in the caller's transaction, so publishing is not slowed
down and a hook never hears of a change that was rolled back; the POSTs are RQ jobs
(hook_calls.send_call) queued once that transaction commits (see init_app). The rows are
the truth: a call whose job Redis lost is queued again by the planner (hook_calls.recover).
"""

import logging

from sqlalchemy import event as orm_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import HOOK_EVENTS, Hook, HookCall
from ..timeutil import iso_utc, now_utc
from . import jobs

log = logging.getLogger(__name__)

# Calls recorded in a session's transaction, queued when it commits.
_FIRED = "herald.hook_calls"


def init_app(app) -> None:
    """Queue each transaction's calls when it commits, and forget them when it rolls
    back (a listener on every session; registered once per process)."""
    if not orm_event.contains(Session, "after_commit", _queue_committed):
        orm_event.listen(Session, "after_commit", _queue_committed)
        orm_event.listen(Session, "after_rollback", _forget)


def _queue_committed(session) -> None:
    ids = session.info.pop(_FIRED, None)
    if not ids:
        return
    try:
        queue_calls([(call_id, 0) for call_id in ids])
    except Exception as exc:  # the commit stands: the planner queues them (recover)
        log.warning("could not queue %s hook calls now (%s); the planner will", len(ids),
                    type(exc).__name__)


def _forget(session) -> None:
    session.info.pop(_FIRED, None)


def job_id(call_id: int, made: int) -> str:
    """The job of a call's next attempt (after `made` attempts): queueing it again
    replaces it."""
    return f"hook-call-{call_id}-{made}"


def queue_calls(calls: list[tuple[int, int]]) -> None:
    """Put calls ([(id, attempts made)]) that are due on the queue, in one round trip.
    Only the id travels: the job reads the rest, its secret included, from the database."""
    queue = jobs.queue()
    queue.enqueue_many([
        queue.prepare_data(jobs.SEND_HOOK_CALL, (call_id,), job_id=job_id(call_id, made),
                           timeout=jobs.JOB_TIMEOUT, result_ttl=0,
                           description=f"hook call {call_id}")
        for call_id, made in calls])


def fire(workspace_id: int, event: str, data: dict) -> list[HookCall]:
    """Record `event` for every hook of the workspace subscribed to it, in the caller's
    transaction; the calls are sent once it commits."""
    return fire_many(event, [(workspace_id, data)])


def fire_many(event: str, items: list[tuple[int, dict]]) -> list[HookCall]:
    """fire() for many (workspace id, data) at once: two statements, whatever the count."""
    if event not in HOOK_EVENTS:
        raise ValueError(f"unknown hook event {event!r}")
    if not items:
        return []
    subscribed: dict[int, list[int]] = {}
    for hook_id, workspace_id, events in db.session.execute(
            select(Hook.id, Hook.workspace_id, Hook.events)
            .where(Hook.workspace_id.in_({w for w, _ in items})).order_by(Hook.id)):
        if event in (events or ()):
            subscribed.setdefault(workspace_id, []).append(hook_id)
    if not subscribed:
        return []
    now = now_utc()
    calls = [HookCall(hook_id=hook_id, workspace_id=workspace_id, event=event,
                      payload={"event": event, "at": iso_utc(now), "data": data},
                      status="pending", attempts=0, next_attempt_at=now, created_at=now)
             for workspace_id, data in items for hook_id in subscribed.get(workspace_id, ())]
    db.session.add_all(calls)
    db.session.flush()
    db.session.info.setdefault(_FIRED, []).extend(call.id for call in calls)
    return calls


def delivery_data(delivery, event: str) -> dict:
    """What a delivery event says about its delivery."""
    data = {"delivery_id": delivery.id, "post_id": delivery.post_id,
            "channel_id": delivery.channel_id, "due_at": iso_utc(delivery.due_at)}
    if event == "delivery.published":
        data |= {"external_id": delivery.external_id, "external_url": delivery.external_url}
    else:
        data["last_error"] = delivery.last_error
    return data
