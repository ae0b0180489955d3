"""Lifecycle webhooks: adding and removing a workspace's hooks, their delivery log, and
firing the events other services report (post.approved, post.rejected, conflict.opened).
Sending is the engine's (engine/hooks.py)."""

from flask import current_app
from sqlalchemy import func, select

from ..crypto import encrypt
from ..engine import hooks as engine
from ..errors import ValidationError
from ..extensions import db
from ..models import HOOK_EVENTS, Hook, HookCall
from ..models.audit import record
from ..publishers.http import check_url, unsafe_character
from .validation import Errors, in_workspace, text

URL_MAX = 2000  # Hook.url's column
SECRET_MAX = 200


def search(workspace_id: int):
    """The query for the workspace's hooks in the order they were made (the API's)."""
    return select(Hook).where(Hook.workspace_id == workspace_id).order_by(Hook.id)


def of_workspace(workspace_id: int) -> list[Hook]:
    """The workspace's lifecycle hooks, in the list's order."""
    return db.session.scalars(search(workspace_id)).all()


def get(workspace_id: int, hook_id) -> Hook:
    """The workspace's hook, or NotFound."""
    return in_workspace(Hook, workspace_id, hook_id, "hook")


def create(workspace_id: int, user_id: int | None, data: dict) -> Hook:
    """A new hook from `data` ({"url", "secret"?, "events"}); a ValidationError naming
    every wrong field, and nothing saved, otherwise. The URL passes the same outgoing
    check as a webhook channel's (and again at every call)."""
    errors = Errors()
    url = text(data.get("url"), "url", errors, max_length=URL_MAX, required=True)
    if "url" not in errors.fields:
        try:
            check_url(url, "url", current_app.config["HERALD_ALLOW_PRIVATE_NETWORKS"])
        except ValidationError as exc:
            errors.capture(exc)
    secret = data.get("secret")
    if secret is not None:
        secret = text(secret, "secret", errors, max_length=SECRET_MAX)
        bad = unsafe_character(secret) if isinstance(secret, str) else None
        if bad:
            errors.add("secret", f"contains {bad}; remove it")
    events = _events(data.get("events"), errors)
    errors.raise_if_any()
    hook = Hook(workspace_id=workspace_id, url=url, events=events, created_by=user_id,
                secret_encrypted=encrypt({"secret": secret}) if secret else None)
    db.session.add(hook)
    db.session.flush()
    record(workspace_id, "hook.created", hook, user_id=user_id,
           after={"url": url, "events": events, "has_secret": bool(secret)})
    db.session.commit()
    return hook


def _events(value, errors: Errors) -> list[str]:
    """A non-empty list of HOOK_EVENTS, each once, in the order given."""
    if not isinstance(value, list) or not value:
        errors.add("events", f"must be a non-empty list of: {', '.join(HOOK_EVENTS)}")
        return []
    unknown = [v for v in value if not isinstance(v, str) or v not in HOOK_EVENTS]
    if unknown:
        shown = unknown[0] if isinstance(unknown[0], str) else type(unknown[0]).__name__
        errors.add("events", f"unknown event '{shown[:60]}'; events are: "
                             f"{', '.join(HOOK_EVENTS)}")
        return []
    return list(dict.fromkeys(value))


def delete(hook: Hook, user_id: int | None) -> None:
    """Remove the hook and its log; its calls still queued find nothing to send."""
    record(hook.workspace_id, "hook.deleted", hook, user_id=user_id,
           before={"url": hook.url, "events": hook.events,
                   "has_secret": bool(hook.secret_encrypted)})
    db.session.delete(hook)
    db.session.commit()


def calls(workspace_id: int, hook_id: int | None = None, page: int = 1,
          per_page: int = 20) -> tuple[list[HookCall], int]:
    """The delivery log, newest first, one page of it, and how many calls there are."""
    query = select(HookCall).where(HookCall.workspace_id == workspace_id)
    if hook_id is not None:
        query = query.where(HookCall.hook_id == hook_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(HookCall.created_at.desc(), HookCall.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def fire(workspace_id: int, event: str, data: dict) -> list[HookCall]:
    """Tell the workspace's hooks subscribed to `event` (one of HOOK_EVENTS) that it
    happened, with `data`. The calls are rows in the caller's transaction: call this
    before committing the change itself, and they are queued when that commit happens
    (nothing is sent if it rolls back)."""
    return engine.fire(workspace_id, event, data)
