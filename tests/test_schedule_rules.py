"""The rules of a schedule, the same at every entry point (API, composer, CSV import):
instants kept exactly, DST gaps and folds, UNTIL, zones and the tz database, and text that no
database can store."""

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import pytest
import tzdata

from tests.helpers import composer, count, page, submit, table, upload
from webapp.engine import planner
from webapp.errors import ValidationError
from webapp.extensions import db
from webapp.models import Channel, Delivery, Post, Schedule
from webapp.timeutil import common_zones, resolve, zone, zone_names

pytestmark = pytest.mark.postgres

NEW_YORK = "America/New_York"


def next_change(zone_name: str, forward: bool) -> date:
    """The next day (from tomorrow) on which the zone's clocks go forward (or back)."""
    tz = ZoneInfo(zone_name)
    day = datetime.now(UTC).date() + timedelta(days=1)
    for _ in range(800):
        morning = datetime.combine(day, datetime.min.time(), tz).utcoffset()
        evening = datetime.combine(day, datetime.max.time(), tz).utcoffset()
        if (evening > morning) if forward else (evening < morning):
            return day
        day += timedelta(days=1)
    raise AssertionError(f"{zone_name} changes no clocks")


def create(api, channel_id, schedule, **fields):
    return api.post("/posts", json={"body": "Hello", "channel_ids": [channel_id],
                                    "schedule": schedule, **fields})


def field_error(response, field):
    assert response.status_code == 422, (response.status_code, response.json)
    return response.json["error"]["fields"][field]


def due_times(post_id) -> list[str]:
    rows = db.session.query(Delivery).filter_by(post_id=post_id).order_by(Delivery.due_at)
    return [d.due_at.isoformat() for d in rows]


def occurrence_times(api, post_id, limit=10) -> list[str]:
    return [o["at"] for o in api.get(f"/posts/{post_id}/occurrences?limit={limit}").json["items"]]


# --- a rule across a spring-forward gap ------------------------------------------------------


def test_an_hourly_rule_across_a_gap_publishes_each_instant_once(app, api, hook_channel):
    app.config["HERALD_MATERIALIZE_DAYS"] = 800  # the window reaches the gap at once
    day = next_change(NEW_YORK, forward=True)
    response = create(api, hook_channel["id"], {"at": f"{day}T00:00", "timezone": NEW_YORK,
                                                "recurrence": "FREQ=HOURLY", "count": 5})
    assert response.status_code == 201, response.json
    # 00:00 EST, 01:00 EST, 02:00 (does not exist: 03:00 EDT), 03:00 EDT (the same instant,
    # ignored as RFC 5545 says), 04:00 EDT.
    expected = [f"{day}T{h:02}:00:00+00:00" for h in (5, 6, 7, 8)]
    assert due_times(response.json["id"]) == expected
    assert occurrence_times(api, response.json["id"]) == [t.replace("+00:00", "Z")
                                                          for t in expected]


def test_a_series_without_end_goes_on_past_the_gap(app, api, hook_channel):
    app.config["HERALD_MATERIALIZE_DAYS"] = 800
    day = next_change(NEW_YORK, forward=True)
    response = create(api, hook_channel["id"], {"at": f"{day - timedelta(days=1)}T20:00",
                                                "timezone": NEW_YORK,
                                                "recurrence": "FREQ=MINUTELY;INTERVAL=15"})
    assert response.status_code == 201, response.json
    for _ in range(3):
        planner.plan()
    times = [datetime.fromisoformat(t) for t in due_times(response.json["id"])]
    assert len(times) == planner.MAX_WAITING_OCCURRENCES
    assert all(b - a == timedelta(minutes=15) for a, b in zip(times, times[1:], strict=False))
    schedule = db.session.query(Schedule).filter_by(post_id=response.json["id"]).one()
    db.session.refresh(schedule)
    assert schedule.error_count == 0 and schedule.next_run_at == times[-1] + timedelta(minutes=15)


def test_a_schedule_the_planner_cannot_compute_stops_alone(app, api, hook_channel):
    broken = create(api, hook_channel["id"], {"at": "2030-01-01T09:00", "timezone": "UTC",
                                              "recurrence": "daily"}).json["id"]
    db.session.query(Schedule).filter_by(post_id=broken).update({"rrule": "FREQ=NEVER"})
    db.session.commit()
    fine = create(api, hook_channel["id"], {"at": "2030-01-02T09:00", "timezone": "UTC",
                                            "recurrence": "daily", "count": 3}).json["id"]
    app.config["HERALD_MATERIALIZE_DAYS"] = 5000  # the window reaches 2030
    planner.plan()
    assert len(due_times(fine)) == 3
    schedule = db.session.query(Schedule).filter_by(post_id=broken).one()
    db.session.refresh(schedule)
    assert schedule.status == "error" and schedule.error_count == 1


# --- instants are kept exactly -------------------------------------------------------------


def test_fractions_of_a_second_are_kept_and_nothing_goes_out_early(api, hook_channel, webhook,
                                                                    runner):
    due = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=500_000)
    response = create(api, hook_channel["id"], {"at": due.isoformat().replace("+00:00", "Z"),
                                                "timezone": "UTC"})
    assert response.status_code == 201, response.json
    [delivery] = response.json["deliveries"]
    assert delivery["due_at"] == due.replace(tzinfo=None).isoformat() + "Z"
    runner.until_settled([delivery["id"]], timeout=30)
    [received] = webhook.posts()
    assert received.at >= due.timestamp()


def test_an_instant_in_the_second_pass_of_a_repeated_hour_is_kept(api, hook_channel):
    day = next_change(NEW_YORK, forward=False)
    second = create(api, hook_channel["id"], {"at": f"{day}T06:30:00Z", "timezone": NEW_YORK})
    assert second.status_code == 201, second.json
    assert [d["due_at"] for d in second.json["deliveries"]] == [f"{day}T06:30:00Z"]
    assert occurrence_times(api, second.json["id"]) == [f"{day}T06:30:00Z"]
    first = create(api, hook_channel["id"], {"at": f"{day}T05:30:00Z", "timezone": NEW_YORK})
    assert [d["due_at"] for d in first.json["deliveries"]] == [f"{day}T05:30:00Z"]
    wall = create(api, hook_channel["id"], {"at": f"{day}T01:30", "timezone": NEW_YORK})
    assert [d["due_at"] for d in wall.json["deliveries"]] == [f"{day}T05:30:00Z"]
    daily = create(api, hook_channel["id"], {"at": f"{day}T06:30:00Z", "timezone": NEW_YORK,
                                             "recurrence": "daily", "count": 2})
    assert occurrence_times(api, daily.json["id"]) == [
        f"{day}T06:30:00Z", f"{day + timedelta(days=1)}T06:30:00Z"]


# --- UNTIL, COUNT and the rule's own syntax --------------------------------------------------


def test_until_in_utc_as_rfc5545_asks_with_a_zoned_start(api, hook_channel):
    start = datetime.now(UTC).date() + timedelta(days=40)
    end = start + timedelta(days=3)
    response = create(api, hook_channel["id"], {
        "at": f"{start}T09:00", "timezone": "Asia/Tokyo",
        "recurrence": f"FREQ=DAILY;UNTIL={end:%Y%m%d}T000000Z"})  # 09:00 in Tokyo
    assert response.status_code == 201, response.json
    assert len(occurrence_times(api, response.json["id"])) == 4
    by_date = create(api, hook_channel["id"], {"at": f"{start}T09:00", "timezone": "Asia/Tokyo",
                                               "recurrence": f"FREQ=DAILY;UNTIL={end:%Y%m%d}"})
    assert len(occurrence_times(api, by_date.json["id"])) == 4


def test_until_as_a_date_means_the_whole_day_in_either_form(api, hook_channel):
    start = datetime.now(UTC).date() + timedelta(days=40)
    end = start + timedelta(days=2)
    counts = []
    for until in (end.isoformat(), f"{end:%Y%m%d}"):
        response = create(api, hook_channel["id"], {"at": f"{start}T21:00", "timezone": "UTC",
                                                    "recurrence": "daily", "until": until})
        assert response.status_code == 201, response.json
        counts.append(len(occurrence_times(api, response.json["id"])))
    assert counts == [3, 3]


def test_an_until_instant_inside_a_fold_keeps_the_first_pass(api, hook_channel):
    day = next_change(NEW_YORK, forward=False)
    response = create(api, hook_channel["id"], {
        "at": f"{day - timedelta(days=1)}T01:30", "timezone": NEW_YORK, "recurrence": "daily",
        "until": f"{day}T06:00:00Z"})  # between 01:30 EDT (05:30Z) and 01:30 EST (06:30Z)
    assert response.status_code == 201, response.json
    assert occurrence_times(api, response.json["id"]) == [
        f"{day - timedelta(days=1)}T05:30:00Z", f"{day}T05:30:00Z"]


@pytest.mark.parametrize("rule, words", [
    ("FREQ=DAILY;COUNT=3;UNTIL=20300101T000000Z", "not both"),
    ("yearly", "invalid recurrence “yearly”"),
    ("FREQ=DAILY;EXDATE=20300105", "unknown rule part “EXDATE”"),
    ("EXDATE:20300105T090000Z\nRRULE:FREQ=DAILY", "EXDATE"),
    ("FREQ=DAILY;BYDAY=MO;BYDAY=TU", "BYDAY is given twice"),
    ("FREQ=DAILY;UNTIL=tomorrow", "UNTIL"),
    ("FREQ=DAILY;BYSETPOS=" + ",".join(["1"] * 300), "at most 500"),
])
def test_rules_are_refused_with_what_is_wrong(api, hook_channel, rule, words):
    error = field_error(create(api, hook_channel["id"], {
        "at": "2030-01-01T09:00", "timezone": "UTC", "recurrence": rule}), "schedule.recurrence")
    assert words in error and "unpack" not in error
    assert count(Post) == 0


def test_a_past_start_is_refused_even_when_the_rule_matches_later(api, hook_channel):
    yesterday = datetime.now(UTC) - timedelta(days=1)
    later_day = (yesterday + timedelta(days=3)).strftime("%a")[:2].upper()
    error = field_error(create(api, hook_channel["id"], {
        "at": yesterday.strftime("%Y-%m-%dT%H:%M"), "timezone": "UTC",
        "recurrence": f"FREQ=WEEKLY;BYDAY={later_day}"}), "schedule.at")
    assert "in the past" in error


# --- zones and the tz database -------------------------------------------------------------


@pytest.mark.parametrize("name", ["right/America/New_York", "posix/Europe/Berlin", "posixrules",
                                  "Factory", "localtime", "Etc/GMT+5", "EST5EDT",
                                  "Europe/Berlin ", "../../etc/passwd"])
def test_only_the_zones_the_pickers_offer_are_accepted(api, hook_channel, name):
    error = field_error(create(api, hook_channel["id"], {"at": "2030-01-01T09:00",
                                                         "timezone": name}), "schedule.timezone")
    assert "unknown timezone" in error


def test_the_pickers_and_the_checks_know_the_same_zones(app):
    offered = {name for name, _ in common_zones()}
    assert offered == zone_names() and "UTC" in offered and "America/New_York" in offered
    for name in zoneinfo.available_timezones() - offered:
        with pytest.raises(ValidationError):
            zone(name)


def test_every_process_reads_the_packaged_tz_database(app, client):
    assert zoneinfo.TZPATH == ()
    packaged = resources.files("tzdata").joinpath("zoneinfo", "America", "Vancouver")
    with packaged.open("rb") as data:
        reference = ZoneInfo.from_file(data)
    local = datetime(2027, 1, 15, 9, 0)
    assert resolve(local, ZoneInfo("America/Vancouver")).at == \
        local.replace(tzinfo=reference).astimezone(UTC)
    assert client.get("/healthz").json["tzdata"] == tzdata.IANA_VERSION


# --- one set of rules everywhere -------------------------------------------------------------


@pytest.mark.parametrize("rule, allowed", [
    ("FREQ=MINUTELY", False),
    ("FREQ=MINUTELY;BYSECOND=0,30", False),
    ("FREQ=SECONDLY", False),
    ("FREQ=MINUTELY;INTERVAL=15", True),
    ("weekly:monday,thu", True),
    ("monthly:-1", True),
    ("cron:0 9 * * 1-5", True),
    ("weekly:mondy", False),
    ("monthly:0", False),
    ("cron:0 0 9 * * 1-5", False),
    ("cron:0 0 30 2 *", False),
])
def test_the_api_the_composer_and_the_import_agree_on_rules(api, client, auth, hook_channel, rule,
                                                             allowed):
    at = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    through_api = create(api, hook_channel["id"], {"at": at, "timezone": "UTC",
                                                   "recurrence": rule})
    assert auth.login().status_code == 302
    through_composer = submit(client, "/posts/new", {
        **composer([hook_channel["id"]]), "at": at, "timezone": "UTC", "recurrence": "custom",
        "rrule": rule})
    through_import = upload(client, table([["Hello", at, "UTC", "Hook", rule]],
                                          header=("body", "at", "timezone", "channels",
                                                  "recurrence")))
    statuses = (through_api.status_code, through_composer.status_code,
                through_import.status_code)
    assert statuses == ((201, 303, 303) if allowed else (422, 422, 422)), page(through_import)


# --- text no database can store --------------------------------------------------------------


BAD_TEXT = ["a\x00b", "a\ud800b"]


@pytest.mark.parametrize("bad", BAD_TEXT)
@pytest.mark.parametrize("field", ["title", "body", "tags", "overrides"])
def test_unstorable_text_in_a_post_is_refused_and_changes_nothing(api, hook_channel, bad, field):
    value = {"tags": [bad], "overrides": {str(hook_channel["id"]): bad}}.get(field, bad)
    response = api.post("/posts", json={"body": "Hello", "channel_ids": [hook_channel["id"]],
                                        field: value})
    assert response.status_code == 422, response.json
    assert count(Post) == 0
    post = api.post("/posts", json={"body": "Hello", "channel_ids": [hook_channel["id"]]}).json
    response = api.patch(f"/posts/{post['id']}", json={field: value})
    assert response.status_code == 422, response.json
    assert api.get(f"/posts/{post['id']}").json["body"] == "Hello"


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_unstorable_text_in_a_channel_is_refused(api, hook_channel, bad):
    response = api.post("/channels", json={"name": bad, "platform": "webhook",
                                           "config": {"url": "https://example.com/x"}})
    assert response.status_code == 422, response.json
    response = api.patch(f"/channels/{hook_channel['id']}", json={"name": bad})
    assert response.status_code == 422, response.json
    response = api.patch(f"/channels/{hook_channel['id']}",
                         json={"config": {"url": f"https://example.com/{bad}"}})
    assert response.status_code == 422, response.json
    listed = api.get("/channels")
    assert listed.status_code == 200 and [c["name"] for c in listed.json["items"]] == ["Hook"]


def test_nul_in_any_form_is_refused_with_a_message(client, auth, admin, hook_channel):
    assert auth.login().status_code == 302
    for path, fields in (("/posts/new", composer([hook_channel["id"]], body="a\x00b")),
                         ("/posts/new", composer([hook_channel["id"]], title="a\x00b")),
                         ("/settings", {"timezone": "Europe/Berlin",
                                        "notify_email": "a\x00@example.com"}),
                         ("/channels", {"name": "N\x00", "platform": "webhook",
                                        "url": "https://example.com/x"})):
        response = submit(client, path, fields)
        assert response.status_code == 400, (path, response.status_code)
        assert "NUL" in page(response)
    assert count(Post) == 0 and count(Channel) == 1
