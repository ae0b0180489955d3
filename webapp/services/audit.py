"""Reading the audit log: filters, pages of events (newest first), a post's history, the
changes of an event in words, and the rows of its CSV export."""

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import (
    AuditEvent,
    Channel,
    Delivery,
    Membership,
    Post,
    ReviewLink,
    Schedule,
    User,
)
from ..timeutil import MAX_YEAR, MIN_YEAR
from .spreadsheet import safe_cell
from .validation import Errors, row_id

# What record() names objects by (the model's class name, lower-case).
OBJECT_TYPES = ("post", "schedule", "delivery", "channel", "campaign", "template", "user",
                "apitoken", "workspace", "membership", "invitation", "hook", "reviewlink")
# An action ("post.updated"), or the start of one ending in a dot ("post.").
ACTION = re.compile(r"[a-z_]{1,32}\.(?:[a-z_]{1,31})?")
SYSTEM = "Herald"  # who a system event (user None) is shown as
VALUE_SHOWN = 80   # characters of a changed value the page and CSV show
CSV_MAX_ROWS = 100_000

# Actions in words; others are shown as they are spelt, dots and underscores as spaces.
WORDS = {
    "post.created": "created the post", "post.updated": "changed the post",
    "post.cancelled": "cancelled the post", "post.paused": "paused the post",
    "post.resumed": "resumed the post", "post.published_now": "published the post now",
    "delivery.retried": "retried the delivery",
    "delivery.retry_scheduled": "scheduled another attempt",
    "delivery.failed": "gave up on the delivery",
    "delivery.recovered": "recovered a delivery a stopped worker left",
    "delivery.cancelled": "cancelled the delivery", "delivery.moved": "moved the delivery",
    "delivery.published_now": "sent the delivery now",
    "delivery.marked_published": "marked the delivery published",
    "delivery.unknown": "could not tell whether the delivery went out",
    "channel.created": "connected the channel", "channel.updated": "changed the channel",
    "channel.deleted": "removed the channel", "channel.paused": "paused the channel",
    "channel.resumed": "resumed the channel", "token.created": "created an API token",
    "token.revoked": "revoked an API token", "posts.imported": "imported posts from CSV",
    "user.settings_changed": "changed their settings",
    "review_link.created": "made a client review link",
    "review_link.revoked": "revoked a client review link",
    "template.created": "saved the template", "template.updated": "changed the template",
    "template.deleted": "removed the template", "template.used": "made a post from the template",
    "template.favorited": "marked the template a favourite",
    "template.unfavorited": "took the template out of the favourites",
}


@dataclass
class Filters:
    """What the log is narrowed to; None means any."""

    object_type: str | None = None
    object_id: int | None = None
    user_id: int | None = None
    action: str | None = None
    start: datetime | None = None  # both inclusive
    end: datetime | None = None


def read_filters(args, errors: Errors) -> Filters:
    """object_type, object_id, user_id and action from a query string; each problem goes to
    `errors` under its name (the period is read by the caller: instants for the API, local
    dates for the page, see local_period)."""
    f = Filters()
    object_type = args.get("object_type") or None
    if object_type is not None:
        if object_type in OBJECT_TYPES:
            f.object_type = object_type
        else:
            errors.add("object_type", f"must be one of: {', '.join(OBJECT_TYPES)}")
    for name in ("object_id", "user_id"):
        raw = args.get(name) or None
        if raw is not None:
            value = row_id(raw)
            if value is None:
                errors.add(name, "must be an id (a whole number from 1)")
            setattr(f, name, value)
    if f.object_id is not None and f.object_type is None and "object_type" not in errors.fields:
        errors.add("object_type", "is required with object_id")
    action = args.get("action") or None
    if action is not None:
        if ACTION.fullmatch(action):
            f.action = action
        else:
            errors.add("action", "must be an action such as post.updated, or the start of "
                                 "one ending in a dot, such as post.")
    return f


DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(raw: str | None, name: str, errors: Errors) -> date | None:
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw) if DAY.fullmatch(raw) else None
    except ValueError:
        day = None
    if day is None or not MIN_YEAR <= day.year <= MAX_YEAR:
        errors.add(name, f"must be a date (YYYY-MM-DD) between the years {MIN_YEAR} and "
                         f"{MAX_YEAR}")
        return None
    return day


def local_period(start: str | None, end: str | None, zone: ZoneInfo,
                 errors: Errors) -> tuple[datetime | None, datetime | None]:
    """The page's `from` and `to` dates, whole days in the user's zone, as instants."""
    first, last = _day(start, "from", errors), _day(end, "to", errors)
    if first and last and last < first:
        errors.add("to", "is before “from”")
    lower = datetime.combine(first, time(), zone) if first else None
    upper = datetime.combine(last, time.max, zone) if last else None
    return lower, upper


def _query(workspace_id: int, f: Filters):
    query = select(AuditEvent).where(AuditEvent.workspace_id == workspace_id)
    if f.object_type == "post" and f.object_id is not None:
        query = query.where(_of_post(f.object_id))
    elif f.object_type:
        query = query.where(AuditEvent.object_type == f.object_type)
        if f.object_id is not None:
            query = query.where(AuditEvent.object_id == f.object_id)
    if f.user_id is not None:
        query = query.where(AuditEvent.user_id == f.user_id)
    if f.action:
        query = query.where(AuditEvent.action.startswith(f.action, autoescape=True)
                            if f.action.endswith(".") else AuditEvent.action == f.action)
    if f.start:
        query = query.where(AuditEvent.created_at >= f.start)
    if f.end:
        query = query.where(AuditEvent.created_at <= f.end)
    return query


def _of_post(post_id: int):
    """A post's own events and those of its deliveries, schedules and review links: one
    post's history (the post page's card, and the log filtered to the post)."""
    def of(kind, ids):
        return (AuditEvent.object_type == kind) & AuditEvent.object_id.in_(ids)
    return or_(of("post", [post_id]),
               of("delivery", select(Delivery.id).where(Delivery.post_id == post_id)),
               of("schedule", select(Schedule.id).where(Schedule.post_id == post_id)),
               of("reviewlink", select(ReviewLink.id).where(ReviewLink.post_id == post_id)))


@dataclass
class Row:
    """An event as the log shows it."""

    event: AuditEvent
    email: str | None           # None: Herald itself, or a person since removed
    post_id: int | None = None  # the post page the object leads to, if it still exists
    channel_id: int | None = None
    changes: list[str] = field(default_factory=list)

    @property
    def who(self) -> str:
        if self.event.user_id is None:
            # A client's decision through a review link is done by no member.
            via = (self.event.after or {}).get("review_link")
            return f"via review link '{via}'" if via else SYSTEM
        return self.email or "a removed user"

    @property
    def words(self) -> str:
        return WORDS.get(self.event.action,
                         self.event.action.replace(".", " ").replace("_", " "))


@dataclass
class Page:
    rows: list[Row]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search(workspace_id: int, filters: Filters, page: int, per_page: int) -> Page:
    """One page of the workspace's events that match, newest first (a page past the end
    is empty)."""
    query = _query(workspace_id, filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    events = db.session.scalars(_newest_first(query).limit(per_page)
                                .offset((page - 1) * per_page)).all() if total else []
    return Page(_rows(events), page, per_page, total)


def _newest_first(query):
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def history(post: Post, limit: int) -> tuple[list[Row], bool]:
    """The post's latest `limit` events (its deliveries' and schedules' too), newest
    first, and whether there are more."""
    events = db.session.scalars(_newest_first(_query(
        post.workspace_id, Filters(object_type="post", object_id=post.id)))
        .limit(limit + 1)).all()
    return _rows(events[:limit]), len(events) > limit


def _rows(events: list[AuditEvent]) -> list[Row]:
    """Rows with the person's e-mail and where the object leads, looked up once a page."""
    def ids(kind):
        return {e.object_id for e in events if e.object_type == kind and e.object_id}

    emails = dict(db.session.execute(select(User.id, User.email).where(
        User.id.in_({e.user_id for e in events if e.user_id}))).all()) if events else {}
    posts = set(db.session.scalars(select(Post.id).where(Post.id.in_(ids("post"))))) \
        if ids("post") else set()
    parents = {}
    for model, kind in ((Delivery, "delivery"), (Schedule, "schedule"),
                        (ReviewLink, "reviewlink")):
        if ids(kind):
            parents[kind] = dict(db.session.execute(
                select(model.id, model.post_id).where(model.id.in_(ids(kind)))).all())
    channels = set(db.session.scalars(select(Channel.id).where(Channel.id.in_(
        ids("channel"))))) if ids("channel") else set()
    rows = []
    for e in events:
        if e.object_type == "post":
            post_id = e.object_id if e.object_id in posts else None
        else:
            post_id = parents.get(e.object_type, {}).get(e.object_id)
        rows.append(Row(e, emails.get(e.user_id), post_id,
                        e.object_id if e.object_type == "channel" and e.object_id in channels
                        else None, changes(e.before, e.after)))
    return rows


def _shown(value) -> str:
    if value is None or value == [] or value == {}:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                           sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= VALUE_SHOWN else text[:VALUE_SHOWN - 1] + "…"


def changes(before: dict | None, after: dict | None) -> list[str]:
    """What differs between before and after, one "field: old → new" each; a creation
    (no before) or a removal (no after) shows the fields it has."""
    before, after = before or {}, after or {}
    if not before or not after:
        return [f"{key}: {_shown(value)}" for key, value in (after or before).items()]
    found = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):  # a channel's config, say
            found += [f"{key}.{line}" for line in changes(old, new)]
        else:
            found.append(f"{key}: {_shown(old)} → {_shown(new)}")
    return found


# The CSV export ---------------------------------------------------------------------------

CSV_HEADER = ("at", "who", "action", "object_type", "object_id", "changes", "before", "after")
def csv_rows(workspace_id: int, filters: Filters, zone: ZoneInfo):
    """The header and every matching event (newest first, at most CSV_MAX_ROWS), with
    times in `zone` and cells safe to open in a spreadsheet."""
    yield CSV_HEADER
    query = _newest_first(_query(workspace_id, filters))
    batch = 500
    for offset in range(0, CSV_MAX_ROWS, batch):
        events = db.session.scalars(query.limit(batch).offset(offset)).all()
        for row in _rows(events):
            e = row.event
            yield tuple(safe_cell(v) for v in (
                e.created_at.astimezone(zone).isoformat(), row.who, e.action, e.object_type,
                e.object_id, "; ".join(row.changes),
                json.dumps(e.before, ensure_ascii=False) if e.before is not None else "",
                json.dumps(e.after, ensure_ascii=False) if e.after is not None else ""))
        if len(events) < batch:
            return


def people(workspace_id: int) -> list[tuple[int, str]]:
    """The workspace's members (id, e-mail) for the page's person filter."""
    return db.session.execute(select(User.id, User.email).join(Membership).where(
        Membership.workspace_id == workspace_id).order_by(User.email)).all()
