"""What the calendar shows: one item per post occurrence.

An occurrence is either *materialised* (Delivery rows exist: one per channel, grouped here
by post, schedule and due time) or, for a recurring schedule, *not yet materialised* (the
planner writes rows only a few days ahead; later occurrences are expanded from the
schedule's rule with `pattern_of(schedule).between()`).

Everything is read in a fixed number of queries — channels, campaigns, deliveries (with
their post and schedule columns), recurring schedules, and the channels of those
schedules' posts — and as plain rows rather than ORM objects, so a month with thousands of
posts stays fast.

Items are identified by a `ref` that survives a page reload:
  d-<post id>-<schedule id or 0>-<due, Unix seconds>   a materialised occurrence
  s-<schedule id>-<occurrence, Unix seconds>           an occurrence of a recurring schedule
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, Text, cast, func, select, type_coerce

from ..errors import NotFound
from ..extensions import db
from ..models import (
    OPEN,
    UNPLANNED_POSTS,
    UNTRIED,
    Campaign,
    Channel,
    Delivery,
    Post,
    Schedule,
    pattern_of,
    post_channels,
)

STATUSES = ("scheduled", "awaiting", "published", "failed", "paused", "cancelled")
LABELS = {"scheduled": "Scheduled", "awaiting": "Awaiting approval", "published": "Published",
          "failed": "Failed", "paused": "Paused", "cancelled": "Cancelled"}
# Shapes, not only colours, tell the statuses apart.
ICONS = {"scheduled": "◷", "awaiting": "?", "published": "✓", "failed": "✕", "paused": "‖",
         "cancelled": "⊘"}
NEUTRAL = "#6b7280"
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# A rule that fires every minute would put tens of thousands of items in a month.
MAX_PER_SCHEDULE = 1000
TITLE_CHARS = 60

MAX_STAMP = 253_000_000_000  # late in the year 9987
REF = re.compile(r"d-(\d{1,10})-(\d{1,10})-(\d{1,12})|s-(\d{1,10})-(\d{1,12})")


@dataclass(frozen=True)
class Ref:
    kind: str  # "d" (materialised) or "s" (series occurrence)
    at: datetime  # aware UTC
    post_id: int | None = None
    schedule_id: int | None = None

    def __str__(self) -> str:
        return ref_for(self.kind, self.at, self.post_id, self.schedule_id)


def ref_for(kind: str, at: datetime, post_id: int | None = None,
            schedule_id: int | None = None) -> str:
    """The reference of one calendar item (an occurrence or a single delivery) that pages
    and moves pass back, made from what the item is and its instant."""
    return _ref(kind, int(at.timestamp()), post_id, schedule_id)


def _ref(kind: str, stamp: int, post_id: int | None, schedule_id: int | None) -> str:
    if kind == "s":
        return f"s-{schedule_id}-{stamp}"
    return f"d-{post_id}-{schedule_id or 0}-{stamp}"


def parse_ref(value) -> Ref:
    """The item a ref names; NotFound for anything that is not one."""
    found = REF.fullmatch(value) if isinstance(value, str) else None
    numbers = [int(n) for n in found.groups() if n is not None] if found else []
    # Ids fit a 32-bit column (PostgreSQL refuses larger ones); instants stay clear of the
    # calendar's end, where converting to a local time overflows.
    if not numbers or max(numbers[:-1]) >= 2**31 or numbers[-1] > MAX_STAMP:
        raise NotFound("That calendar item does not exist.")
    try:
        if found.group(1):
            at = datetime.fromtimestamp(int(found.group(3)), UTC)
            return Ref("d", at, int(found.group(1)), int(found.group(2)) or None)
        return Ref("s", datetime.fromtimestamp(int(found.group(5)), UTC),
                   schedule_id=int(found.group(4)))
    except (ValueError, OverflowError, OSError):
        raise NotFound("That calendar item does not exist.") from None


@dataclass(slots=True)
class ChannelInfo:
    id: int
    name: str
    color: str


@dataclass(slots=True)
class Item:
    """One post occurrence as the calendar draws it. (Built positionally in the loaders
    below: keyword arguments cost twice as much, thousands of times per month.)"""

    ref: str
    kind: str  # "d" or "s" (see the module docstring)
    post_id: int
    title: str
    at: datetime  # aware UTC
    stamp: int  # `at` in whole Unix seconds: the sort key, and the ref's
    local: datetime  # aware, in the calendar's zone
    status: str
    recurring: bool
    movable: bool
    campaign_id: int | None
    channels: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    color: str = NEUTRAL

    @property
    def label(self) -> str:
        return LABELS[self.status]


def title_of(title: str | None, body: str | None) -> str:
    """What a calendar item is called: its title, else the start of its text."""
    if title:
        return title
    body = (body or "").strip().replace("\n", " ")
    return body[:TITLE_CHARS] + ("…" if len(body) > TITLE_CHARS else "") or "(no text)"


def safe_color(value: str | None) -> str:
    """A stored colour fit for an SVG fill: #RRGGBB as it is, anything else neutral."""
    return value if value and COLOR.fullmatch(value) else NEUTRAL


def campaigns_of(workspace_id: int) -> list[Campaign]:
    """The workspace's campaigns by name (the calendar's filter and colours)."""
    return db.session.scalars(select(Campaign).where(Campaign.workspace_id == workspace_id)
                              .order_by(Campaign.name, Campaign.id)).all()


def status_of(statuses: set[str], paused: bool, awaiting: bool = False) -> str:
    """One status for an occurrence from its deliveries' statuses (`awaiting`: its post
    waits for approval)."""
    if not statuses.isdisjoint(("failed", "unknown")):
        return "failed"
    if not statuses.isdisjoint(OPEN):
        return "paused" if paused else "awaiting" if awaiting else "scheduled"
    if "published" in statuses:
        return "published"
    return "cancelled"


@dataclass
class Loaded:
    items: list[Item]
    # Schedules with more occurrences in the range than the calendar draws.
    truncated: list[str] = field(default_factory=list)


def load(workspace_id: int, start: datetime, end: datetime, tz: ZoneInfo, *,
         channels: list[Channel], campaigns: list[Campaign], channel_id: int | None = None,
         status: str | None = None, campaign_id: int | None = None,
         color_by: str = "channel") -> Loaded:
    """Every occurrence with start <= time < end in the workspace, filtered, sorted by time."""
    infos = {c.id: ChannelInfo(c.id, c.name, safe_color(c.color)) for c in channels}
    campaign_colors = {c.id: safe_color(c.color) for c in campaigns}
    items = _materialised(workspace_id, start, end, tz, infos, campaign_id)
    series, truncated = _series(workspace_id, start, end, tz, infos, campaign_id)
    items += series
    if channel_id is not None:
        items = [i for i in items if any(c.id == channel_id for c in i.channels)]
    if status is not None:
        items = [i for i in items if i.status == status]
    if color_by == "campaign":
        for item in items:
            item.color = campaign_colors.get(item.campaign_id, NEUTRAL)
    else:
        for item in items:
            if item.channels:
                item.color = item.channels[0].color
    # Whole seconds as the first key: comparing aware datetimes is several times slower.
    items.sort(key=lambda i: (i.stamp, i.title, i.post_id))
    return Loaded(items, truncated)


def _rows(query) -> list:
    """Rows through the session's connection, skipping the ORM's result machinery (half
    the time of a month with thousands of deliveries)."""
    return db.session.connection().execute(query).all()


def _instant(value) -> datetime:
    """A stored instant read raw: a string on SQLite, a naive datetime on PostgreSQL
    (both UTC; see models.types.UTCDateTime)."""
    if isinstance(value, str):
        # Naive UTC text: parsing it with its offset is several times faster than
        # datetime.replace(tzinfo=...) afterwards.
        return datetime.fromisoformat(value + "+00:00")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _materialised(workspace_id, start, end, tz, infos, campaign_id) -> list[Item]:
    # Warnings come as text and are parsed only when there are any: nearly every row has
    # none, and decoding thousands of empty JSON lists costs more than the query.
    warnings_text = func.nullif(cast(Delivery.warnings, Text), "[]")
    # The raw stored value: converted once per occurrence below, not once per delivery.
    due = type_coerce(Delivery.due_at, String)
    query = (
        select(Delivery.post_id, Delivery.schedule_id, due, Delivery.channel_id,
               Delivery.status, Delivery.attempts, warnings_text, Post.title,
               func.substr(Post.body, 1, TITLE_CHARS + 1), Post.status, Post.campaign_id,
               Schedule.rrule, Schedule.status)
        .join(Post, Post.id == Delivery.post_id)
        .outerjoin(Schedule, Schedule.id == Delivery.schedule_id)
        # Occurrences are publications; removals show in the queue and on the post page.
        .where(Delivery.workspace_id == workspace_id, Post.workspace_id == workspace_id,
               Delivery.due_at >= start, Delivery.due_at < end, Delivery.action == "publish")
        .order_by(Delivery.due_at, Delivery.post_id, Delivery.schedule_id, Delivery.channel_id))
    if campaign_id is not None:
        query = query.where(Post.campaign_id == campaign_id)
    groups: dict[tuple, list] = {}
    for row in _rows(query):
        groups.setdefault(row[:3], []).append(row)
    items = []
    for (post_id, schedule_id, raw_due), rows in groups.items():
        due_at = _instant(raw_due)
        (_, _, _, _, _, _, _, title, body, post_status, campaign_id_, rrule,
         schedule_status) = rows[0]
        paused = schedule_status == "paused"
        statuses = set()
        warnings: list[str] = []
        waiting = False
        channels = []
        for row in rows:
            status, attempts, text = row[4], row[5], row[6]
            statuses.add(status)
            if status in UNTRIED and not attempts:
                waiting = True
            if text:
                for w in json.loads(text):
                    if w not in warnings:
                        warnings.append(w)
            info = infos.get(row[3])
            if info is not None:
                channels.append(info)
        stamp = int(due_at.timestamp())
        items.append(Item(
            _ref("d", stamp, post_id, schedule_id), "d", post_id, title_of(title, body),
            due_at, stamp, due_at.astimezone(tz),
            status_of(statuses, paused, post_status == "pending_approval"), bool(rrule),
            waiting and not paused and post_status != "cancelled", campaign_id_, channels,
            warnings))
    return items


def _series(workspace_id, start, end, tz, infos, campaign_id) -> tuple[list[Item], list[str]]:
    """Occurrences of recurring schedules that have no Delivery rows yet: those at or after
    the schedule's next_run_at (everything before it is materialised)."""
    query = (
        select(Schedule.id, Schedule.post_id, Schedule.start_local, Schedule.start_fold,
               Schedule.timezone, Schedule.rrule, Schedule.until_local, Schedule.until_fold,
               Schedule.count, Schedule.status,
               Schedule.next_run_at, Post.title,
               func.substr(Post.body, 1, TITLE_CHARS + 1).label("body"), Post.campaign_id,
               Post.status.label("post_status"))
        .join(Post, Post.id == Schedule.post_id)
        .where(Post.workspace_id == workspace_id, Schedule.status.in_(("active", "paused")),
               Schedule.rrule.is_not(None), Schedule.next_run_at.is_not(None),
               Schedule.next_run_at < end, Post.status.not_in(UNPLANNED_POSTS))
        .order_by(Schedule.id))
    if campaign_id is not None:
        query = query.where(Post.campaign_id == campaign_id)
    schedules = _rows(query)
    if not schedules:
        return [], []
    post_ids = select(Schedule.post_id).join(Post, Post.id == Schedule.post_id).where(
        Post.workspace_id == workspace_id, Schedule.status.in_(("active", "paused")),
        Schedule.rrule.is_not(None), Schedule.next_run_at < end)
    chosen: dict[int, list[ChannelInfo]] = {}
    for post_id, channel_id in _rows(
            select(post_channels.c.post_id, post_channels.c.channel_id)
            .where(post_channels.c.post_id.in_(post_ids))
            .order_by(post_channels.c.channel_id)):
        if channel_id in infos:
            chosen.setdefault(post_id, []).append(infos[channel_id])
    items, truncated = [], []
    for s in schedules:
        # A Row reads like a Schedule: pattern_of() needs only these columns.
        occurrences = pattern_of(s).between(max(start, s.next_run_at), end,
                                                 limit=MAX_PER_SCHEDULE + 1)
        if len(occurrences) > MAX_PER_SCHEDULE:
            occurrences = occurrences[:MAX_PER_SCHEDULE]
            truncated.append(title_of(s.title, s.body))
        paused = s.status == "paused"
        title = title_of(s.title, s.body)
        status = "paused" if paused else \
            "awaiting" if s.post_status == "pending_approval" else "scheduled"
        channels = chosen.get(s.post_id, [])
        for occ in occurrences:
            stamp = int(occ.at.timestamp())
            items.append(Item(
                _ref("s", stamp, None, s.id), "s", s.post_id, title, occ.at, stamp,
                occ.at.astimezone(tz), status, True, not paused, s.campaign_id, channels,
                occ.warnings))
    return items, truncated


# One item, for the side panel and for moves ---------------------------------------------

@dataclass
class Found:
    """A single occurrence with its post, schedule and (for materialised ones) deliveries."""

    ref: Ref
    post: Post
    schedule: Schedule | None
    deliveries: list[Delivery]

    @property
    def waiting(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status in UNTRIED and not d.attempts]

    @property
    def recurring(self) -> bool:
        return bool(self.schedule and self.schedule.rrule)

    @property
    def scope(self) -> str:
        """What a move of this item changes: "post" (a one-off post), "occurrence" (this
        occurrence of a series, or an extra delivery) or "series" (the whole series)."""
        if self.ref.kind == "s":
            return "series"
        if self.schedule is not None and not self.schedule.rrule and \
                len(self.waiting) == len(self.deliveries):
            return "post"
        return "occurrence"

    @property
    def status(self) -> str:
        paused = self.schedule is not None and self.schedule.status == "paused"
        awaiting = self.post.status == "pending_approval"
        if self.ref.kind == "s" and not self.deliveries:
            return "paused" if paused else "awaiting" if awaiting else "scheduled"
        return status_of({d.status for d in self.deliveries}, paused, awaiting)

    @property
    def movable(self) -> bool:
        if self.post.status == "cancelled" or self.status == "paused":
            return False
        if self.ref.kind == "s":
            return self.schedule is not None and self.schedule.status == "active"
        return bool(self.waiting)

    @property
    def channels(self) -> list:
        if self.deliveries:
            return [d.channel for d in self.deliveries]
        return list(self.post.channels)


def find(workspace_id: int, ref: Ref) -> Found:
    """The occurrence `ref` names in this workspace; NotFound otherwise (also for another
    workspace's items, which must not even be confirmed to exist)."""
    if ref.kind == "s":
        schedule = db.session.get(Schedule, ref.schedule_id)
        if schedule is None or schedule.post.workspace_id != workspace_id:
            raise NotFound("That calendar item does not exist.")
        post = schedule.post
        deliveries = _deliveries(workspace_id, post.id, schedule.id, ref.at)
    else:
        post = db.session.get(Post, ref.post_id)
        if post is None or post.workspace_id != workspace_id:
            raise NotFound("That calendar item does not exist.")
        schedule = db.session.get(Schedule, ref.schedule_id) if ref.schedule_id else None
        if schedule is not None and schedule.post_id != post.id:
            raise NotFound("That calendar item does not exist.")
        deliveries = _deliveries(workspace_id, post.id, ref.schedule_id, ref.at)
        if not deliveries:
            raise NotFound("That calendar item is no longer there: it may have moved or been "
                           "published meanwhile. Reload the calendar.")
    return Found(ref, post, schedule, deliveries)


def _deliveries(workspace_id, post_id, schedule_id, at) -> list[Delivery]:
    same_schedule = (Delivery.schedule_id == schedule_id if schedule_id
                     else Delivery.schedule_id.is_(None))
    return list(db.session.scalars(
        select(Delivery).where(Delivery.workspace_id == workspace_id,
                               Delivery.post_id == post_id, same_schedule,
                               Delivery.action == "publish", Delivery.due_at >= at,
                               Delivery.due_at < at + timedelta(seconds=1))
        .order_by(Delivery.channel_id)))


def warnings_of(found: Found) -> list[str]:
    """The DST notes of an occurrence: its deliveries', or its rule's when not planned yet."""
    warnings = []
    for d in found.deliveries:
        for w in d.warnings or ():
            if w not in warnings:
                warnings.append(w)
    if not found.deliveries and found.schedule is not None:
        for occ in pattern_of(found.schedule).between(
                found.ref.at, found.ref.at + timedelta(seconds=1), limit=1):
            warnings += occ.warnings
    return warnings
