"""What the JSON API reads from requests: pagination, and garbage in every field and query
string answered with a 4xx (never a 500), with bounded work for pathological rules."""

import json

import pytest

from tests import helpers
from tests.api.helpers import assert_error, later, make_channel, make_post
from webapp.extensions import db

pytestmark = pytest.mark.postgres


# --- pagination --------------------------------------------------------------------------


def test_pagination(api):
    ids = [make_channel(api, f"C{i}")["id"] for i in range(5)]
    pages = [api.get(f"/channels?page={n}&per_page=2").json for n in (1, 2, 3, 4)]
    assert [[c["id"] for c in p["items"]] for p in pages] == [ids[:2], ids[2:4], ids[4:], []]
    assert {(p["page"], p["per_page"], p["total"]) for p in pages} == {
        (1, 2, 5), (2, 2, 5), (3, 2, 5), (4, 2, 5)}
    default = api.get("/channels").json
    assert (default["page"], default["per_page"], default["total"]) == (1, 50, 5)
    assert api.get("/channels?per_page=200").json["per_page"] == 200
    for too_many in ("per_page=201", "per_page=100000"):  # API.md: max 200
        assert_error(api.get(f"/channels?{too_many}"), 422, "validation_error", "per_page")
    huge = api.get(f"/channels?page={2**31 - 1}&per_page=200").json
    assert huge["items"] == [] and huge["total"] == 5
    for bad in ("page=0", "per_page=0", "page=-1", "page=abc", "per_page=1.5", "page=²",
                f"page={2**31}", "page=99999999999999999999999"):
        name = bad.split("=")[0]
        assert_error(api.get(f"/channels?{bad}"), 422, "validation_error", name)
        assert_error(api.get(f"/deliveries?{bad}"), 422, "validation_error", name)
        assert_error(api.get(f"/posts?{bad}"), 422, "validation_error", name)


# --- no 500s -----------------------------------------------------------------------------

WRONG = {  # wrong values for each kind of field
    "text": [123, 1.5, True, [], {}, ["a"], {"a": "b"}],
    "int": ["abc", "1.5", 1.5, True, [], {}, [1], {"a": 1}, -1, 2**31, -(2**31), 10**25],
    "int_list": ["1", 1, {}, [None], ["a"], [1.5], [True], [[1]], [{"a": 1}], [2**31],
                 [10**25], ["9" * 30], [-1]],
    "object": ["x", 1, [1], True, {"1": 5}, {"1": None}, {"1": ["a"]}],
    "str_list": ["a", 1, [1], [None], [["a"]]],
    "status": [1, True, "published", "cancelled", "pending_approval"],
    "schedule": ["2027-01-01", 1, [], True],
}
# Empty values of the wrong type (once accepted because defaults were taken with `or`).
WRONG_EMPTY = [("overrides", []), ("tags", {}), ("status", []), ("status", {}),
               ("status", "")]
POST_FIELDS = {"title": "text", "body": "text", "channel_ids": "int_list",
               "overrides": "object", "priority": "int", "campaign_id": "int",
               "tags": "str_list", "status": "status", "schedule": "schedule"}
SCHEDULE_WRONG = {  # each must be refused with a 4xx
    "at": [1, 1.5, True, [], {}, "", "2027-01-01T09:00:00+99:00", "0001-01-01T00:00",
           "2027-02-29T09:00", "27-01-01T09:00"],
    "timezone": [1, True, [], {}, "", "Mars/Base", "../../etc/passwd", "UTC\x00",
                 "America/New_York/", "a" * 1000, "Etc/GMT+99", "/etc/localtime"],
    "recurrence": [1, True, [], {}, "FREQ=DAILY;COUNT=abc", "FREQ=DAILY;BYHOUR=25",
                   "FREQ=YEARLY;BYWEEKNO=60", "FREQ=DAILY;UNTIL=x", "FREQ=MINUTELY;BYSETPOS=0",
                   "X" * 600, "FREQ=DAILY;;;", "FREQ=WEEKLY;BYDAY=XX", "yearly-ish"],
    "until": [1, True, [], {}, "yesterday", "2027-02-30", "0001-01-01"],
    "count": ["abc", 1.5, True, [], {}, 0, -5, 10**25, 100_001, "9" * 30],
}
SCHEDULE_ODD = [  # valid or not, each must be answered (never a 500)
    {"at": "9999-12-31T23:59", "timezone": "UTC"},
    {"at": "9999-12-31T23:59", "timezone": "Pacific/Kiritimati"},
    {"at": "9999-12-25T00:00", "timezone": "UTC", "recurrence": "daily"},
    {"at": "2027-01-01T09:00:00.123456", "timezone": "UTC"},
    {"at": "2027-W01-5T09:00", "timezone": "UTC"},
    {"at": "2030-01-01T09:00", "timezone": "UTC", "recurrence": "FREQ=DAILY;COUNT=5"},
]
SCHEDULE_EDGE_OF_TIME = [  # local times whose UTC instant is outside the calendar
    {"at": "9999-12-31T23:59", "timezone": "Etc/GMT+12"},
    {"at": "9999-12-31T23:00", "timezone": "America/Adak", "recurrence": "daily"},
    {"at": "0001-01-01T00:00", "timezone": "Etc/GMT-14"},
]
CHANNEL_FIELDS = {"name": "text", "platform": "text", "config": "object", "color": "text",
                  "rate_limit_per_hour": "int", "paused": "text"}


def test_garbage_in_every_post_field_is_a_4xx(api):
    channel = make_channel(api)
    good = {"title": "t", "body": "b", "channel_ids": [channel["id"]],
            "schedule": {"at": later(), "timezone": "UTC"}}
    existing = make_post(api, [channel["id"]])
    problems = []
    for field, kind in POST_FIELDS.items():
        for value in WRONG[kind]:
            for method, path in (("post", "/posts"), ("patch", f"/posts/{existing['id']}")):
                response = getattr(api, method)(path, json=good | {field: value})
                if not 400 <= response.status_code < 500:
                    problems.append((method, field, value, response.status_code))
    for field, values in SCHEDULE_WRONG.items():
        for value in values:
            schedule = good["schedule"] | {field: value}
            if field in ("until", "count"):
                schedule["recurrence"] = "daily"
            response = api.post("/posts", json=good | {"schedule": schedule})
            if not 400 <= response.status_code < 500:
                problems.append(("post", f"schedule.{field}", value, response.status_code))
    assert problems == []
    # Nothing was created by any of it.
    assert api.get("/posts").json["total"] == 1
    for schedule in SCHEDULE_ODD:
        response = api.post("/posts", json=good | {"schedule": schedule})
        assert response.status_code in (201, 422), (schedule, response.json)


def test_schedules_at_the_edge_of_the_calendar_are_refused_not_crashed_on(api):
    channel = make_channel(api)
    statuses = [api.post("/posts", json={"body": "b", "channel_ids": [channel["id"]],
                                         "schedule": s}).status_code
                for s in SCHEDULE_EDGE_OF_TIME]
    assert statuses == [422] * len(SCHEDULE_EDGE_OF_TIME)


HANG_SCRIPT = """
import json, sys
from dateutil import rrule
from webapp import create_app

spec = json.loads(sys.stdin.read())
app = create_app(spec["config"])
# dateutil examines a rule period by period (minute by minute for FREQ=MINUTELY), calling
# one of these once per period: counting the calls measures the work, whatever the speed.
PERIOD = {f.__code__ for f in (rrule._iterinfo.ydayset, rrule._iterinfo.mdayset,
                               rrule._iterinfo.wdayset, rrule._iterinfo.ddayset)}


class TooMuchWork(BaseException):
    pass


examined = 0


def count(frame, event, arg):
    global examined
    if event == "call" and frame.f_code in PERIOD:
        examined += 1
        if examined > spec["limit"]:
            raise TooMuchWork()


client = app.test_client()
answers = []
for body in spec["bodies"]:
    examined = 0
    sys.setprofile(count)
    try:
        status = client.post("/api/v1/posts", json=body, headers={
            "Authorization": "Bearer " + spec["token"]}).status_code
    except TooMuchWork:
        status = "gave up"
    finally:
        sys.setprofile(None)
    answers.append([body["schedule"]["recurrence"], status, examined])
print(json.dumps(answers))
"""


def test_pathological_recurrences_are_answered_with_bounded_work(app, api, db_backend):
    """Run in a child process that counts the periods dateutil examines per request and
    gives up past a bound: a rule that would be searched minute by minute until the year
    9999 fails the test by the work it takes, not by the time it takes on this machine."""
    import subprocess
    import sys

    if db_backend != "sqlite":
        pytest.skip("expanding a rule is the same work on either database; SQLite leg only")
    channel = make_channel(api)
    token = api.headers["Authorization"].split()[1]
    rules = ["FREQ=DAILY;INTERVAL=0", "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30",
             "FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31", "FREQ=MINUTELY;BYYEARDAY=100;BYMONTH=1",
             "FREQ=MINUTELY;BYWEEKNO=1;BYMONTH=6", "FREQ=MINUTELY;INTERVAL=15"]
    bodies = [{"body": "b", "channel_ids": [channel["id"]],
               "schedule": {"at": later(), "timezone": "UTC", "recurrence": rule}}
              for rule in rules]
    # Generous for the one rule that is accepted (a minutely rule materialised for
    # HERALD_MATERIALIZE_DAYS), far below a search that never ends.
    limit = 1_000_000
    spec = {"config": {k: v for k, v in app.config.items() if k in helpers.app_config(
        "x", "y")} | {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]},
        "token": token, "bodies": bodies, "limit": limit}
    db.session.remove()
    # The timeout only keeps a hang from hanging the suite; the work bound is the check.
    done = subprocess.run([sys.executable, "-c", HANG_SCRIPT], input=json.dumps(spec),
                          capture_output=True, text=True, timeout=600, cwd=helpers.ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    assert [a[1] for a in answers] == [422, 422, 422, 422, 422, 201], answers
    assert all(a[2] <= limit for a in answers), answers


def test_empty_values_of_the_wrong_type_are_refused(api):
    channel = make_channel(api)
    good = {"body": "b", "channel_ids": [channel["id"]],
            "schedule": {"at": later(), "timezone": "UTC"}}
    statuses = {(field, json.dumps(value)): api.post("/posts", json=good | {field: value})
                .status_code for field, value in WRONG_EMPTY}
    assert statuses == {key: 422 for key in statuses}


def test_numeric_strings_too_big_for_an_id_are_refused(api):
    channel = make_channel(api)
    for value in ("3000000000", "9" * 30):
        response = api.post("/posts", json={"body": "b", "channel_ids": [channel["id"]],
                                            "campaign_id": value})
        assert_error(response, 422, "validation_error", "campaign_id")


def test_garbage_in_every_channel_field_is_a_4xx(api):
    channel = make_channel(api)
    good = {"name": "n", "platform": "webhook", "config": {"url": "http://127.0.0.1:9/"}}
    problems = []
    for field, kind in CHANNEL_FIELDS.items():
        values = WRONG[kind] + ([{"url": 5}, {"url": None}, {"url": ["x"]}]
                                if field == "config" else [])
        for value in values:
            if field == "paused" and isinstance(value, bool):
                continue
            for method, path in (("post", "/channels"), ("patch", f"/channels/{channel['id']}")):
                response = getattr(api, method)(path, json=good | {field: value})
                if not 400 <= response.status_code < 500:
                    problems.append((method, field, value, response.status_code))
    assert problems == []
    assert api.get("/channels").json["total"] == 1
    assert api.get(f"/channels/{channel['id']}").json["name"] == "Hook"


def test_garbage_in_query_strings_is_a_4xx(api):
    channel = make_channel(api)
    post = make_post(api, [channel["id"]])
    garbage = ["abc", "-1", "1.5", "²", "9" * 40, "%00", "%FF", "1e3", " 1", "0x10", "",
               "2027-13-45", "2027-01-01T00:00:00+99:00"]
    endpoints = {"/posts": ["status", "channel_id", "campaign_id", "from", "to", "page",
                            "per_page"],
                 "/deliveries": ["status", "channel_id", "post_id", "from", "to", "page",
                                 "per_page"],
                 "/channels": ["page", "per_page"], "/schedule/upcoming": ["hours"],
                 "/queue/stats": ["days"], f"/posts/{post['id']}/occurrences": ["limit"]}
    problems = []
    for path, names in endpoints.items():
        for name in names:
            for value in garbage:
                response = api.get(f"{path}?{name}={value}")
                ok = response.status_code == 200 or 400 <= response.status_code < 500
                if not ok or (response.status_code == 200 and value not in ("", " 1")):
                    problems.append((path, name, value, response.status_code))
    assert problems == []
