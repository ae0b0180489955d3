"""Schedule input: wall time + zone + recurrence, validated into Schedule fields.

`parse` holds every rule a schedule must satisfy; the API, the composer, the CSV import and
calendar moves all go through it, so they accept and refuse the same schedules."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice, takewhile
from zoneinfo import ZoneInfo

from ..errors import ValidationError
from ..timeutil import (
    MAX_COUNT,
    Occurrence,
    Pattern,
    now_utc,
    parse_at,
    parse_recurrence,
    parse_until,
    resolve,
    zone,
)
from .validation import Errors, integer

# Occurrences a rule may have in its first week (every 10 minutes is too often, every 15 is
# fine): more would flood every channel, the queue and the calendar with one post.
MAX_OCCURRENCES_IN_WINDOW = 1000
WINDOW = timedelta(days=7)


@dataclass
class ScheduleSpec:
    """A schedule as read and checked from input, before it is stored."""

    start_local: datetime  # naive wall time; fold=1 for the second of a repeated time
    timezone: str
    rrule: str | None
    until_local: datetime | None
    count: int | None
    action: str = "publish"
    # When the published post is removed again (one-off schedules only), as wall time.
    unpublish_local: datetime | None = None

    @property
    def pattern(self) -> Pattern:
        return Pattern(self.start_local, ZoneInfo(self.timezone), self.rrule, self.until_local,
                       self.count)

    def columns(self) -> dict:
        """The Schedule columns this spec sets."""
        return {"start_local": self.start_local, "start_fold": bool(self.start_local.fold),
                "timezone": self.timezone, "rrule": self.rrule,
                "until_local": self.until_local,
                "until_fold": bool(self.until_local.fold) if self.until_local else False,
                "count": self.count, "action": self.action,
                "unpublish_local": self.unpublish_local,
                "unpublish_fold": bool(self.unpublish_local.fold)
                if self.unpublish_local else False}


def parse(data, errors: Errors, prefix: str = "schedule.") -> ScheduleSpec | None:
    """Validate a schedule object (API shape). Adds field errors; None when invalid."""
    if not isinstance(data, dict):
        errors.add(prefix.rstrip("."), "must be an object with at, timezone, recurrence...")
        return None
    before = len(errors.fields)
    tz = None
    try:
        tz = zone(data.get("timezone"), prefix + "timezone")
    except ValidationError as exc:
        errors.capture(exc)
    action = data.get("action", "publish")
    if action != "publish":
        errors.add(prefix + "action", "only 'publish' schedules are supported")
    count = integer(data.get("count"), prefix + "count", errors, low=1, high=MAX_COUNT)
    if tz is None:
        return None
    start = rrule = until = None
    try:
        start = parse_at(data.get("at"), tz, prefix + "at")
        rrule = parse_recurrence(data.get("recurrence"), start, prefix + "recurrence")
    except ValidationError as exc:
        errors.capture(exc)
    try:
        until = parse_until(data.get("until"), tz, prefix + "until")
    except ValidationError as exc:
        errors.capture(exc)
    unpublish = None
    if data.get("unpublish_at") not in (None, ""):
        try:
            unpublish = parse_at(data.get("unpublish_at"), tz, prefix + "unpublish_at")
        except ValidationError as exc:
            errors.capture(exc)
    if len(errors.fields) > before:
        return None
    now = now_utc()
    given = resolve(start, tz)
    if given.at <= now:
        errors.add(prefix + "at", f"{given.local:%Y-%m-%d %H:%M %Z} is in the past")
        return None
    if until is not None and resolve(until, tz).at < given.at:
        errors.add(prefix + "until", "is before the first occurrence")
        return None
    if unpublish is not None:
        if rrule is not None:
            errors.add(prefix + "unpublish_at",
                       "only a one-off post can be removed at a set time; a recurring "
                       "schedule publishes again and again (remove the recurrence, or "
                       "leave unpublish_at out)")
            return None
        if resolve(unpublish, tz).at <= given.at:
            errors.add(prefix + "unpublish_at", "must be after the post goes out (at)")
            return None
    spec = ScheduleSpec(start, tz.key, rrule, until, count, unpublish_local=unpublish)
    first = first_occurrence(spec)
    if first is None:
        errors.add(prefix + "recurrence", "the schedule has no occurrence")
        return None
    if _too_many(spec.pattern, first):
        errors.add(prefix + "recurrence",
                   f"repeats more than {MAX_OCCURRENCES_IN_WINDOW} times in {WINDOW.days} "
                   "days; choose a longer interval")
        return None
    return spec


def first_occurrence(spec: ScheduleSpec) -> Occurrence | None:
    """The schedule's first occurrence (None: the rule never fires)."""
    found = spec.pattern.occurrences(limit=1)
    return found[0] if found else None


def _too_many(pattern: Pattern, first: Occurrence) -> bool:
    """Whether the rule has more than MAX_OCCURRENCES_IN_WINDOW occurrences in the WINDOW
    from its first."""
    end = first.at + WINDOW
    within = takewhile(lambda o: o.at <= end,
                       islice(pattern.iterate(), MAX_OCCURRENCES_IN_WINDOW + 1))
    return sum(1 for _ in within) > MAX_OCCURRENCES_IN_WINDOW
