"""Rows for tests, made directly or through the services the JSON API uses (the pages and
the API are what the tests exercise): users of a workspace, channels, posts and drafts,
deliveries in any state and notifications. Each takes keyword arguments over small
defaults."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select

from tests.helpers import PASSWORD, tomorrow_at
from webapp.extensions import db
from webapp.models import Channel, Delivery, Membership, Notification, Post, User
from webapp.services import posts as post_service
from webapp.services.accounts import create_user
from webapp.timeutil import now_utc


def member(role: str, workspace: str = "Acme", timezone: str = "UTC") -> User:
    """A user with `role` in `workspace` (made if new): role.workspace@example.com."""
    user, _ = create_user(f"{role}.{workspace.lower()}@example.com", PASSWORD, workspace, role,
                          timezone)
    return user


def workspace_id(user: User) -> int:
    return db.session.scalar(select(Membership.workspace_id).where(Membership.user_id == user.id))


def add_channel(user: User, name: str = "Hook", platform: str = "webhook",
                config: dict | None = None, **fields) -> Channel:
    """A channel row of the user's workspace, written directly (no connection check)."""
    row = Channel(workspace_id=workspace_id(user), name=name, platform=platform,
                  config=config or {"url": "http://127.0.0.1:9/"}, **fields)
    db.session.add(row)
    db.session.commit()
    return row


def make_post(user: User, channel_ids, **fields) -> Post:
    """A post made the way the JSON API makes it (the pages are tested by the other tests):
    daily from tomorrow 09:00 Berlin time unless `schedule` says otherwise."""
    data = {"body": "Hello", "channel_ids": list(channel_ids),
            "schedule": {"at": tomorrow_at(9), "timezone": "Europe/Berlin",
                         "recurrence": "daily"}}
    data.update(fields)
    return post_service.create(workspace_id(user), user.id, data)


def draft(user: User, body: str = "Hello", **fields) -> Post:
    """A post without a schedule: the tests add its deliveries themselves."""
    return make_post(user, [], schedule=None, status="draft", body=body, **fields)


def add_delivery(post: Post, channel: Channel, status: str = "pending",
                 due: datetime | None = None, **fields) -> Delivery:
    """A delivery in any state, written directly (the engine's own tests make real ones)."""
    due = due or now_utc() + timedelta(days=1)
    delivery = Delivery(workspace_id=post.workspace_id, post_id=post.id, channel_id=channel.id,
                        due_at=due, next_attempt_at=fields.pop("next_attempt_at", due),
                        status=status, priority=fields.pop("priority", post.priority),
                        idempotency_key=uuid.uuid4().hex, **fields)
    db.session.add(delivery)
    db.session.commit()
    return delivery


def add_notification(user: User, title: str, kind: str = "delivery_failed",
                     **fields) -> Notification:
    note = Notification(workspace_id=workspace_id(user), kind=kind, title=title, **fields)
    db.session.add(note)
    db.session.commit()
    return note
