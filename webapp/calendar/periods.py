"""The calendar's URL: view, date, zone and filters, read and checked, and the days and
instants a view covers.

Weeks start on Monday. The month view always shows six weeks (the Monday on or before the
1st and the 41 days after it), so the day after the last of the month is always visible.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from ..errors import ValidationError
from ..services.calendar import STATUSES
from ..services.validation import row_id
from ..timeutil import MAX_YEAR, MIN_YEAR, common_zones, resolve, zone

VIEWS = ("month", "week", "day")
COLOR_BY = ("channel", "campaign")
# Far enough for any plan, and clear of the ends of the calendar (where UTC offsets overflow).
FIRST, LAST = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)


@cache
def zone_choices() -> tuple[tuple[str, str], ...]:
    """The zone switch's options (reading the tz database is slow, so once per process)."""
    return tuple(common_zones())


@dataclass
class State:
    """What the URL asks for, after checking. `errors` says what was wrong (and ignored)."""

    view: str
    day: date
    tz: ZoneInfo
    channel_id: int | None = None
    status: str | None = None
    campaign_id: int | None = None
    color_by: str = "channel"
    errors: list[str] = field(default_factory=list)

    def params(self, **changes) -> dict:
        """Query parameters for url_for (filters only when set)."""
        values = {"view": self.view, "date": self.day.isoformat(), "tz": self.tz.key,
                  "channel": self.channel_id, "status": self.status,
                  "campaign": self.campaign_id,
                  "color": self.color_by if self.color_by != "channel" else None}
        values.update(changes)
        return {k: v for k, v in values.items() if v is not None}


def read(args, default_zone: ZoneInfo, today: date | None = None) -> State:
    """The calendar state from request args. Bad values fall back to defaults, each with a
    message (so a hand-edited URL gets an explanation, never a 500)."""
    errors = []
    tz = default_zone
    if args.get("tz"):
        try:
            tz = zone(args.get("tz"), "tz")
        except ValidationError:
            errors.append(f"Unknown time zone “{args.get('tz')[:60]}”: showing "
                          f"{default_zone.key} instead. Choose a zone from the list.")
    view = args.get("view") or "month"
    if view not in VIEWS:
        errors.append(f"Unknown view “{view[:20]}”: choose month, week or day.")
        view = "month"
    today = today or datetime.now(tz).date()
    day = today
    if args.get("date"):
        try:
            day = date.fromisoformat(args.get("date"))
            if not FIRST <= day <= LAST:
                raise ValueError
        except ValueError:
            errors.append(f"“{args.get('date')[:20]}” is not a date the calendar shows "
                          f"(YYYY-MM-DD, {FIRST.year}–{LAST.year}): showing today.")
            day = today
    state = State(view, day, tz, errors=errors)
    state.status = args.get("status") or None
    if state.status is not None and state.status not in STATUSES:
        errors.append(f"Unknown status “{state.status[:20]}”: showing every status.")
        state.status = None
    state.color_by = args.get("color") or "channel"
    if state.color_by not in COLOR_BY:
        errors.append("Colours follow the channel or the campaign: showing channels.")
        state.color_by = "channel"
    for name, attr in (("channel", "channel_id"), ("campaign", "campaign_id")):
        raw = args.get(name) or ""
        if raw:
            if row_id(raw) is not None:
                setattr(state, attr, row_id(raw))
            else:
                errors.append(f"Unknown {name} “{raw[:20]}”: showing every {name}.")
    return state


@dataclass
class Period:
    days: list[date]
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive
    title: str
    previous: date
    next: date
    month: int


def period(state: State) -> Period:
    day = state.day
    if state.view == "month":
        first = day.replace(day=1)
        begin = first - timedelta(days=first.weekday())
        days = [begin + timedelta(days=n) for n in range(42)]
        previous = (first - timedelta(days=1)).replace(day=1)
        following = (first + timedelta(days=31)).replace(day=1)
        title = f"{first:%B %Y}"
    elif state.view == "week":
        begin = day - timedelta(days=day.weekday())
        days = [begin + timedelta(days=n) for n in range(7)]
        previous, following = day - timedelta(days=7), day + timedelta(days=7)
        end = days[-1]
        title = (f"{begin:%d %b} – {end:%d %b %Y}" if begin.year == end.year
                 else f"{begin:%d %b %Y} – {end:%d %b %Y}")
        title = f"Week {begin.isocalendar().week}: {title}"
    else:
        days = [day]
        previous, following = day - timedelta(days=1), day + timedelta(days=1)
        title = f"{day:%A %d %B %Y}"
    return Period(days, midnight(days[0], state.tz), midnight(days[-1] + timedelta(days=1),
                                                                state.tz),
                  title, max(previous, FIRST), min(following, LAST), day.month)


def midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant a local day starts (a day starting in a DST gap starts at its end)."""
    return resolve(datetime.combine(day, time()), tz).at
