"""Wall time + IANA zone in, aware UTC out; recurrence computed in the local zone.

The DST rule (one rule, everywhere): a wall time that does not exist because clocks spring
forward is moved forward by the length of the gap (02:30 becomes 03:30); a wall time that
happens twice because clocks fall back means the first of the two (the earlier instant).
Both cases are reported as warnings on the occurrence.
"""

import difflib
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import islice
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter
from dateutil.rrule import DAILY, HOURLY, MINUTELY, WEEKLY, YEARLY, rrule, rrulestr

from .errors import ValidationError

SHORTHANDS = {"daily": "FREQ=DAILY", "weekly": "FREQ=WEEKLY", "monthly": "FREQ=MONTHLY"}
# The years a date may have, everywhere (API, composer, CSV, calendar moves): beyond them,
# converting between zones overflows near the ends of datetime.
MIN_YEAR, MAX_YEAR = 1900, 9998
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The most days each month can have (February in a leap year).
MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30,
              12: 31}
# Bounds the work of expanding a rule that matches rarely (e.g. Feb 29 on a Monday).
MAX_SCAN = 100_000
# A series' COUNT, in the rule or beside it.
MAX_COUNT = 10_000
# The recurrence column's size.
MAX_RULE_LENGTH = 500
# RFC 5545 3.3.10: the parts a RRULE may have, each at most once.
RULE_PARTS = ("FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
              "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")
RULE_UNTIL = re.compile(r"(\d{8})(?:T(\d{6})(Z)?)?")
# The input forms beside RRULEs ("weekly:monday,thursday", "monthly:31", "cron:0 9 * * 1-5"),
# stored as written by `parse_recurrence` (canonical) and expanded by `Pattern`.
FORMS = ("weekly:", "monthly:", "cron:")
WEEKDAY_CODES = {"monday": "MO", "tuesday": "TU", "wednesday": "WE", "thursday": "TH",
                 "friday": "FR", "saturday": "SA", "sunday": "SU"}
WEEKDAY_NAMES = {**{name: name for name in WEEKDAY_CODES},
                 **{name[:3]: name for name in WEEKDAY_CODES}}
# The words each cron field may hold (besides digits and * / , -): month and weekday names,
# L (last) and # (nth weekday). Not H (hashed) or R (random): a schedule must be the same
# every time it is computed.
CRON_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
CRON_WORDS = (set(), set(), {"l"},
              {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
               "dec"},
              {"sun", "mon", "tue", "wed", "thu", "fri", "sat", "l"})
CRON_FIELD = re.compile(r"[0-9A-Za-z*/,#-]+")


def use_packaged_tzdata() -> None:
    """Read zones from the `tzdata` package only, never from the host's /usr/share/zoneinfo:
    hosts carry different releases of the tz database, and every process of an installation
    must turn the same wall time into the same instant. Called by create_app, so every web,
    worker and scheduler process does it before it reads a zone."""
    zoneinfo.reset_tzpath(to=[])
    ZoneInfo.clear_cache()
    zone_names.cache_clear()


def tzdata_version() -> str:
    """The release of the tz database in use (e.g. 2026a)."""
    import tzdata

    return tzdata.IANA_VERSION


@cache
def zone_names() -> frozenset[str]:
    """The zones people can choose (the pickers offer exactly these): IANA's Area/Location
    names and UTC. Not `posix/...` or `right/...` (leap-second clocks, seconds off), not
    `localtime` or `posixrules` (whatever the host says), not `Factory` or `Etc/...`."""
    names = {z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(
        ("Etc/", "SystemV/", "posix/", "right/"))}
    return frozenset(names | {"UTC"})


def zone(name: str | None, field_name: str = "timezone") -> ZoneInfo:
    """The ZoneInfo for an IANA name the pickers offer, or a ValidationError naming the field."""
    if not name or not isinstance(name, str):
        raise ValidationError.field(field_name, "a timezone is required (e.g. Europe/Berlin)")
    if name not in zone_names():
        shown = name if name.isprintable() and len(name) <= 64 else name[:64].encode(
            "ascii", "backslashreplace").decode()
        raise ValidationError.field(field_name, f"unknown timezone “{shown}”")
    return ZoneInfo(name)


def _check_year(value: date, field_name: str) -> None:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError.field(field_name, f"choose a year between {MIN_YEAR} and "
                                                f"{MAX_YEAR}")


def parse_at(value, tz: ZoneInfo, field_name: str = "at") -> datetime:
    """Parse a schedule time: local wall time ("2026-12-01T09:00", in `tz`) or an instant
    with an offset or Z. Returns the naive wall time in `tz`, exact to the microsecond.

    An instant in the second pass of a repeated hour (fall back) comes back with fold=1, so
    `resolve` turns it into that same instant again, not the first of the two."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.field(field_name, "a date and time is required (YYYY-MM-DDTHH:MM)")
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise ValidationError.field(
            field_name, f"“{shown}” is not a valid date and time (YYYY-MM-DDTHH:MM)") from None
    _check_year(parsed, field_name)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(tz).replace(tzinfo=None)
    return parsed


def parse_date(value, field_name: str) -> date | None:
    """A calendar date as YYYY-MM-DD (a campaign's start or end), or None when not given."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not DATE.fullmatch(value.strip()):
        shown = value[:40] if isinstance(value, str) else type(value).__name__
        raise ValidationError.field(field_name, f"“{shown}” is not a valid date (YYYY-MM-DD)")
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError.field(field_name, f"“{value.strip()}” is not a valid date "
                                                "(YYYY-MM-DD)") from None
    _check_year(day, field_name)
    return day


def parse_until(value, tz: ZoneInfo, field_name: str = "until") -> datetime | None:
    """`until` as a date (2027-03-10 or 20270310: the whole local day, inclusive), a local
    date-time, or an instant (kept exactly, as `parse_at` does)."""
    if value in (None, ""):
        return None
    if isinstance(value, str) and "T" not in value.strip().upper() and " " not in value.strip():
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError.field(field_name, f"“{value[:40]}” is not a valid date "
                                                    "(YYYY-MM-DD)") from None
        _check_year(day, field_name)
        return end_of_day(day)
    return parse_at(value, tz, field_name)


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max)


@dataclass
class Occurrence:
    local: datetime  # aware, in the schedule's zone
    at: datetime  # aware UTC
    warnings: list[str] = field(default_factory=list)
    # The naive wall time the rule gave (02:30 for a 02:30 moved to 03:30 by a gap).
    wall: datetime | None = None

    def __post_init__(self):
        if self.wall is None:
            self.wall = self.local.replace(tzinfo=None)


def resolve(local: datetime, tz: ZoneInfo) -> Occurrence:
    """Turn a naive wall time into an instant by the DST rule in this module's docstring.
    A repeated wall time with fold=1 (an instant the user gave, see parse_at) is the second
    of the two."""
    wall = local.replace(fold=0)
    first = wall.replace(tzinfo=tz).astimezone(UTC)
    shown = first.astimezone(tz)
    if shown.replace(tzinfo=None) != wall:
        return Occurrence(local=shown, at=first, wall=local, warnings=[
            f"{local:%Y-%m-%d %H:%M} does not exist in {tz.key} (clocks spring forward); "
            f"it is published at {shown:%H:%M %Z} instead"])
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if second == first:
        return Occurrence(local=shown, at=first, wall=local)
    if local.fold:
        at = second.astimezone(tz)
        return Occurrence(local=at, at=second, wall=local, warnings=[
            f"{local:%Y-%m-%d %H:%M} happens twice in {tz.key} (clocks fall back); "
            f"it is published at the second, {at:%H:%M %Z}, the instant given"])
    return Occurrence(local=shown, at=first, wall=local, warnings=[
        f"{local:%Y-%m-%d %H:%M} happens twice in {tz.key} (clocks fall back); "
        f"it is published at the first, {shown:%H:%M %Z}"])


def rule_parts(text: str) -> dict[str, str]:
    """A RRULE body split into its parts ({"FREQ": "DAILY", ...}); ValueError says what is
    wrong with it."""
    parts: dict[str, str] = {}
    for piece in text.split(";"):
        name, equals, value = piece.strip().partition("=")
        name, value = name.strip().upper(), value.strip().upper()
        if not equals or not name or not value:
            raise ValueError(f"“{piece.strip()[:30]}” is not NAME=VALUE")
        if name not in RULE_PARTS:
            raise ValueError(f"unknown rule part “{name[:30]}” (a rule may have "
                             f"{', '.join(RULE_PARTS)})")
        if name in parts:
            raise ValueError(f"{name} is given twice")
        parts[name] = value
    return parts


def rule_until(value: str, tz: ZoneInfo) -> datetime:
    """A rule's UNTIL as a naive wall time in `tz`: a date is its whole day; a UTC date-time
    (...Z, RFC 5545 3.3.10) is that instant (fold kept); a floating one is local."""
    found = RULE_UNTIL.fullmatch(value)
    if not found:
        raise ValueError(f"UNTIL={value[:30]} is not a date (20270310) or a date-time "
                         "(20270310T140000Z)")
    day, clock, utc = found.groups()
    parsed = datetime.strptime(day + (clock or ""), "%Y%m%d%H%M%S" if clock else "%Y%m%d")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"the year of UNTIL must be between {MIN_YEAR} and {MAX_YEAR}")
    if not clock:
        return end_of_day(parsed.date())
    if utc:
        return parsed.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)
    return parsed


def parse_recurrence(value, start_local: datetime, field_name: str = "recurrence") -> str | None:
    """Normalise a recurrence (shorthand or RRULE) to an RRULE body, or None for one-off.
    The rules here are the only ones: the API, the composer and the CSV import all call it."""
    if value in (None, "", "none"):
        return None
    if not isinstance(value, str):
        raise ValidationError.field(field_name, "recurrence must be a string")

    def refuse(message: str):
        return ValidationError.field(field_name, message)

    if len(value) > MAX_RULE_LENGTH:
        raise refuse(f"is {len(value)} characters; at most {MAX_RULE_LENGTH}")
    if value.strip().lower().startswith(FORMS):
        return _parse_form(value.strip(), start_local, refuse)
    text = SHORTHANDS.get(value.strip().lower(), value.strip())
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "\n" in text or ":" in text:
        raise refuse("give a single RRULE (such as FREQ=WEEKLY;BYDAY=MO); DTSTART, EXDATE "
                     "and RDATE are not supported")
    if "=" not in text:
        raise refuse(f"invalid recurrence “{value.strip()[:30]}”: use daily, weekly, monthly, "
                     "weekly:monday, monthly:1, cron:0 9 * * 1-5 or an RRULE such as "
                     "FREQ=WEEKLY;BYDAY=MO,TH")
    try:
        parts = rule_parts(text)
        if "FREQ" not in parts:
            raise ValueError("FREQ is required (e.g. FREQ=DAILY)")
        if "COUNT" in parts and "UNTIL" in parts:
            raise ValueError("a rule ends with COUNT or with UNTIL, not both (RFC 5545)")
        if "COUNT" in parts and not (parts["COUNT"].isascii() and parts["COUNT"].isdigit()
                                     and 1 <= int(parts["COUNT"]) <= MAX_COUNT):
            raise ValueError(f"COUNT must be a whole number from 1 to {MAX_COUNT}")
        if "UNTIL" in parts:
            rule_until(parts["UNTIL"], ZoneInfo("UTC"))
        if "INTERVAL" in parts and not (parts["INTERVAL"].isascii() and parts["INTERVAL"].isdigit()
                                        and int(parts["INTERVAL"]) >= 1):
            raise ValueError("INTERVAL must be 1 or more")
        if parts["FREQ"] == "SECONDLY" or "," in parts.get("BYSECOND", ""):
            raise ValueError("recurrence more frequent than every minute is not supported")
        rule = rrulestr(_body(parts), dtstart=start_local.replace(microsecond=0, fold=0))
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise refuse(f"invalid recurrence rule: {exc}") from None
    if not isinstance(rule, rrule):
        raise refuse("give a single RRULE")
    if _never_matches(rule):
        raise refuse("no month has the days this rule asks for (the rule never matches)")
    return ";".join(f"{name}={value}" for name, value in parts.items())


def _parse_form(text: str, start_local: datetime, refuse) -> str:
    """`weekly:<days>`, `monthly:<day>` or `cron:<5 fields>`, checked, in the canonical form
    that is stored (lower case, full weekday names, single spaces)."""
    kind, _, rest = text.partition(":")
    kind, rest = kind.lower(), rest.strip()
    if kind == "weekly":
        names = []
        for raw in rest.split(","):
            word = raw.strip().lower()
            if word not in WEEKDAY_NAMES:
                shown = raw.strip()[:20] or "(empty)"
                close = difflib.get_close_matches(word, list(WEEKDAY_CODES), n=1, cutoff=0.5)
                hint = f"; did you mean {close[0]}?" if close else (
                    ": use monday … sunday or mon … sun, separated by commas")
                raise refuse(f"unknown weekday “{shown}” in {text[:40]}{hint}")
            if WEEKDAY_NAMES[word] not in names:
                names.append(WEEKDAY_NAMES[word])
        return "weekly:" + ",".join(names)
    if kind == "monthly":
        day = rest[1:] if rest.startswith("-") else rest
        if not (day.isascii() and day.isdigit()) or not (
                1 <= int(rest) <= 31 or int(rest) == -1):
            raise refuse(f"monthly:{rest[:20]} is not a day: use monthly:1 to monthly:31, or "
                         "monthly:-1 for the last day of the month")
        return f"monthly:{int(rest)}"
    fields = rest.split()
    if len(fields) != 5:
        raise refuse(f"cron takes 5 fields (minute hour day-of-month month day-of-week), "
                     f"not {len(fields)}: seconds, years and @-names are not supported")
    for name, words, value in zip(CRON_FIELDS, CRON_WORDS, fields, strict=True):
        if not CRON_FIELD.fullmatch(value) or not set(
                re.findall(r"[a-z]+", value.lower())) <= words:
            raise refuse(f"invalid cron {name} “{value[:20]}”")
    expression = " ".join(fields).lower()
    try:
        if not croniter.is_valid(expression):
            raise ValueError
        times = croniter(expression, start_local.replace(second=0, microsecond=0, fold=0))
        times.get_next(datetime)
    except CroniterError as exc:
        if "find next date" in str(exc):
            raise refuse(f"cron:{expression} never matches (no month has that day)") from None
        raise refuse(f"invalid cron expression “{expression[:40]}”") from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        raise refuse(f"invalid cron expression “{expression[:40]}”") from None
    return "cron:" + expression


def form_rule(rule: str) -> str:
    """The RRULE body a stored `weekly:` or `monthly:` form means.

    `monthly:N` for a day some months lack (29–31) is the last of days 28..N each month
    (BYSETPOS=-1): 31 is Jan 31, Feb 28 or 29, Apr 30; a plain BYMONTHDAY=31 would skip
    the months without one."""
    kind, _, rest = rule.partition(":")
    if kind == "weekly":
        return "FREQ=WEEKLY;BYDAY=" + ",".join(WEEKDAY_CODES[d] for d in rest.split(","))
    day = int(rest)
    if day <= 28:
        return f"FREQ=MONTHLY;BYMONTHDAY={day}"
    return f"FREQ=MONTHLY;BYMONTHDAY={','.join(map(str, range(28, day + 1)))};BYSETPOS=-1"


def _body(parts: dict[str, str]) -> str:
    """The parts dateutil expands; COUNT and UNTIL are applied by Pattern."""
    return ";".join(f"{k}={v}" for k, v in parts.items() if k not in ("COUNT", "UNTIL"))


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
    """What a schedule means in time: start, zone, rule and its ends.

    `start_local` and `until_local` are naive wall times, exact to the microsecond (a
    fraction of a second applies to every occurrence), with fold=1 for the second of a
    repeated wall time. COUNT and UNTIL may stand in the rule or beside it; with both,
    whichever ends the series first."""

    start_local: datetime
    tz: ZoneInfo
    rrule: str | None = None
    until_local: datetime | None = None
    count: int | None = None

    def __post_init__(self):
        self._body, self._count, untils = None, self.count, [self.until_local]
        self._cron = None
        if self.rrule is not None and self.rrule.startswith("cron:"):
            self._cron = self.rrule[5:]
        elif self.rrule is not None:
            text = form_rule(self.rrule) if self.rrule.startswith(FORMS) else self.rrule
            parts = rule_parts(text)
            self._body = _body(parts)
            if "COUNT" in parts:
                self._count = min(int(parts["COUNT"]), self._count or MAX_COUNT)
            if "UNTIL" in parts:
                untils.append(rule_until(parts["UNTIL"], self.tz))
        ends = [resolve(u, self.tz).at for u in untils if u is not None]
        self._until_at = min(ends) if ends else None

    def wall_times(self, after: datetime | None = None) -> Iterator[datetime]:
        """Naive local times of the rule, strictly after `after` (naive local) when given.
        (Two of them may be the same instant: see `iterate`.)"""
        if self._cron is not None:
            yield from self._cron_times(after)
            return
        if self._body is None:
            times = iter([self.start_local])
        else:
            rule = rrulestr(self._body, dtstart=self.start_local.replace(microsecond=0, fold=0))
            if self._count is None and after is not None:
                # Jump straight past `after`: minutely rules run for years.
                times = rule.xafter(after.replace(microsecond=0), inc=True)
            else:
                times = iter(rule)
        if self._count is not None:
            # COUNT counts from the start, so this path walks from the start.
            times = islice(times, self._count)
        fraction = self.start_local.microsecond
        scanned = 0
        for local in times:
            scanned += 1
            if scanned > MAX_SCAN:
                return
            local = local.replace(microsecond=fraction)
            if local == self.start_local:
                local = self.start_local  # keeps its fold
            if after is not None and local <= after:
                continue
            yield local

    def _cron_times(self, after: datetime | None) -> Iterator[datetime]:
        """The cron expression's wall times (whole minutes, naive, in the zone) from the
        start on, strictly after `after` when given. They become instants by the same DST
        rule as RRULE occurrences (`resolve`, through `iterate`)."""
        begin = self.start_local
        if after is not None and self._count is None and after > begin:
            begin = after
        # croniter gives times strictly after its base: a minute before `begin` catches a
        # match at `begin` itself.
        base = begin.replace(second=0, microsecond=0, fold=0) - timedelta(minutes=1)
        try:
            times = croniter(self._cron, base)
        except (CroniterError, ValueError):
            return
        produced = 0
        for _ in range(MAX_SCAN):
            try:
                local = times.get_next(datetime)
            except (CroniterError, ValueError, OverflowError):  # the end of the calendar
                return
            if local < self.start_local:
                continue
            if local == self.start_local:
                local = self.start_local  # keeps its fold
            produced += 1
            if self._count is not None and produced > self._count:
                return
            if after is not None and local <= after:
                continue
            yield local

    def iterate(self, after: Occurrence | None = None) -> Iterator[Occurrence]:
        """The occurrences in order, strictly after `after` when given, up to the end of
        the series. Each instant comes once (RFC 5545: duplicates are ignored): a wall time
        in a spring-forward gap moves onto the next hour's instants, and a repeated wall
        time whose first instant is already behind the series is its second one."""
        last = after.at if after else None
        start = after.wall if after else None
        for local in self.wall_times(start):
            occurrence = resolve(local, self.tz)
            if last is not None and occurrence.at <= last:
                occurrence = resolve(local.replace(fold=1), self.tz)
                if occurrence.at <= last:
                    continue
            if self._until_at is not None and occurrence.at > self._until_at:
                return
            last = occurrence.at
            yield occurrence

    def occurrences(self, limit: int = 10, until_utc: datetime | None = None
                    ) -> list[Occurrence]:
        found = []
        for occ in self.iterate():
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
        margin = start_utc - timedelta(days=1)
        after = Occurrence(margin.astimezone(self.tz), margin)
        found = []
        for occ in self.iterate(after):
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
    """The zones for pickers (sorted, UTC first): exactly those `zone()` accepts."""
    names = sorted(zone_names() - {"UTC"})
    return [("UTC", "UTC")] + [(n, n.replace("_", " ")) for n in names]


# Describing rules in words ------------------------------------------------------------------

DAY_NAMES = {"MO": "Mon", "TU": "Tue", "WE": "Wed", "TH": "Thu", "FR": "Fri", "SA": "Sat",
             "SU": "Sun"}
LONG_DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
                  "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
               "Dec")
UNITS = {"YEARLY": "year", "MONTHLY": "month", "WEEKLY": "week", "DAILY": "day",
         "HOURLY": "hour", "MINUTELY": "minute", "SECONDLY": "second"}
# The parts describe_rule puts into words; a rule with any other part is described as far
# as it can be, followed by the rule itself.
DESCRIBED = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYHOUR", "BYMINUTE",
             "COUNT", "UNTIL"}
BYDAY_ITEM = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")


def _ordinal(n: int) -> str:
    """1 → first, -1 → last, -2 → second-to-last, 7 → 7th."""
    words = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
    if n == -1:
        return "last"
    if n < 0:
        return f"{_ordinal(-n)}-to-last"
    return words.get(n, f"{n}th")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def describe_rule(rule: str | None) -> str:
    """A schedule's RRULE in words ("Every 2 weeks on Mon, Thu at 09:30"), the one describer
    every page uses. A rule with parts it does not put into words reads as far as it can,
    followed by the rule itself, so nothing it says is ever wrong."""
    if not rule:
        return "Does not repeat"
    if rule.startswith(FORMS):
        return _describe_form(rule)
    try:
        parts = rule_parts(rule)
        unit = UNITS[parts["FREQ"]]
        interval = int(parts.get("INTERVAL", "1"))
        days = [BYDAY_ITEM.fullmatch(d.strip()) for d in parts.get("BYDAY", "").split(",")
                if d.strip()]
        month_days = [int(d) for d in parts.get("BYMONTHDAY", "").split(",") if d.strip()]
        months = [MONTH_NAMES[int(m) - 1] for m in parts.get("BYMONTH", "").split(",")
                  if m.strip()]
        hours = [int(h) for h in parts.get("BYHOUR", "").split(",") if h.strip()]
        minutes = [int(m) for m in parts.get("BYMINUTE", "").split(",") if m.strip()]
        count = int(parts["COUNT"]) if "COUNT" in parts else None
        until = RULE_UNTIL.fullmatch(parts["UNTIL"]) if "UNTIL" in parts else None
        if not all(days) or ("UNTIL" in parts and not until):
            raise ValueError(rule)
    except (KeyError, ValueError, IndexError):
        return f"Custom rule: {rule}"

    words = f"Every {unit}" if interval == 1 else f"Every {interval} {unit}s"
    if days:
        named = [(f"the {_ordinal(int(d.group(1)))} {LONG_DAY_NAMES[d.group(2)]}"
                  if d.group(1) else DAY_NAMES[d.group(2)]) for d in days]
        words += " on " + (_and(named) if any(d.group(1) for d in days) else ", ".join(named))
    if month_days:
        named = [f"day {d}" if d > 0 else f"the {_ordinal(d)} day" for d in month_days]
        words += " on " + _and(named)
    elif unit == "month" and not days:
        words += ", on the same day"
    if months:
        words += " in " + ", ".join(months)
    if hours and minutes:
        words += " at " + ", ".join(f"{h:02d}:{m:02d}" for h in hours for m in minutes)
    elif hours:  # the minute comes from the start time
        words += " in hour " + _and([str(h) for h in hours])
    elif minutes:
        words += " at minute " + ", ".join(str(m) for m in minutes)
    if count is not None:
        words += f", {count} time{'' if count == 1 else 's'}"
    if until:
        day = until.group(1)
        words += f", until {day[:4]}-{day[4:6]}-{day[6:]}"
    if set(parts) - DESCRIBED:
        words += f" (rule {rule})"
    return words


CRON_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
             "Sunday")
CRON_RANGE = re.compile(r"([0-7])-([0-7])")


def _describe_form(rule: str) -> str:
    """A stored `weekly:`, `monthly:` or `cron:` form in words."""
    kind, _, rest = rule.partition(":")
    if kind == "weekly":
        return "Every week on " + _and([name.capitalize() for name in rest.split(",")])
    if kind == "monthly":
        day = int(rest)
        if day == -1:
            return "Every month on its last day"
        return f"Every month on day {day}" + (" (or the month's last day)" if day > 28 else "")
    return _describe_cron(rest)


def _describe_cron(expression: str) -> str:
    """The common cron shapes in words ("At 09:00, Monday to Friday"); any other reads as
    the expression itself."""
    fallback = f"cron {expression}"
    minute, hour, month_day, month, week_day = expression.split()
    if not (minute.isdigit() and hour.isdigit()) or month != "*":
        return fallback
    words = f"At {int(hour):02d}:{int(minute):02d}"
    if month_day != "*" and week_day != "*":
        return fallback
    if month_day != "*":
        if not month_day.isdigit():
            return fallback
        return words + f" on day {int(month_day)} of every month"
    if week_day == "*":
        return words + ", every day"
    ranged = CRON_RANGE.fullmatch(week_day)
    if ranged and int(ranged.group(1)) < int(ranged.group(2)):
        return words + f", {CRON_DAYS[int(ranged.group(1))]} to {CRON_DAYS[int(ranged.group(2))]}"
    days = week_day.split(",")
    if all(d.isdigit() and int(d) <= 7 for d in days):
        return words + " on " + _and([CRON_DAYS[int(d)] for d in days])
    return fallback
