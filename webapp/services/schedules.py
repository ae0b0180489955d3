"""Schedule input: wall time + zone + recurrence, validated into Schedule fields."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..errors import ValidationError
from ..timeutil import Occurrence, Pattern, now_utc, parse_at, parse_recurrence, parse_until, zone
from .validation import Errors, integer

MAX_COUNT = 10_000


@dataclass
class ScheduleSpec:
    start_local: datetime
    timezone: str
    rrule: str | None
    until_local: datetime | None
    count: int | None
    action: str = "publish"

    @property
    def pattern(self) -> Pattern:
        return Pattern(self.start_local, ZoneInfo(self.timezone), self.rrule, self.until_local,
                       self.count)


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
        until = parse_until(data.get("until"), tz, prefix + "until")
    except ValidationError as exc:
        errors.capture(exc)
    if len(errors.fields) > before:
        return None
    if until is not None and until < start:
        errors.add(prefix + "until", "is before the first occurrence")
        return None
    spec = ScheduleSpec(start, tz.key, rrule, until, count)
    first = first_occurrence(spec)
    if first is None:
        errors.add(prefix + "recurrence", "the schedule has no occurrence")
    elif first.at <= now_utc():
        errors.add(prefix + "at", f"{first.local:%Y-%m-%d %H:%M %Z} is in the past")
    return None if len(errors.fields) > before else spec


def first_occurrence(spec: ScheduleSpec) -> Occurrence | None:
    found = spec.pattern.occurrences(limit=1)
    return found[0] if found else None
