"""The recurrence inputs beside RRULEs (API.md "Recurrence inputs"): weekly:<days>,
monthly:<day> and 5-field cron:, through the API on both databases, with their next
occurrences exactly (month ends, leap years, DST gaps and folds), the refusals, and their
description in words."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.api.helpers import make_channel, make_post
from tests.helpers import count
from webapp.extensions import db
from webapp.models import Post, Schedule
from webapp.timeutil import Pattern, describe_rule, parse_recurrence

pytestmark = pytest.mark.postgres

NEW_YORK, BERLIN = "America/New_York", "Europe/Berlin"


def occurrences(api, post_id, limit=5) -> list[tuple[str, int]]:
    """(UTC instant, number of warnings) of the post's next occurrences."""
    response = api.get(f"/posts/{post_id}/occurrences?limit={limit}")
    assert response.status_code == 200, response.json
    return [(i["at"], len(i["warnings"])) for i in response.json["items"]]


def instants(api, post_id, limit=5) -> list[str]:
    return [at for at, _ in occurrences(api, post_id, limit)]


@pytest.fixture
def hook(api):
    return make_channel(api)


# --- accepted, stored as written, expanded exactly -------------------------------------------


def test_weekly_on_named_days_in_any_case_and_short_names(api, hook):
    # 2031-01-01 is a Wednesday.
    post = make_post(api, [hook["id"]], at="2031-01-01T09:00", timezone=NEW_YORK,
                     recurrence="weekly:Mon,THURSDAY")
    assert post["schedules"][0]["recurrence"] == "weekly:monday,thursday"
    assert instants(api, post["id"]) == ["2031-01-02T14:00:00Z", "2031-01-06T14:00:00Z",
                                         "2031-01-09T14:00:00Z", "2031-01-13T14:00:00Z",
                                         "2031-01-16T14:00:00Z"]
    single = make_post(api, [hook["id"]], at="2031-01-01T09:00", timezone="UTC",
                       recurrence="weekly:monday")
    assert instants(api, single["id"], 2) == ["2031-01-06T09:00:00Z", "2031-01-13T09:00:00Z"]


def test_monthly_31_falls_on_the_last_day_of_short_months_and_leap_february(api, hook):
    post = make_post(api, [hook["id"]], at="2032-01-31T09:00", timezone="UTC",
                     recurrence="monthly:31")
    assert post["schedules"][0]["recurrence"] == "monthly:31"
    assert instants(api, post["id"]) == ["2032-01-31T09:00:00Z", "2032-02-29T09:00:00Z",
                                         "2032-03-31T09:00:00Z", "2032-04-30T09:00:00Z",
                                         "2032-05-31T09:00:00Z"]
    thirty = make_post(api, [hook["id"]], at="2031-01-30T09:00", timezone="UTC",
                       recurrence="monthly:30")
    assert instants(api, thirty["id"], 4) == ["2031-01-30T09:00:00Z", "2031-02-28T09:00:00Z",
                                              "2031-03-30T09:00:00Z", "2031-04-30T09:00:00Z"]
    first = make_post(api, [hook["id"]], at="2031-01-15T09:00", timezone="UTC",
                      recurrence="monthly:1")
    assert instants(api, first["id"], 2) == ["2031-02-01T09:00:00Z", "2031-03-01T09:00:00Z"]


def test_monthly_minus_one_is_the_last_day_in_leap_and_common_years(api, hook):
    post = make_post(api, [hook["id"]], at="2031-12-15T09:00", timezone=BERLIN,
                     recurrence="monthly:-1")
    assert post["schedules"][0]["recurrence"] == "monthly:-1"
    assert instants(api, post["id"], 4) == ["2031-12-31T08:00:00Z", "2032-01-31T08:00:00Z",
                                            "2032-02-29T08:00:00Z", "2032-03-31T07:00:00Z"]


def test_cron_runs_on_the_zones_wall_clock_with_count(api, hook):
    # 2031-01-03 is a Friday; 09:00 New York is 14:00Z in winter, 13:00Z in summer.
    post = make_post(api, [hook["id"]], at="2031-01-03T00:00", timezone=NEW_YORK,
                     recurrence="cron:0  9 * *   1-5")
    assert post["schedules"][0]["recurrence"] == "cron:0 9 * * 1-5"
    assert instants(api, post["id"], 3) == ["2031-01-03T14:00:00Z", "2031-01-06T14:00:00Z",
                                            "2031-01-07T14:00:00Z"]
    summer = make_post(api, [hook["id"]], at="2031-07-04T00:00", timezone=NEW_YORK,
                       recurrence="cron:0 9 * * 1-5")
    assert instants(api, summer["id"], 2) == ["2031-07-04T13:00:00Z", "2031-07-07T13:00:00Z"]
    counted = api.post("/posts", json={"body": "x", "channel_ids": [hook["id"]], "schedule": {
        "at": "2031-01-03T00:00", "timezone": NEW_YORK, "recurrence": "cron:0 9 * * 1-5",
        "count": 2}})
    assert counted.status_code == 201, counted.json
    assert instants(api, counted.json["id"], 10) == ["2031-01-03T14:00:00Z",
                                                     "2031-01-06T14:00:00Z"]
    until = api.post("/posts", json={"body": "x", "channel_ids": [hook["id"]], "schedule": {
        "at": "2031-01-03T00:00", "timezone": NEW_YORK, "recurrence": "cron:0 9 * * 1-5",
        "until": "2031-01-07"}})
    assert until.status_code == 201, until.json
    assert len(instants(api, until.json["id"], 10)) == 3


# --- DST: the same rule as RRULE occurrences -------------------------------------------------


@pytest.mark.parametrize("zone_name, start, rule, expected", [
    # New York springs forward on 2031-03-09: 02:30 does not exist, it goes out at 03:30 EDT.
    (NEW_YORK, "2031-03-08T00:00", "cron:30 2 * * *",
     [("2031-03-08T07:30:00Z", 0), ("2031-03-09T07:30:00Z", 1), ("2031-03-10T06:30:00Z", 0)]),
    # It falls back on 2031-11-02: 01:30 happens twice, the first (EDT) is meant.
    (NEW_YORK, "2031-11-01T00:00", "cron:30 1 * * *",
     [("2031-11-01T05:30:00Z", 0), ("2031-11-02T05:30:00Z", 1), ("2031-11-03T06:30:00Z", 0)]),
    # Every 30 minutes across the gap: 02:00 and 02:30 move onto 03:00 and 03:30 EDT, and
    # the real 03:00 and 03:30 are the same instants, published once.
    (NEW_YORK, "2031-03-09T01:00", "cron:*/30 * * * *",
     [("2031-03-09T06:00:00Z", 0), ("2031-03-09T06:30:00Z", 0), ("2031-03-09T07:00:00Z", 1),
      ("2031-03-09T07:30:00Z", 1), ("2031-03-09T08:00:00Z", 0)]),
    (BERLIN, "2031-03-29T00:00", "cron:30 2 * * *",
     [("2031-03-29T01:30:00Z", 0), ("2031-03-30T01:30:00Z", 1), ("2031-03-31T00:30:00Z", 0)]),
    (BERLIN, "2031-10-25T00:00", "cron:30 2 * * *",
     [("2031-10-25T00:30:00Z", 0), ("2031-10-26T00:30:00Z", 1), ("2031-10-27T01:30:00Z", 0)]),
])
def test_cron_in_a_gap_and_a_fold_follows_the_dst_rule(api, hook, zone_name, start, rule,
                                                       expected):
    post = make_post(api, [hook["id"]], at=start, timezone=zone_name, recurrence=rule)
    assert occurrences(api, post["id"], len(expected)) == expected


def test_cron_and_rrule_agree_on_gaps_and_folds():
    """The same wall times through a cron expression and an RRULE give the same instants."""
    for zone_name, start in ((NEW_YORK, datetime(2031, 3, 8)), (NEW_YORK, datetime(2031, 11, 1)),
                             (BERLIN, datetime(2031, 3, 29)), (BERLIN, datetime(2031, 10, 25))):
        tz = ZoneInfo(zone_name)
        for hour in (1, 2):
            cron = Pattern(start, tz, parse_recurrence(f"cron:30 {hour} * * *", start))
            rrule = Pattern(start.replace(hour=hour, minute=30), tz, "FREQ=DAILY")
            assert [(o.at, o.warnings) for o in cron.occurrences(4)] == \
                [(o.at, o.warnings) for o in rrule.occurrences(4)]


# --- refused with 422, nothing changed --------------------------------------------------------


@pytest.mark.parametrize("rule, message", [
    ("weekly:mondy", "did you mean monday?"),
    ("weekly:thurs", "did you mean thursday?"),
    ("weekly:someday", "unknown weekday “someday”"),
    ("weekly:", "unknown weekday"),
    ("monthly:0", "monthly:1 to monthly:31"),
    ("monthly:32", "monthly:1 to monthly:31"),
    ("monthly:-2", "monthly:-1 for the last day"),
    ("monthly:first", "is not a day"),
    ("cron:61 9 * * *", "invalid cron expression"),
    ("cron:0 9 * * mon-funday", "invalid cron day of week"),
    ("cron:0 0 9 * * 1-5", "cron takes 5 fields"),
    ("cron:0 9 * *", "cron takes 5 fields"),
    ("cron:@daily", "cron takes 5 fields"),
    ("cron:H 9 * * *", "invalid cron minute"),
    ("cron:0 0 30 2 *", "never matches"),
    ("cron:* * * * *", "repeats more than 1000 times"),
])
def test_bad_inputs_are_refused_and_change_nothing(api, hook, rule, message):
    response = api.post("/posts", json={"body": "x", "channel_ids": [hook["id"]], "schedule": {
        "at": "2031-01-03T09:00", "timezone": NEW_YORK, "recurrence": rule}})
    assert response.status_code == 422, response.json
    assert message in response.json["error"]["fields"]["schedule.recurrence"]
    assert count(Post) == 0
    post = make_post(api, [hook["id"]], at="2031-01-03T09:00", timezone=NEW_YORK,
                     recurrence="weekly:friday")
    response = api.patch(f"/posts/{post['id']}", json={"schedule": {
        "at": "2031-01-03T09:00", "timezone": NEW_YORK, "recurrence": rule}})
    assert response.status_code == 422, response.json
    assert message in response.json["error"]["fields"]["schedule.recurrence"]
    assert api.get(f"/posts/{post['id']}").json["schedules"][0]["recurrence"] == "weekly:friday"
    db.session.expire_all()
    assert [s.rrule for s in db.session.query(Schedule)] == ["weekly:friday"]


def test_patch_moves_a_series_onto_a_cron_expression(api, hook):
    post = make_post(api, [hook["id"]], at="2031-01-03T09:00", timezone=NEW_YORK,
                     recurrence="daily")
    response = api.patch(f"/posts/{post['id']}", json={"schedule": {
        "at": "2031-01-03T00:00", "timezone": NEW_YORK, "recurrence": "cron:15 8 1 * *"}})
    assert response.status_code == 200, response.json
    assert response.json["schedules"][-1]["recurrence"] == "cron:15 8 1 * *"
    assert instants(api, post["id"], 2) == ["2031-02-01T13:15:00Z", "2031-03-01T13:15:00Z"]


# --- in words ----------------------------------------------------------------------------------


@pytest.mark.parametrize("rule, words", [
    ("weekly:monday", "Every week on Monday"),
    ("weekly:monday,thursday", "Every week on Monday and Thursday"),
    ("weekly:monday,wednesday,friday", "Every week on Monday, Wednesday and Friday"),
    ("monthly:1", "Every month on day 1"),
    ("monthly:31", "Every month on day 31 (or the month's last day)"),
    ("monthly:29", "Every month on day 29 (or the month's last day)"),
    ("monthly:-1", "Every month on its last day"),
    ("cron:0 9 * * 1-5", "At 09:00, Monday to Friday"),
    ("cron:30 7 * * *", "At 07:30, every day"),
    ("cron:0 18 * * 0,6", "At 18:00 on Sunday and Saturday"),
    ("cron:0 9 15 * *", "At 09:00 on day 15 of every month"),
    ("cron:*/15 9-17 * * 1-5", "cron */15 9-17 * * 1-5"),
    ("cron:0 9 1-7 * 1", "cron 0 9 1-7 * 1"),
])
def test_the_describer_puts_the_inputs_into_words(rule, words):
    assert describe_rule(rule) == words


def test_the_post_page_describes_a_cron_series(api, hook, client, auth):
    post = make_post(api, [hook["id"]], at="2031-01-03T00:00", timezone=NEW_YORK,
                     recurrence="cron:0 9 * * 1-5")
    assert auth.login().status_code == 302
    body = client.get(f"/posts/{post['id']}").get_data(as_text=True)
    assert "At 09:00, Monday to Friday" in body
