"""Batch actions on queue rows (pause, resume, cancel, retry, publish now), one delivery at
a time: a row that cannot be changed is skipped with its reason and the others go on.

They run synchronously: a batch is at most one page of rows (MAX_BATCH), and each row is
one short transaction plus a Redis call (a few milliseconds), so even a full batch answers
in well under a second and needs no progress component.
"""

import logging
from dataclasses import dataclass

from sqlalchemy import select

from ..errors import DomainError
from ..extensions import db
from ..models import INACTIVE_POSTS, NEEDS_ATTENTION, WAITING, Delivery
from . import deliveries, posts
from .queue import post_paused

log = logging.getLogger(__name__)

MAX_BATCH = 100


@dataclass
class Outcome:
    """What a batch did to one row."""

    delivery_id: int
    label: str
    done: bool
    reason: str = ""


@dataclass
class Action:
    """A batch action as the queue shows and applies it."""

    verb: str            # what the summary says was done: "3 cancelled"
    allowed: tuple       # delivery statuses the action applies to (per-row actions)
    per_post: bool = False


ACTIONS = {
    "publish_now": Action("sent to publish now", WAITING),
    "pause": Action("paused", (), per_post=True),
    "resume": Action("resumed", (), per_post=True),
    "retry": Action("sent to retry", NEEDS_ATTENTION),
    "cancel": Action("cancelled", WAITING),
}
# Why a delivery in this status is left alone.
NOT_APPLICABLE = {
    "published": "already published", "cancelled": "already cancelled",
    "publishing": "being published right now", "failed": "it failed (retry it instead)",
    "unknown": "its outcome is unknown (retry it, or mark it published)",
    "pending": "not failed", "queued": "not failed", "retrying": "not failed (still retrying)",
}
# What a row says when its post could not be paused or resumed.
POST_CONFLICTS = {
    posts.NOT_ACTIVE: "its post is not active (already paused, finished or cancelled)",
    posts.NOT_PAUSED: "its post is not paused",
}


def label(delivery: Delivery) -> str:
    """“Title” → Channel, as the outcome of a row names it."""
    post = delivery.post
    text = post.title or (post.body[:50] + ("…" if len(post.body) > 50 else ""))
    return f"“{text}” → {delivery.channel.name}"


def skip_reason(action: Action, delivery: Delivery) -> str | None:
    """Why `action` would leave this delivery alone, or None when it applies."""
    if action.per_post:
        return None
    if delivery.status not in action.allowed:
        return NOT_APPLICABLE.get(delivery.status, f"it is {delivery.status}")
    if action is ACTIONS["publish_now"]:
        # It would wait anyway: say so instead of pretending it went out.
        if delivery.post.status in INACTIVE_POSTS:
            return {"draft": "its post is a draft (schedule it first)",
                    "pending_approval": "its post is waiting for approval",
                    }.get(delivery.post.status, f"its post is {delivery.post.status}")
        if post_paused(delivery):
            return "its post is paused (resume it first)"
        if delivery.channel.paused:
            return "its channel is paused"
    return None


def load(workspace_id: int, ids: list[int]) -> dict[int, Delivery]:
    """The workspace's deliveries among `ids`, by id."""
    rows = db.session.scalars(select(Delivery).where(
        Delivery.id.in_(ids), Delivery.workspace_id == workspace_id)).unique().all()
    return {d.id: d for d in rows}


def _run(step, name: str) -> DomainError | str | None:
    """Run one row's step; its failure is that row's outcome, never the batch's."""
    try:
        step()
    except DomainError as exc:
        db.session.rollback()
        return exc
    except Exception:
        db.session.rollback()
        log.exception("batch step failed for %s", name)
        return "could not be changed (an unexpected error, logged for the admin)"
    return None


def _reason(error: DomainError | str | None, known: dict) -> str | None:
    if isinstance(error, DomainError):
        return known.get(error.reason, error.message)
    return error


def run_batch(workspace_id: int, user_id: int, name: str, ids: list[int]) -> list[Outcome]:
    """Apply action `name` (one of ACTIONS) to each delivery, one by one."""
    action = ACTIONS[name]
    found = load(workspace_id, ids)
    labels = {i: label(d) for i, d in found.items()}
    outcomes: list[Outcome] = []
    post_results: dict[int, str | None] = {}
    for delivery_id in ids:
        delivery = found.get(delivery_id)
        if delivery is None:
            outcomes.append(Outcome(delivery_id, f"Delivery {delivery_id}", False, "not found"))
            continue
        row = labels[delivery_id]
        if action.per_post:
            # Pause and resume act on the post; its other rows get the same outcome.
            post_id = delivery.post_id
            if post_id not in post_results:
                call = posts.pause if name == "pause" else posts.resume

                def step(post_id=post_id, call=call):
                    call(posts.get(workspace_id, post_id), user_id)

                post_results[post_id] = _reason(_run(step, row), POST_CONFLICTS)
            reason = post_results[post_id]
        else:
            reason = skip_reason(action, delivery)
            if reason is None:
                call = {"publish_now": deliveries.publish_now, "retry": deliveries.retry,
                        "cancel": deliveries.cancel}[name]

                def step(delivery_id=delivery_id, call=call):
                    call(deliveries.get(workspace_id, delivery_id), user_id)

                error = _run(step, row)
                reason = _reason(error, {})
                if isinstance(error, DomainError) and error.reason == deliveries.WRONG_STATUS:
                    # Changed meanwhile: say what it is now, in the same words as above.
                    db.session.expire_all()
                    now = db.session.get(Delivery, delivery_id)
                    reason = NOT_APPLICABLE.get(now.status, reason) if now else "not found"
        outcomes.append(Outcome(delivery_id, row, reason is None, reason or ""))
    return outcomes


def summarize(name: str, outcomes: list[Outcome]) -> str:
    """“3 cancelled, 1 skipped: already published”."""
    done = sum(o.done for o in outcomes)
    parts = [f"{done} {ACTIONS[name].verb}"]
    reasons: dict[str, int] = {}
    for o in outcomes:
        if not o.done:
            reasons[o.reason] = reasons.get(o.reason, 0) + 1
    parts += [f"{n} skipped: {reason}" for reason, n in reasons.items()]
    return ", ".join(parts)
