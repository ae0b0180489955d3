"""Wall time + zone → UTC, recurrence in the local zone, and the DST rule, in several zones."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from webapp.errors import ValidationError
from webapp.services import schedules
from webapp.services.validation import Errors
from webapp.timeutil import (
    Pattern,
    describe_rule,
    parse_at,
    parse_recurrence,
    parse_until,
    resolve,
    zone,
)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("zone_name, local, expected_utc, shown", [
    # Spring forward: the missing hour is skipped, the time moves forward by the gap.
    ("America/New_York", datetime(2027, 3, 14, 2, 30), utc(2027, 3, 14, 7, 30), "03:30"),
    ("Europe/Berlin", datetime(2027, 3, 28, 2, 30), utc(2027, 3, 28, 1, 30), "03:30"),
    ("Australia/Sydney", datetime(2026, 10, 4, 2, 30), utc(2026, 10, 3, 16, 30), "03:30"),
    # Lord Howe springs forward by only 30 minutes.
    ("Australia/Lord_Howe", datetime(2026, 10, 4, 2, 15), utc(2026, 10, 3, 15, 45), "02:45"),
])
def test_spring_forward_gap_moves_forward_with_a_warning(zone_name, local, expected_utc, shown):
    occ = resolve(local, ZoneInfo(zone_name))
    assert occ.at == expected_utc
    assert occ.local.strftime("%H:%M") == shown
    assert len(occ.warnings) == 1 and "does not exist" in occ.warnings[0]


@pytest.mark.parametrize("zone_name, local, expected_utc", [
    ("America/New_York", datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30)),
    ("Europe/Berlin", datetime(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30)),
    ("Australia/Sydney", datetime(2027, 4, 4, 2, 30), utc(2027, 4, 3, 15, 30)),
])
def test_fall_back_fold_takes_the_first_occurrence_with_a_warning(zone_name, local, expected_utc):
    occ = resolve(local, ZoneInfo(zone_name))
    assert occ.at == expected_utc
    assert len(occ.warnings) == 1 and "happens twice" in occ.warnings[0]


def test_ordinary_times_have_no_warning():
    occ = resolve(datetime(2026, 12, 1, 9, 0), ZoneInfo("Asia/Kolkata"))
    assert occ.at == utc(2026, 12, 1, 3, 30) and occ.warnings == []


def test_daily_recurrence_keeps_local_time_across_dst():
    pattern = Pattern(datetime(2027, 3, 12, 9, 0), ZoneInfo("America/New_York"), "FREQ=DAILY",
                      count=4)
    times = [o.at for o in pattern.occurrences()]
    # 09:00 EST is 14:00 UTC; after the switch 09:00 EDT is 13:00 UTC.
    assert times == [utc(2027, 3, 12, 14), utc(2027, 3, 13, 14), utc(2027, 3, 14, 13),
                     utc(2027, 3, 15, 13)]


def test_daily_recurrence_in_the_gap_warns_only_on_the_gap_day():
    pattern = Pattern(datetime(2027, 3, 27, 2, 30), ZoneInfo("Europe/Berlin"), "FREQ=DAILY",
                      count=3)
    occs = pattern.occurrences()
    assert [bool(o.warnings) for o in occs] == [False, True, False]
    assert [o.local.strftime("%H:%M") for o in occs] == ["02:30", "03:30", "02:30"]


@pytest.mark.parametrize("shorthand, expected_local", [
    ("daily", ["2026-12-01", "2026-12-02", "2026-12-03"]),
    ("weekly", ["2026-12-01", "2026-12-08", "2026-12-15"]),
    ("monthly", ["2026-12-01", "2027-01-01", "2027-02-01"]),
    ("FREQ=WEEKLY;BYDAY=MO,WE", ["2026-12-02", "2026-12-07", "2026-12-09"]),
])
def test_shorthands_and_rrules(shorthand, expected_local):
    start = datetime(2026, 12, 1, 9, 0)
    rule = parse_recurrence(shorthand, start)
    occs = Pattern(start, ZoneInfo("Europe/Berlin"), rule).occurrences(limit=3)
    assert [o.local.date().isoformat() for o in occs] == expected_local


def test_until_is_inclusive_of_its_local_day_and_count_stops_the_series():
    tz = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 12, 1, 21, 0)
    until = parse_until("2026-12-03", tz)
    assert len(Pattern(start, tz, "FREQ=DAILY", until_local=until).occurrences(limit=50)) == 3
    assert len(Pattern(start, tz, "FREQ=DAILY", count=5).occurrences(limit=50)) == 5
    both = Pattern(start, tz, "FREQ=DAILY", until_local=until, count=2)
    assert len(both.occurrences(limit=50)) == 2


def test_wall_times_after_skips_to_the_next_occurrence():
    pattern = Pattern(datetime(2026, 12, 1, 9, 0), ZoneInfo("UTC"), "FREQ=MINUTELY;INTERVAL=15")
    after = datetime(2027, 6, 1, 9, 7)
    assert next(pattern.wall_times(after)) == datetime(2027, 6, 1, 9, 15)


def test_instant_with_offset_is_converted_to_the_zone():
    assert parse_at("2026-12-01T14:00:00Z", ZoneInfo("America/New_York")) == \
        datetime(2026, 12, 1, 9, 0)


@pytest.mark.parametrize("bad", ["Mars/Base", "", "../../etc/passwd", "Europe/Nowhere", None])
def test_unknown_zones_are_rejected(bad):
    with pytest.raises(ValidationError) as err:
        zone(bad)
    assert "timezone" in err.value.fields


@pytest.mark.parametrize("bad", ["2026-02-30T09:00", "2026-13-01T09:00", "2026-12-01T25:00",
                                 "tomorrow", "", None, 17])
def test_impossible_dates_are_rejected(bad):
    with pytest.raises(ValidationError) as err:
        parse_at(bad, ZoneInfo("UTC"))
    assert "at" in err.value.fields


@pytest.mark.parametrize("bad", ["FREQ=SOMETIMES", "FREQ=SECONDLY", "BYDAY=XX",
                                 "RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY",
                                 "DTSTART:20261201T090000\nRRULE:FREQ=DAILY"])
def test_bad_rules_are_rejected(bad):
    with pytest.raises(ValidationError):
        parse_recurrence(bad, datetime(2026, 12, 1, 9))


def test_schedule_in_the_past_is_rejected_with_the_field_named():
    errors = Errors()
    past = (datetime.now(UTC) - timedelta(minutes=5)).replace(tzinfo=None).isoformat()
    assert schedules.parse({"at": past, "timezone": "UTC"}, errors) is None
    assert "in the past" in errors.fields["schedule.at"]


def test_until_before_start_is_rejected():
    errors = Errors()
    spec = schedules.parse({"at": "2030-01-10T09:00", "timezone": "UTC", "recurrence": "daily",
                            "until": "2030-01-01"}, errors)
    assert spec is None and "schedule.until" in errors.fields


def test_a_zero_interval_is_rejected_rather_than_looping_forever():
    with pytest.raises(ValidationError):
        parse_recurrence("FREQ=DAILY;INTERVAL=0", datetime(2026, 12, 1, 9))


@pytest.mark.parametrize("extreme", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_years_at_the_ends_of_the_calendar_are_rejected(extreme):
    with pytest.raises(ValidationError):
        parse_at(extreme, ZoneInfo("America/Los_Angeles"))


@pytest.mark.parametrize("never", ["FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
                                   "FREQ=DAILY;BYMONTH=4,6;BYMONTHDAY=31",
                                   "FREQ=HOURLY;BYMONTH=11;BYMONTHDAY=-31"])
def test_rules_that_never_match_are_rejected_at_once(never):
    with pytest.raises(ValidationError) as err:
        parse_recurrence(never, datetime(2026, 12, 1, 9))
    assert "no month" in err.value.message


def test_rare_but_possible_days_are_accepted():
    rule = parse_recurrence("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", datetime(2027, 1, 1, 9))
    occs = Pattern(datetime(2027, 1, 1, 9), ZoneInfo("UTC"), rule).occurrences(limit=2)
    assert [o.local.year for o in occs] == [2028, 2032]


@pytest.mark.parametrize("rule, words", [
    (None, "Does not repeat"),
    ("FREQ=DAILY", "Every day"),
    ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", "Every 2 weeks on Mon, Thu"),
    ("FREQ=MONTHLY", "Every month, on the same day"),
    ("FREQ=MONTHLY;BYDAY=1MO", "Every month on the first Monday"),
    ("FREQ=MONTHLY;BYDAY=-1FR", "Every month on the last Friday"),
    ("FREQ=MONTHLY;BYDAY=1MO,-2FR", "Every month on the first Monday and the second-to-last "
                                     "Friday"),
    ("FREQ=MONTHLY;BYMONTHDAY=15", "Every month on day 15"),
    ("FREQ=MONTHLY;BYMONTHDAY=1,-1", "Every month on day 1 and the last day"),
    ("FREQ=YEARLY;BYMONTH=3,9;BYMONTHDAY=1", "Every year on day 1 in Mar, Sep"),
    ("FREQ=DAILY;BYHOUR=9,17;BYMINUTE=30", "Every day at 09:30, 17:30"),
    ("FREQ=DAILY;BYHOUR=9", "Every day in hour 9"),
    ("FREQ=HOURLY;BYMINUTE=0,30", "Every hour at minute 0, 30"),
    ("FREQ=WEEKLY;BYDAY=WE,SU;COUNT=4", "Every week on Wed, Sun, 4 times"),
    ("FREQ=DAILY;COUNT=1", "Every day, 1 time"),
    ("FREQ=WEEKLY;UNTIL=20270310T235959Z", "Every week, until 2027-03-10"),
    ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1",
     "Every month on Mon (rule FREQ=MONTHLY;BYDAY=MO;BYSETPOS=-1)"),
    ("FREQ=SOMETIMES", "Custom rule: FREQ=SOMETIMES"),
])
def test_one_describer_puts_every_rule_into_words(rule, words):
    assert describe_rule(rule) == words
