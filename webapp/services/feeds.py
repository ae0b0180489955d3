"""The private iCalendar feed of a workspace (or of one of its campaigns), for calendar apps
that subscribe to `/api/v1/calendar.ics?token=<feed token>`.

One VEVENT per delivery that publishes (one occurrence on one channel), from PAST_DAYS ago
on, soonest first, at most MAX_EVENTS. Each event's UID is the delivery's, so an app that
polls sees the same event change (moved, published, cancelled) instead of a new one. The
feed shows the occurrences the planner has written (HERALD_MATERIALIZE_DAYS ahead); later
occurrences of a recurring post appear as the planner writes them.

The document depends only on the database (DTSTAMP is the event's LAST-MODIFIED, not the
time of the request), so the same data gives the same bytes and the same ETag."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import or_, select

from ..extensions import db
from ..models import Campaign, Channel, Delivery, Post, Schedule
from ..timeutil import now_utc
from .validation import in_workspace

# How far back the feed goes, and the most events one answer holds (the soonest first from
# PAST_DAYS ago: past events fall out of the window before upcoming ones are cut).
PAST_DAYS = 30
MAX_EVENTS = 2000
# Publishing is an instant; calendar apps show a short block.
EVENT_DURATION = timedelta(minutes=15)
# SUMMARY: the title, or the body's first words.
SUMMARY_WORDS = 8
PRODID = "-//Herald//Content calendar//EN"


@dataclass(frozen=True)
class Feed:
    """The feed's bytes, their ETag, and when its newest event last changed (None: empty)."""

    body: bytes
    etag: str
    last_modified: datetime | None


def calendar(workspace_id: int, post_url: Callable[[int], str], domain: str,
             campaign_id: int | None = None) -> Feed:
    """The workspace's publishing occurrences as an iCalendar document; only those of one
    campaign when `campaign_id` is given (NotFound when it is not the workspace's).
    `post_url(post_id)` is the post page's address, `domain` the right side of the UIDs."""
    campaign = in_workspace(Campaign, workspace_id, campaign_id, "campaign") \
        if campaign_id is not None else None
    query = (select(Delivery, Schedule.action)
             .outerjoin(Schedule, Schedule.id == Delivery.schedule_id)
             .join(Post, Post.id == Delivery.post_id)
             .where(Delivery.workspace_id == workspace_id,
                    Delivery.due_at >= now_utc() - timedelta(days=PAST_DAYS),
                    # A delivery without a schedule is a "publish now".
                    or_(Schedule.action.is_(None), Schedule.action == "publish"))
             .order_by(Delivery.due_at, Delivery.id).limit(MAX_EVENTS))
    if campaign is not None:
        query = query.where(Post.campaign_id == campaign.id)
    rows = db.session.execute(query).all()
    campaigns = {c.id: c for c in db.session.scalars(
        select(Campaign).where(Campaign.workspace_id == workspace_id))}

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    name = f"Herald: {campaign.name}" if campaign else "Herald"
    cal.add("x-wr-calname", name)
    cal.add("name", name)
    newest = None
    for delivery, _action in rows:
        event, modified = _event(delivery, campaigns, post_url, domain)
        cal.add_component(event)
        newest = modified if newest is None or modified > newest else newest
    body = cal.to_ical()
    return Feed(body, hashlib.sha256(body).hexdigest()[:32], newest)


def _event(delivery: Delivery, campaigns: dict, post_url, domain: str) -> tuple[Event, datetime]:
    post: Post = delivery.post
    channel: Channel = delivery.channel
    modified = max(t for t in (post.updated_at, delivery.created_at, delivery.started_at,
                               delivery.finished_at) if t is not None).replace(microsecond=0)
    event = Event()
    event.add("uid", f"delivery-{delivery.id}@{domain}")
    event.add("dtstamp", modified)
    event.add("last-modified", modified)
    event.add("dtstart", delivery.due_at)
    event.add("duration", EVENT_DURATION)
    event.add("summary", f"{_headline(post)} · {channel.name}")
    lines = [post.body_for(channel.id), "", f"Channel: {channel.name} ({channel.platform})",
             f"Status: {delivery.status}"]
    if delivery.external_url:
        lines.append(f"Published at: {delivery.external_url}")
    event.add("description", "\n".join(lines))
    event.add("url", post_url(post.id))
    event.add("status", "CANCELLED" if delivery.status == "cancelled" else "CONFIRMED")
    categories = []
    campaign = campaigns.get(post.campaign_id)
    if campaign is not None:
        categories.append(campaign.name)
    categories += [tag for tag in post.tags or [] if isinstance(tag, str)]
    if categories:
        event.add("categories", categories)
    return event, modified


def _headline(post: Post) -> str:
    if post.title.strip():
        return post.title.strip()
    words = post.body.split()
    return " ".join(words[:SUMMARY_WORDS]) + ("…" if len(words) > SUMMARY_WORDS else "")

