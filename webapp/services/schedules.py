"""Schedule input: wall time + zone + recurrence, validated into Schedule fields."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import takewhile
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from flask import current_app

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


YEAR = re.compile(r"\s*(\d{4})-")
ZERO_INTERVAL = re.compile(r"(?:^|;)\s*INTERVAL\s*=\s*0*\s*(?:;|$)", re.I)
# Occurrences a rule may have within the materialisation window (HERALD_MATERIALIZE_DAYS).
MAX_OCCURRENCES_IN_WINDOW = 1000


def guard(schedule: dict, errors: dict, prefix: str = "schedule.") -> None:
    """Refuse the few inputs `parse()` accepts but a page cannot handle in one request
    (the composer and the CSV import call this before `parse()`, and skip `parse()` when it
    finds something): years near the ends of the calendar overflow when converted to UTC,
    INTERVAL=0 makes dateutil repeat the same instant forever, and a rule with thousands of
    occurrences a week writes thousands of delivery rows while the request waits."""
    for key, value in (("at", schedule.get("at")), ("until", schedule.get("until"))):
        year = YEAR.match(value or "")
        if year and not 1900 <= int(year.group(1)) <= 9998:
            errors.setdefault(prefix + key, "choose a year between 1900 and 9998")
    rule = schedule.get("recurrence")
    if not rule or rule in ("daily", "weekly", "monthly"):
        return
    if ZERO_INTERVAL.search(rule):
        errors.setdefault(prefix + "recurrence", "INTERVAL must be 1 or more")
        return
    if prefix + "at" in errors:
        return
    try:
        start = datetime.fromisoformat(schedule["at"].replace(" ", "T", 1)).replace(tzinfo=None)
        times = rrulestr(rule.removeprefix("RRULE:"), dtstart=start)
        days = current_app.config["HERALD_MATERIALIZE_DAYS"]
        end = start + timedelta(days=days)
        many = sum(1 for _ in takewhile(lambda t: t <= end, times.xafter(
            start, count=MAX_OCCURRENCES_IN_WINDOW + 1, inc=True)))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
        return  # not a rule or time parse() accepts: it says why
    if many > MAX_OCCURRENCES_IN_WINDOW:
        errors.setdefault(prefix + "recurrence",
                          f"repeats more than {MAX_OCCURRENCES_IN_WINDOW} times in {days} days; "
                          "choose a longer interval")
