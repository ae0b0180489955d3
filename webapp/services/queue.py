"""The queue's reading side: its tabs, filters, sorting and paging over the workspace's
deliveries, in a fixed handful of queries whatever the number of rows."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ..errors import DomainError
from ..extensions import db
from ..models import DELIVERY_STATUSES, FINAL, WAITING, Campaign, Channel, Delivery, Post
from ..timeutil import MAX_YEAR, MIN_YEAR, now_utc
from .validation import row_id

PER_PAGE = 50
# Tabs in the order shown, each with the statuses it holds.
TABS = {
    "upcoming": WAITING,
    "publishing": ("publishing",),
    # Unknown outcomes need someone to look, like failures: they show together.
    "failed": ("failed", "unknown"),
    "published": ("published",),
    "cancelled": ("cancelled",),
}
TAB_OF = {s: tab for tab, statuses in TABS.items() for s in statuses}
OPEN_TABS = ("upcoming", "publishing")
SORTS = {"due": "Due time, earliest first", "-due": "Due time, latest first",
         "priority": "Priority, highest first", "channel": "Channel, A–Z"}
# Rows poll quickly while something is about to happen to them, slowly otherwise.
POLL_FAST, POLL_SLOW, SOON = 3, 60, timedelta(minutes=10)
SEARCH_MAX = 200
SEARCH_IDS = 2000  # matching posts looked up one by one; more are a subquery


@dataclass
class Filters:
    """The queue's tab, filters, sort and page, as the address gives them."""

    status: str = "upcoming"          # a tab, or one delivery status inside a tab
    channel_id: int | None = None
    campaign_id: int | None = None
    q: str = ""
    start: date | None = None
    end: date | None = None
    sort: str = "due"
    page: int = 1
    errors: dict = field(default_factory=dict)

    @property
    def tab(self) -> str:
        return self.status if self.status in TABS else TAB_OF[self.status]

    @property
    def statuses(self) -> tuple:
        return TABS.get(self.status, (self.status,))

    @property
    def default_sort(self) -> str:
        return "due" if self.tab in OPEN_TABS else "-due"

    @property
    def active(self) -> bool:
        """True when anything narrows the list besides the tab."""
        return bool(self.channel_id or self.campaign_id or self.q or self.start or self.end)

    def args(self, **changes) -> dict:
        """The query string for this view with `changes`, leaving out what is default."""
        values = {"status": self.status, "channel": self.channel_id,
                  "campaign": self.campaign_id, "q": self.q,
                  "from": self.start.isoformat() if self.start else None,
                  "to": self.end.isoformat() if self.end else None,
                  "sort": self.sort, "page": self.page}
        values.update(changes)
        if values["status"] == "upcoming":
            values["status"] = None
        tab = values["status"] or "upcoming"
        default = "due" if TAB_OF.get(tab, tab) in OPEN_TABS else "-due"
        if values["sort"] == default or values["sort"] not in SORTS:
            values["sort"] = None
        if values["page"] == 1:
            values["page"] = None
        return {k: v for k, v in values.items() if v not in (None, "")}


def _date(args, name: str, errors: dict) -> date | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw[:10]) if len(raw) == 10 else None
    except ValueError:
        value = None
    if value is None:
        errors[name] = "Enter a date like 2026-03-31."
    elif not MIN_YEAR <= value.year <= MAX_YEAR:
        errors[name] = f"Choose a date between the years {MIN_YEAR} and {MAX_YEAR}."
        value = None
    return value


def read_filters(args, channels: list[Channel], campaigns: list[Campaign],
                 page: int) -> Filters:
    """The queue's filters from a query string (`args`, a mapping). An unknown tab, channel,
    campaign or sort (only a hand-made address has one) is a DomainError (400); a date that cannot
    be read is named in `errors` and ignored."""
    f = Filters(page=page)
    status = args.get("status") or "upcoming"
    if status not in TABS and status not in DELIVERY_STATUSES:
        raise DomainError(f"Unknown status “{status[:40]}”.")
    f.status = status
    raw_channel = args.get("channel", "")
    if raw_channel:
        f.channel_id = row_id(raw_channel)
        if f.channel_id not in {c.id for c in channels}:
            raise DomainError("Unknown channel: choose one from the list.")
    raw_campaign = args.get("campaign", "")
    if raw_campaign:
        f.campaign_id = row_id(raw_campaign)
        if f.campaign_id not in {c.id for c in campaigns}:
            raise DomainError("Unknown campaign: choose one from the list.")
    f.q = " ".join(args.get("q", "").split())[:SEARCH_MAX]
    f.start, f.end = _date(args, "from", f.errors), _date(args, "to", f.errors)
    if f.start and f.end and f.end < f.start:
        f.errors["to"] = "The end date is before the start date."
        f.end = None
    sort = args.get("sort") or f.default_sort
    if sort not in SORTS:
        raise DomainError(f"Unknown sort “{sort[:40]}”.")
    f.sort = sort
    return f


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching_posts(workspace_id: int, q: str):
    """The posts whose title or text contains `q`: their ids when there are not many (the
    database then finds their deliveries by post, which is what makes a search fast), else
    a subquery."""
    pattern = _like(q)
    query = select(Post.id).where(Post.workspace_id == workspace_id, or_(
        Post.title.ilike(pattern, escape="\\"), Post.body.ilike(pattern, escape="\\")))
    ids = db.session.scalars(query.limit(SEARCH_IDS + 1)).all()
    return ids if len(ids) <= SEARCH_IDS else query


def narrowing(workspace_id: int, f: Filters, zone: ZoneInfo) -> list:
    """Every condition but the status (the tab counts use them too). Dates are calendar
    days in `zone`, on the delivery's due time."""
    posts = _matching_posts(workspace_id, f.q) if f.q else None
    if isinstance(posts, list):
        # Only this workspace's posts, so only its deliveries: the workspace condition
        # would only lead SQLite to scan the workspace instead of looking posts up.
        where = [Delivery.post_id.in_(posts)]
    else:
        where = [Delivery.workspace_id == workspace_id]
        if posts is not None:
            where.append(Delivery.post_id.in_(posts))
    if f.channel_id:
        where.append(Delivery.channel_id == f.channel_id)
    if f.campaign_id:
        where.append(Delivery.post_id.in_(select(Post.id).where(
            Post.campaign_id == f.campaign_id)))

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

    if f.start:
        where.append(Delivery.due_at >= midnight(f.start))
    if f.end:
        where.append(Delivery.due_at < midnight(f.end + timedelta(days=1)))
    return where


def _order(f: Filters) -> list:
    # What is still to come goes by when it is next tried; what is done by when it was due.
    when = Delivery.next_attempt_at if f.tab in OPEN_TABS else Delivery.due_at
    later_first = f.sort == "-due" or (f.sort != "due" and f.tab not in OPEN_TABS)
    by_time = [when.desc(), Delivery.id.desc()] if later_first else [when, Delivery.id]
    if f.sort == "priority":
        return [Delivery.priority.desc(), *by_time]
    if f.sort == "channel":
        return [Channel.name, Channel.id, *by_time]
    return by_time


def tab_counts(where: list) -> dict:
    """Deliveries per status under the current filters (one grouped query)."""
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    counts.update(db.session.execute(
        select(Delivery.status, func.count()).where(*where).group_by(Delivery.status)).all())
    return counts


def page_of_rows(workspace_id: int, f: Filters, where: list, offset: int) -> list[Delivery]:
    """One page of deliveries, in two steps: the ids (from the indexes alone, without the
    joins), then those rows with their post and channel."""
    query = select(Delivery.id).where(*where, Delivery.status.in_(f.statuses))
    if f.sort == "channel":
        query = query.join(Channel, Channel.id == Delivery.channel_id)
    ids = db.session.scalars(query.order_by(*_order(f)).limit(PER_PAGE).offset(offset)).all()
    if not ids:
        return []
    rows = db.session.scalars(select(Delivery).where(
        Delivery.id.in_(ids), Delivery.workspace_id == workspace_id).options(
        joinedload(Delivery.post).lazyload(Post.channels))).unique().all()
    by_id = {d.id: d for d in rows}
    return [by_id[i] for i in ids if i in by_id]


def poll_seconds(delivery: Delivery) -> int | None:
    """How often a row asks for its delivery again: never once it is final."""
    if delivery.status in FINAL:
        return None
    if delivery.status == "publishing" or delivery.next_attempt_at <= now_utc() + SOON:
        return POLL_FAST
    return POLL_SLOW


def post_paused(delivery: Delivery) -> bool:
    """Whether the delivery's post is paused (a schedule of it is)."""
    return any(s.status == "paused" for s in delivery.post.schedules)
