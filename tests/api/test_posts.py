"""The JSON API's posts and their schedules against API.md: creating, listing, editing,
pausing, deleting and publishing now, occurrences with DST warnings."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.api.helpers import (
    DELIVERY_KEYS,
    POST_KEYS,
    SCHEDULE_KEYS,
    assert_error,
    assert_utc_times,
    deliveries_of,
    first_sunday_of_november_ahead,
    iso_z,
    later,
    make_channel,
    make_post,
    run_for,
    second_sunday_of_march_ahead,
)
from tests.helpers import soon
from webapp.engine import jobs
from webapp.extensions import db
from webapp.models import Campaign

pytestmark = pytest.mark.postgres


def test_create_post_returns_it_with_schedules_and_upcoming_deliveries(api):
    a, b = make_channel(api, "A"), make_channel(api, "B")
    at = later(days=3)
    response = api.post("/posts", json={
        "title": "Hello", "body": "World", "channel_ids": [a["id"], b["id"]],
        "overrides": {str(b["id"]): "For B"}, "tags": ["launch"], "priority": 7,
        "schedule": {"at": at, "timezone": "Europe/Berlin", "recurrence": "weekly",
                     "count": 4}})
    assert response.status_code == 201
    post = response.json
    assert set(post) == POST_KEYS
    assert (post["title"], post["body"], post["channel_ids"], post["overrides"], post["tags"],
            post["priority"], post["status"], post["campaign_id"]) == \
        ("Hello", "World", [a["id"], b["id"]], {str(b["id"]): "For B"}, ["launch"], 7,
         "scheduled", None)
    [schedule] = post["schedules"]
    assert set(schedule) == SCHEDULE_KEYS
    assert (schedule["at"][:16], schedule["timezone"], schedule["recurrence"],
            schedule["count"], schedule["status"]) == \
        (at, "Europe/Berlin", "FREQ=WEEKLY", 4, "active")
    assert {d["channel_id"] for d in post["deliveries"]} == {a["id"], b["id"]}
    for d in post["deliveries"]:
        assert set(d) == DELIVERY_KEYS
        assert d["status"] in ("pending", "queued") and d["attempts"] == 0
    # 09:00 wall time in Berlin is the UTC instant in due_at.
    local = datetime.fromisoformat(at).replace(tzinfo=__import__("zoneinfo").ZoneInfo(
        "Europe/Berlin"))
    assert post["deliveries"][0]["due_at"] == \
        local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert assert_utc_times(post) >= 6
    assert api.get(f"/posts/{post['id']}").json["schedules"] == post["schedules"]


def test_instant_with_offset_and_draft_posts(api):
    channel = make_channel(api)
    when = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0, second=0)
    offset = when.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")).isoformat()
    post = make_post(api, [channel["id"]], at=offset, timezone="America/New_York")
    assert post["deliveries"][0]["due_at"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
    draft = api.post("/posts", json={"body": "later", "channel_ids": [channel["id"]]})
    assert draft.status_code == 201
    assert (draft.json["status"], draft.json["schedules"], draft.json["deliveries"]) == \
        ("draft", [], [])


SCHEDULE_INVALID = [
    ({"at": "2027-12-01T09:00", "timezone": "Mars/Base"}, "schedule.timezone",
     "unknown timezone “Mars/Base”"),
    ({"at": "2027-12-01T09:00"}, "schedule.timezone", "timezone"),
    ({"at": "2027-02-30T09:00", "timezone": "UTC"}, "schedule.at", "2027-02-30"),
    ({"at": "2027-12-01T25:00", "timezone": "UTC"}, "schedule.at", "not a valid"),
    ({"at": "next tuesday", "timezone": "UTC"}, "schedule.at", "not a valid"),
    ({"timezone": "UTC"}, "schedule.at", "required"),
    ({"at": "2020-01-01T09:00", "timezone": "UTC"}, "schedule.at", "in the past"),
    ({"at": "2027-12-01T09:00", "timezone": "UTC", "recurrence": "FREQ=SOMETIMES"},
     "schedule.recurrence", "invalid"),
    ({"at": "2027-12-01T09:00", "timezone": "UTC", "recurrence": "FREQ=SECONDLY"},
     "schedule.recurrence", "minute"),
    ({"at": "2027-12-01T09:00", "timezone": "UTC", "recurrence": "fortnightly"},
     "schedule.recurrence", "invalid"),
    ({"at": "2027-12-01T09:00", "timezone": "UTC", "recurrence": "daily", "count": 0},
     "schedule.count", "between"),
    ({"at": "2027-12-01T09:00", "timezone": "UTC", "recurrence": "daily",
      "until": "2027-11-01"}, "schedule.until", "before"),
    ({"at": "2027-12-01T09:00", "timezone": "UTC", "until": "2027-02-30"}, "schedule.until",
     "not a valid"),
    ("tomorrow", "schedule", "object"),
]


def test_schedule_validation(api):
    channel = make_channel(api)
    for schedule, field, words in SCHEDULE_INVALID:
        error = assert_error(api.post("/posts", json={
            "body": "x", "channel_ids": [channel["id"]], "schedule": schedule}),
            422, "validation_error", field)
        assert words in error["fields"][field], (schedule, error)
        assert error["message"]
    assert api.get("/posts").json["total"] == 0
    assert api.get("/deliveries").json["total"] == 0


POST_INVALID = [
    ({"channel_ids": [987654]}, "channel_ids"),
    ({"channel_ids": "1"}, "channel_ids"),
    ({"body": ""}, "body"),
    ({"body": "   "}, "body"),
    ({"priority": 11}, "priority"),
    ({"priority": 0}, "priority"),
    ({"status": "published"}, "status"),
    ({"campaign_id": 987654}, "campaign_id"),
    ({"overrides": {"987654": "text"}}, "overrides"),
    ({"tags": "a,b"}, "tags"),
    ({"status": "scheduled", "schedule": None}, "schedule"),
    ({"channel_ids": [], "status": "scheduled"}, "channel_ids"),
]


def test_post_validation(api):
    channel = make_channel(api)
    base = {"body": "Body", "channel_ids": [channel["id"]],
            "schedule": {"at": later(), "timezone": "UTC"}}
    for payload, field in POST_INVALID:
        assert_error(api.post("/posts", json=base | payload), 422, "validation_error", field)
    assert api.get("/posts").json["total"] == 0


def test_list_posts_with_filters(app, api):
    a, b = make_channel(api, "A"), make_channel(api, "B")
    from webapp.models import Workspace

    workspace = db.session.scalar(select(Workspace).where(Workspace.name == "Acme"))
    campaign = Campaign(workspace_id=workspace.id, name="Spring")
    db.session.add(campaign)
    db.session.commit()
    soon_post = make_post(api, [a["id"]], at=later(days=1), campaign_id=campaign.id)
    far_post = make_post(api, [b["id"]], at=later(days=40))
    weekly = make_post(api, [a["id"]], at=later(days=2), recurrence="weekly")
    draft = api.post("/posts", json={"body": "draft", "channel_ids": [a["id"]]}).json

    def ids(query):
        response = api.get(f"/posts?{query}")
        assert response.status_code == 200, response.json
        return sorted(p["id"] for p in response.json["items"])

    everything = sorted([soon_post["id"], far_post["id"], weekly["id"], draft["id"]])
    assert ids("") == everything
    assert ids("status=draft") == [draft["id"]]
    assert ids("status=scheduled") == sorted([soon_post["id"], far_post["id"], weekly["id"]])
    assert ids(f"channel_id={b['id']}") == [far_post["id"]]
    assert ids(f"campaign_id={campaign.id}") == [soon_post["id"]]
    window = f"from={later(days=30)}&to={later(days=50)}"
    # The far post falls in the window, and the weekly one recurs in it.
    assert ids(window) == sorted([far_post["id"], weekly["id"]])
    assert ids(f"to={later(days=1, hours=1)}Z") == [soon_post["id"]]
    assert ids("from=2020-01-01&to=2020-01-02") == []
    # Boundaries of the calendar are answered, not crashed on.
    assert ids("from=9999-12-31T00:00:00Z") == []
    assert ids("from=2028-02-29T00:00:00Z&status=scheduled") == [weekly["id"]]
    for bad, name in (("status=bogus", "status"), ("channel_id=x", "channel_id"),
                      ("campaign_id=-1", "campaign_id"), ("from=yesterday", "from"),
                      ("to=2027-13-01", "to"), (f"from={later(5)}&to={later(1)}", "to"),
                      ("from=0001-01-01T00:00:00%2B01:00", "from"),
                      ("to=9999-12-31T23:59:59-05:00", "to")):
        assert_error(api.get(f"/posts?{bad}"), 422, "validation_error", name)


def test_get_post_lists_deliveries_most_recent_first(api):
    channel = make_channel(api)
    post = api.post("/posts", json={"body": "b", "channel_ids": [channel["id"]], "schedule": {
        "at": later(days=1), "timezone": "UTC", "recurrence": "daily", "count": 3}}).json
    shown = api.get(f"/posts/{post['id']}").json
    dues = [d["due_at"] for d in shown["deliveries"]]
    assert len(dues) == 3 and dues == sorted(dues, reverse=True)


def test_patching_the_schedule_moves_every_pending_delivery(api, webhook, runner):
    a = make_channel(api, "A", url=webhook.url + "/a")
    b = make_channel(api, "B", url=webhook.url + "/b")
    post = make_post(api, [a["id"], b["id"]], at=soon(1.5))
    old_due = post["deliveries"][0]["due_at"]
    new_at = soon(3.5)
    patched = api.patch(f"/posts/{post['id']}", json={"schedule": {"at": new_at,
                                                                   "timezone": "UTC"}})
    assert patched.status_code == 200, patched.json
    open_ = [d for d in patched.json["deliveries"] if d["status"] in ("pending", "queued")]
    assert len(open_) == 2 and {d["due_at"] for d in open_} == {iso_z(new_at)}
    assert all(d["due_at"] != old_due or d["status"] == "cancelled"
               for d in deliveries_of(api, post["id"]))
    [active] = [s for s in patched.json["schedules"] if s["status"] in ("active", "completed")]
    assert active["at"] == iso_z(new_at)[:-1]

    rows = runner.until_settled([d["id"] for d in open_])
    assert [r.status for r in rows] == ["published", "published"]
    new_due = datetime.fromisoformat(new_at).replace(tzinfo=UTC).timestamp()
    got = webhook.posts()
    assert len(got) == 2  # one per channel, none at the old time
    assert all(r.at >= new_due for r in got)
    assert {r.json()["due_at"] for r in got} == {iso_z(new_at)}


def test_patching_other_fields(api):
    a, b = make_channel(api, "A"), make_channel(api, "B")
    post = make_post(api, [a["id"]])
    patched = api.patch(f"/posts/{post['id']}", json={
        "title": "New title", "body": "New body", "priority": 9, "tags": ["x"],
        "channel_ids": [a["id"], b["id"]]})
    assert patched.status_code == 200, patched.json
    assert (patched.json["title"], patched.json["body"], patched.json["priority"],
            patched.json["tags"], patched.json["channel_ids"]) == \
        ("New title", "New body", 9, ["x"], [a["id"], b["id"]])
    open_ = [d for d in deliveries_of(api, post["id"]) if d["status"] in ("pending", "queued")]
    assert sorted(d["channel_id"] for d in open_) == [a["id"], b["id"]]
    # Invalid patches change nothing.
    before = api.get(f"/posts/{post['id']}").json
    assert_error(api.patch(f"/posts/{post['id']}", json={"priority": "high"}), 422,
                 "validation_error", "priority")
    assert_error(api.patch(f"/posts/{post['id']}", json={"schedule": {
        "at": "2027-12-01T09:00", "timezone": "Mars/Base"}}), 422, "validation_error",
        "schedule.timezone")
    assert api.get(f"/posts/{post['id']}").json == before


def test_delete_cancels_and_leaves_deliveries_visible(api, webhook, runner):
    channel = make_channel(api, url=webhook.url + "/hook")
    post = make_post(api, [channel["id"]], at=soon(1.0))
    response = api.delete(f"/posts/{post['id']}")
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    assert {d["status"] for d in response.json["deliveries"]} == {"cancelled"}
    shown = deliveries_of(api, post["id"])
    assert len(shown) == 1 and shown[0]["status"] == "cancelled"
    assert shown[0]["finished_at"] is not None
    assert api.get(f"/posts/{post['id']}").status_code == 200
    assert jobs.redis().zcard("rq:scheduler:scheduled_jobs") == 0
    run_for(runner, 2.0)
    assert webhook.posts() == []
    # Cancelled is final: editing it is a conflict, deleting again is harmless.
    assert_error(api.patch(f"/posts/{post['id']}", json={"title": "x"}), 409, "conflict")
    assert api.delete(f"/posts/{post['id']}").status_code == 200


def test_pause_and_resume(api, webhook, runner):
    channel = make_channel(api, url=webhook.url + "/hook")
    post = make_post(api, [channel["id"]], at=soon(1.0))
    paused = api.post(f"/posts/{post['id']}/pause")
    assert paused.status_code == 200
    assert paused.json["schedules"][0]["status"] in ("paused", "completed")
    assert {d["status"] for d in paused.json["deliveries"]} == {"pending"}
    assert_error(api.post(f"/posts/{post['id']}/pause"), 409, "conflict")
    run_for(runner, 1.5)
    assert webhook.posts() == []  # nothing goes out while paused
    resumed = api.post(f"/posts/{post['id']}/resume")
    assert resumed.status_code == 200
    assert_error(api.post(f"/posts/{post['id']}/resume"), 409, "conflict")
    # A one-off post whose time passed while paused goes out at once on resume.
    [row] = runner.until_settled([d["id"] for d in resumed.json["deliveries"]])
    assert row.status == "published" and len(webhook.posts()) == 1


def test_publish_now(api, webhook, runner):
    channel = make_channel(api, url=webhook.url + "/hook")
    draft = api.post("/posts", json={"body": "now!", "channel_ids": [channel["id"]]}).json
    scheduled = make_post(api, [channel["id"]], at=later(days=10))
    for post in (draft, scheduled):
        response = api.post(f"/posts/{post['id']}/publish-now")
        assert response.status_code == 200, response.json
        assert response.json["status"] == "scheduled"
    ids = [d["id"] for p in (draft, scheduled) for d in deliveries_of(api, p["id"])]
    assert len(ids) == 2
    rows = runner.until_settled(ids)
    assert [r.status for r in rows] == ["published", "published"]
    assert sorted(r.json()["body"] for r in webhook.posts()) == ["Body", "now!"]
    # The scheduled post went out now instead of later: nothing is left for day 10.
    assert [d["status"] for d in deliveries_of(api, scheduled["id"])] == ["published"]
    empty = api.post("/posts", json={"body": "nowhere"}).json
    assert_error(api.post(f"/posts/{empty['id']}/publish-now"), 409, "conflict")


def test_occurrences_with_dst_warnings(api):
    channel = make_channel(api)
    gap = second_sunday_of_march_ahead()
    start = gap - timedelta(days=1)
    post = make_post(api, [channel["id"]], at=f"{start}T02:30", timezone="America/New_York",
                     recurrence="daily")
    response = api.get(f"/posts/{post['id']}/occurrences?limit=3")
    assert response.status_code == 200
    items = response.json["items"]
    assert [set(i) for i in items] == [{"at", "local", "warnings"}] * 3
    assert [i["at"] for i in items] == [f"{start}T07:30:00Z", f"{gap}T07:30:00Z",
                                        f"{gap + timedelta(days=1)}T06:30:00Z"]
    assert [i["local"] for i in items] == [f"{start}T02:30:00-05:00", f"{gap}T03:30:00-04:00",
                                           f"{gap + timedelta(days=1)}T02:30:00-04:00"]
    assert [len(i["warnings"]) for i in items] == [0, 1, 0]
    assert "does not exist" in items[1]["warnings"][0]
    assert len(api.get(f"/posts/{post['id']}/occurrences").json["items"]) == 10
    for bad in ("0", "101", "x", "-3"):
        assert_error(api.get(f"/posts/{post['id']}/occurrences?limit={bad}"), 422,
                     "validation_error", "limit")

    fold = first_sunday_of_november_ahead()
    twice = make_post(api, [channel["id"]], at=f"{fold}T01:30", timezone="America/New_York")
    [item] = api.get(f"/posts/{twice['id']}/occurrences").json["items"]
    assert item["at"] == f"{fold}T05:30:00Z" and "happens twice" in item["warnings"][0]
    # The delivery made for it carries the warning too.
    assert "happens twice" in twice["deliveries"][0]["warnings"][0]
    draft = api.post("/posts", json={"body": "no schedule"}).json
    assert api.get(f"/posts/{draft['id']}/occurrences").json == {"items": []}
