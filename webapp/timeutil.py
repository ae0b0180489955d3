"""Wall time + IANA zone in, aware UTC out; recurrence computed in the local zone.

The DST rule (one rule, everywhere): a wall time that does not exist because clocks spring
forward is moved forward by the length of the gap (02:30 becomes 03:30); a wall time that
happens twice because clocks fall back means the first of the two (the earlier instant).
Both cases are reported as warnings on the occurrence.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, HOURLY, MINUTELY, SECONDLY, WEEKLY, YEARLY, rrule, rrulestr

from .errors import ValidationError

SHORTHANDS = {"daily": "FREQ=DAILY", "weekly": "FREQ=WEEKLY", "monthly": "FREQ=MONTHLY"}
# Years outside this range cannot be converted between zones near the ends of datetime.
MIN_YEAR, MAX_YEAR = 1900, 9000
# The most days each month can have (February in a leap year).
MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30,
              12: 31}
# Bounds the work of expanding a rule that matches rarely (e.g. Feb 29 on a Monday).
MAX_SCAN = 100_000


def zone(name: str | None, field_name: str = "timezone") -> ZoneInfo:
    """The ZoneInfo for an IANA name, or a ValidationError naming the field."""
    if not name or not isinstance(name, str):
        raise ValidationError.field(field_name, "a timezone is required (e.g. Europe/Berlin)")
    if name.startswith(("/", ".")) or ".." in name or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name):
        raise ValidationError.field(field_name, f"unknown timezone '{name}'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError.field(field_name, f"unknown timezone '{name}'") from None


def parse_at(value, tz: ZoneInfo, field_name: str = "at") -> datetime:
    """Parse a schedule time: local wall time ("2026-12-01T09:00", in `tz`) or an instant
    with an offset or Z. Returns the naive wall time in `tz`."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.field(field_name, "a date and time is required (YYYY-MM-DDTHH:MM)")
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError.field(
            field_name, f"'{value}' is not a valid date and time (YYYY-MM-DDTHH:MM)"
        ) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValidationError.field(field_name, f"the year must be between {MIN_YEAR} and "
                                                f"{MAX_YEAR}")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(tz).replace(tzinfo=None)
    # Whole seconds: recurrence rules drop fractions, so one-offs do too.
    return parsed.replace(microsecond=0)


def parse_until(value, tz: ZoneInfo, field_name: str = "until") -> datetime | None:
    """`until` as a date (inclusive: the whole local day) or a local date-time."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError.field(field_name, f"'{value}' is not a valid date") from None
        return datetime.combine(day, time(23, 59, 59))
    return parse_at(value, tz, field_name)


@dataclass
class Occurrence:
    local: datetime  # aware, in the schedule's zone
    at: datetime  # aware UTC
    warnings: list[str] = field(default_factory=list)


def resolve(local: datetime, tz: ZoneInfo) -> Occurrence:
    """Turn a naive wall time into an instant by the DST rule in this module's docstring."""
    first = local.replace(tzinfo=tz, fold=0)
    at = first.astimezone(UTC)
    shown = at.astimezone(tz)
    warnings = []
    if shown.replace(tzinfo=None) != local:
        warnings.append(
            f"{local:%Y-%m-%d %H:%M} does not exist in {tz.key} (clocks spring forward); "
            f"it is published at {shown:%H:%M %Z} instead"
        )
    elif local.replace(tzinfo=tz, fold=1).utcoffset() != first.utcoffset():
        warnings.append(
            f"{local:%Y-%m-%d %H:%M} happens twice in {tz.key} (clocks fall back); "
            f"it is published at the first, {shown:%H:%M %Z}"
        )
    return Occurrence(local=shown, at=at, warnings=warnings)


def parse_recurrence(value, start_local: datetime, field_name: str = "recurrence") -> str | None:
    """Normalise a recurrence (shorthand or RRULE) to an RRULE body, or None for one-off."""
    if value in (None, "", "none"):
        return None
    if not isinstance(value, str):
        raise ValidationError.field(field_name, "recurrence must be a string")
    text = SHORTHANDS.get(value.strip().lower(), value.strip())
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "\n" in text or "DTSTART" in text.upper():
        raise ValidationError.field(field_name, "give a single RRULE, without DTSTART")
    try:
        rule = rrulestr(text, dtstart=start_local)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValidationError.field(field_name, f"invalid recurrence rule: {exc}") from None
    if not isinstance(rule, rrule):
        raise ValidationError.field(field_name, "give a single RRULE")
    if rule._freq == SECONDLY:
        raise ValidationError.field(field_name, "recurrence more frequent than every minute "
                                                "is not supported")
    if rule._interval < 1:
        raise ValidationError.field(field_name, "INTERVAL must be 1 or more")
    if _never_matches(rule):
        raise ValidationError.field(field_name, "no month has the days this rule asks for "
                                                "(the rule never matches)")
    return text.upper()


def _never_matches(rule: rrule) -> bool:
    """Whether no day can ever satisfy the rule's day filters. dateutil would search for
    such a day period by period (minute by minute for FREQ=MINUTELY) until the year 9999.

    The cheap case first: BYMONTH with BYMONTHDAY that no chosen month has (April 31st).
    Then, for rules finer than a month, the same day filters as a yearly rule: dateutil
    computes a whole year of days at once, so proving there is none takes a fraction of a
    second instead of hours."""
    months = rule._bymonth or range(1, 13)
    days = [abs(d) for d in (rule._bymonthday or ()) + (rule._bynmonthday or ())]
    if days and all(day > MONTH_DAYS[month] for month in months for day in days):
        return True
    if rule._freq not in (WEEKLY, DAILY, HOURLY, MINUTELY):
        return False
    if not any((rule._bymonth, rule._bymonthday, rule._bynmonthday, rule._byyearday,
                rule._byweekno)):
        return False
    yearly = rrule(
        YEARLY, dtstart=rule._dtstart.replace(hour=0, minute=0, second=0), count=1,
        bymonth=rule._bymonth or None,
        bymonthday=((rule._bymonthday or ()) + (rule._bynmonthday or ())) or None,
        byyearday=rule._byyearday or None, byweekno=rule._byweekno or None,
        byweekday=rule._byweekday or None)
    return next(iter(yearly), None) is None


@dataclass
class Pattern:
    """What a schedule means in time: start, zone, rule and its ends."""

    start_local: datetime  # naive wall time
    tz: ZoneInfo
    rrule: str | None = None
    until_local: datetime | None = None
    count: int | None = None

    def wall_times(self, after: datetime | None = None) -> Iterator[datetime]:
        """Naive local occurrences, strictly after `after` (naive local) when given."""
        if self.rrule is None:
            times = iter([self.start_local])
        else:
            rule = rrulestr(self.rrule, dtstart=self.start_local)
            if self.count is None and after is not None:
                # Jump straight past `after`: minutely rules run for years.
                times = rule.xafter(after, inc=False)
            else:
                times = iter(rule)
        if self.count is not None:
            # COUNT counts from the start, so this path walks from the start.
            times = islice(times, self.count)
        scanned = 0
        for local in times:
            scanned += 1
            if scanned > MAX_SCAN:
                return
            if self.until_local is not None and local > self.until_local:
                return
            if after is not None and local <= after:
                continue
            yield local

    def occurrences(self, after_local: datetime | None = None, limit: int = 10,
                    until_utc: datetime | None = None) -> list[Occurrence]:
        found = []
        for local in self.wall_times(after_local):
            occ = resolve(local, self.tz)
            if until_utc is not None and occ.at > until_utc:
                break
            found.append(occ)
            if len(found) >= limit:
                break
        return found

    def upcoming(self, now: datetime, limit: int = 10) -> list[Occurrence]:
        """The next `limit` occurrences after the instant `now`."""
        end = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)
        return self.between(now, end, limit, exclusive_start=True)

    def between(self, start_utc: datetime, end_utc: datetime, limit: int = 5000,
                exclusive_start: bool = False) -> list[Occurrence]:
        """Occurrences with start_utc <= at < end_utc (bounded by `limit`)."""
        # A day of margin either side covers any UTC offset.
        after = (start_utc.astimezone(self.tz) - timedelta(days=1)).replace(tzinfo=None)
        found = []
        for local in self.wall_times(after):
            occ = resolve(local, self.tz)
            if occ.at >= end_utc:
                break
            if occ.at > start_utc or (occ.at == start_utc and not exclusive_start):
                found.append(occ)
                if len(found) >= limit:
                    break
        return found


def iso_utc(value: datetime | None) -> str | None:
    """Instants in responses: ISO 8601 UTC with Z."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def now_utc() -> datetime:
    return datetime.now(UTC)


def common_zones() -> list[tuple[str, str]]:
    """Every IANA zone name, for pickers (sorted, UTC first)."""
    from zoneinfo import available_timezones

    names = sorted(z for z in available_timezones() if "/" in z and not z.startswith(
        ("Etc/", "SystemV/", "posix/", "right/")))
    return [("UTC", "UTC")] + [(n, n.replace("_", " ")) for n in names]
