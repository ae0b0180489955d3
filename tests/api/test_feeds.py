"""The calendar feed (GET /api/v1/calendar.ics?token=) and the posts export
(GET /api/v1/posts/export.csv) against API.md: a real iCalendar parser reads the feed, and the
export goes back through the real import."""

import csv
import io
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from tests.api.helpers import assert_error, later, make_channel, make_post
from tests.helpers import PASSWORD, Api, token_for
from webapp.extensions import db
from webapp.models import Delivery, Post, Schedule, Workspace
from webapp.services import imports
from webapp.services.accounts import create_user
from webapp.timeutil import now_utc

pytestmark = pytest.mark.postgres


def feed_token(api, name="phone") -> str:
    response = api.post("/tokens", json={"name": name, "kind": "feed"})
    assert response.status_code == 201, response.json
    return response.json["token"]


def read_feed(client, token, **params):
    response = client.get("/api/v1/calendar.ics", query_string={"token": token, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return response, Calendar.from_ical(response.data)


def events(cal):
    return [c for c in cal.walk("VEVENT")]


def publishing_deliveries(workspace_id):
    """What the feed must show: every delivery that publishes, from 30 days ago."""
    return db.session.scalars(
        select(Delivery).outerjoin(Schedule, Schedule.id == Delivery.schedule_id)
        .where(Delivery.workspace_id == workspace_id,
               Delivery.due_at >= now_utc() - timedelta(days=30),
               (Schedule.action.is_(None)) | (Schedule.action == "publish"))).all()


def two_channels(api):
    return make_channel(api, "Blog hook"), make_channel(api, "Chat hook")


def test_one_event_per_occurrence_and_channel(app, client, api, admin, runner):
    blog, chat = two_channels(api)
    campaign = api.post("/campaigns", json={"name": "Spring launch"}).json
    post = make_post(api, [blog["id"], chat["id"]], recurrence="daily", title="Daily tip",
                     tags=["tips"], campaign_id=campaign["id"])
    runner.step(plan=True)  # the planner writes the next days' occurrences
    token = feed_token(api)
    response, cal = read_feed(client, token)
    workspace_id = post_workspace(post["id"])
    expected = publishing_deliveries(workspace_id)
    assert len(expected) >= 4  # two channels, at least two days
    found = events(cal)
    assert len(found) == len(expected)
    by_uid = {str(e["UID"]): e for e in found}
    assert len(by_uid) == len(found)  # every UID once
    for delivery in expected:
        event = by_uid[f"delivery-{delivery.id}@127.0.0.1"]
        assert event.decoded("DTSTART") == delivery.due_at
        assert event.decoded("DTSTART").utcoffset() == timedelta(0)
        assert event.decoded("DURATION") == timedelta(minutes=15)
        assert str(event["SUMMARY"]) == f"Daily tip · {delivery.channel.name}"
        assert "Body" in str(event["DESCRIPTION"]) and "Status: " in str(event["DESCRIPTION"])
        assert str(event["URL"]) == f"http://127.0.0.1:5000/posts/{post['id']}"
        assert str(event["STATUS"]) == "CONFIRMED"
        assert [str(c) for c in event["CATEGORIES"].cats] == ["Spring launch", "tips"]
        assert event.decoded("LAST-MODIFIED") and event.decoded("DTSTAMP")
    # One event per (occurrence, channel): no two share both.
    pairs = {(e.decoded("DTSTART"), str(e["SUMMARY"])) for e in found}
    assert len(pairs) == len(found)
    assert {str(e["SUMMARY"]).rsplit(" · ", 1)[1] for e in found} == {"Blog hook", "Chat hook"}


def post_workspace(post_id):
    return db.session.get(Post, post_id).workspace_id


def test_cancelled_marked_uids_stable_and_304(app, client, api):
    blog, chat = two_channels(api)
    post = make_post(api, [blog["id"], chat["id"]])
    token = feed_token(api)
    first, cal = read_feed(client, token)
    uids = sorted(str(e["UID"]) for e in events(cal))
    assert len(uids) == 2
    again, cal = read_feed(client, token)
    assert sorted(str(e["UID"]) for e in events(cal)) == uids
    assert again.headers["ETag"] == first.headers["ETag"] and again.data == first.data
    assert first.headers["Last-Modified"]
    assert "private" in first.headers["Cache-Control"]
    unchanged = client.get("/api/v1/calendar.ics", query_string={"token": token},
                           headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.data == b""

    cancelled_id = post["deliveries"][0]["id"]
    assert api.post(f"/deliveries/{cancelled_id}/cancel").status_code == 200
    changed = client.get("/api/v1/calendar.ics", query_string={"token": token},
                         headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    cal = Calendar.from_ical(changed.data)
    status = {str(e["UID"]).split("@")[0]: str(e["STATUS"]) for e in events(cal)}
    assert sorted(f"{k}@127.0.0.1" for k in status) == uids  # the same events, changed
    assert status[f"delivery-{cancelled_id}"] == "CANCELLED"
    assert list(status.values()).count("CONFIRMED") == 1


def test_only_a_feed_token_opens_it(app, client, api, admin):
    api_token = token_for(admin, db.session.scalars(select(Workspace.id)).first())
    refused = client.get("/api/v1/calendar.ics", query_string={"token": api_token})
    assert_error(refused, 403, "forbidden")
    assert_error(client.get("/api/v1/calendar.ics"), 401, "unauthorized")
    wrong = client.get("/api/v1/calendar.ics", query_string={"token": "hrld_" + "x" * 43})
    error = assert_error(wrong, 401, "unauthorized")
    assert "x" * 10 not in error["message"]
    # A feed token does not open the API, in the URL or as a bearer token.
    token = feed_token(api)
    assert_error(Api(client, token).get("/posts"), 401, "unauthorized")
    assert_error(client.get(f"/api/v1/posts?token={token}"), 401, "unauthorized")
    # Revoked: 401 like any wrong token.
    listed = api.get("/tokens").json["items"]
    feed_id = next(t["id"] for t in listed if t["kind"] == "feed")
    assert api.delete(f"/tokens/{feed_id}").status_code == 204
    assert_error(client.get("/api/v1/calendar.ics", query_string={"token": token}), 401)


def test_wrong_feed_tokens_are_throttled_per_address(app, client, api):
    token = feed_token(api)
    limit = int(app.config["HERALD_API_AUTH_FAILURE_LIMIT"].split()[0])
    for _ in range(limit):
        assert client.get("/api/v1/calendar.ics?token=guess").status_code == 401
    throttled = client.get("/api/v1/calendar.ics?token=guess")
    assert_error(throttled, 429)
    assert throttled.headers["Retry-After"]
    # A valid feed token is not held back by what was guessed from the same address.
    read_feed(client, token)


def test_other_workspaces_and_campaign_filter(app, client, api, outsider):
    blog, chat = two_channels(api)
    launch = api.post("/campaigns", json={"name": "Launch"}).json
    other = api.post("/campaigns", json={"name": "Other"}).json
    make_post(api, [blog["id"]], body="In launch", campaign_id=launch["id"])
    make_post(api, [chat["id"]], body="In other", campaign_id=other["id"])
    make_post(api, [blog["id"], chat["id"]], body="In none")
    theirs = make_channel(outsider, "Their hook")
    their_campaign = outsider.post("/campaigns", json={"name": "Theirs"}).json
    make_post(outsider, [theirs["id"]], body="Secret of elsewhere",
              campaign_id=their_campaign["id"])

    token = feed_token(api)
    _, cal = read_feed(client, token)
    bodies = [str(e["DESCRIPTION"]).split("\n")[0] for e in events(cal)]
    assert sorted(bodies) == ["In launch", "In none", "In none", "In other"]
    _, cal = read_feed(client, token, campaign_id=launch["id"])
    assert [str(e["DESCRIPTION"]).split("\n")[0] for e in events(cal)] == ["In launch"]
    assert "Launch" in str(cal["X-WR-CALNAME"])
    # Another workspace's campaign is not found (and shows nothing); a bad id is a 422.
    missing = client.get("/api/v1/calendar.ics", query_string={
        "token": token, "campaign_id": their_campaign["id"]})
    assert_error(missing, 404)
    assert b"Secret" not in missing.data
    assert_error(client.get("/api/v1/calendar.ics", query_string={
        "token": token, "campaign_id": "x"}), 422, field="campaign_id")
    # Theirs shows only theirs.
    _, cal = read_feed(client, feed_token(outsider))
    assert [str(e["DESCRIPTION"]).split("\n")[0] for e in events(cal)] == [
        "Secret of elsewhere"]


# --- the export -------------------------------------------------------------------------------


def export(api) -> str:
    response = api.get("/posts/export.csv")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return response.get_data(as_text=True)


def test_export_then_import_into_an_empty_workspace_makes_the_same_posts(app, client, api,
                                                                         outsider):
    blog, chat = two_channels(api)
    launch = api.post("/campaigns", json={"name": "Launch"}).json
    make_post(api, [blog["id"], chat["id"]], title="Once", body="We are live",
              at=later(3), timezone="Europe/Berlin", campaign_id=launch["id"])
    make_post(api, [chat["id"]], title="", body="Every Monday and Thursday",
              at=later(4), timezone="America/New_York", recurrence="FREQ=WEEKLY;BYDAY=MO,TH")
    make_post(api, [blog["id"]], body="Five days", at=later(2), recurrence="daily",
              count=None)
    counted = api.post("/posts", json={"body": "Three times", "channel_ids": [blog["id"]],
                                       "schedule": {"at": later(5), "timezone": "UTC",
                                                    "recurrence": "weekly:monday,friday"}})
    assert counted.status_code == 201, counted.json
    make_post(api, [chat["id"]], body="=HYPERLINK(\"http://evil\")", title="@everyone",
              at=later(6))
    assert api.post("/posts", json={"body": "- a draft\n- with lines, \"quotes\"",
                                    "title": "Idea"}).status_code == 201
    exported = export(api)
    rows = list(csv.reader(io.StringIO(exported)))
    assert tuple(rows[0]) == imports.COLUMNS and len(rows) == 7

    for name in ("Blog hook", "Chat hook"):
        make_channel(outsider, name)
    outsider.post("/campaigns", json={"name": "Launch"})
    elsewhere = db.session.scalar(select(Workspace.id).where(Workspace.name == "Elsewhere"))
    user_id = db.session.scalar(select(Post.author_id).limit(1))
    outsider_user = create_user("outsider@example.com", PASSWORD, "Elsewhere", "admin")[0]
    assert outsider_user.id != user_id
    imported = outsider.post("/posts/import", data=exported.encode(),
                             content_type="text/csv", query_string={"timezone": "UTC"})
    assert imported.status_code == 201, imported.json
    assert imported.json["imported"] == 6 and imported.json["drafts"] == 1

    def posts_of(workspace_id):
        found = db.session.scalars(select(Post).where(Post.workspace_id == workspace_id)
                                   .order_by(Post.id)).all()
        return [(p.title, p.body, sorted(c.name for c in p.channels),
                 p.campaign.name if p.campaign else None, p.status,
                 [(s.action, s.start_local, s.timezone, s.status) for s in p.schedules])
                for p in found]

    ours = db.session.scalar(select(Workspace.id).where(Workspace.name == "Acme"))
    assert posts_of(elsewhere) == posts_of(ours)
    assert [p[1] for p in posts_of(elsewhere)][4] == "=HYPERLINK(\"http://evil\")"
    # And the second workspace's export is the first's, cell for cell.
    assert export(outsider) == exported


def test_formula_cells_are_neutralised(app, client, api):
    blog = make_channel(api, "Blog")
    for body in ("=1+2", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "plain", "'=quoted"):
        make_post(api, [blog["id"]], body=body, title=body if body != "\rx" else "")
    rows = list(csv.reader(io.StringIO(export(api))))
    bodies = [row[0] for row in rows[1:]]
    assert bodies == ["'=1+2", "'+cmd", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "plain",
                      "'=quoted"]
    assert [row[1] for row in rows[1:4]] == ["'=1+2", "'+cmd", "'-2"]
    # No cell of the file starts with a formula character.
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r"))
                   for row in rows for cell in row)


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_members_who_read_may_export(app, client, api, api_member, role):
    make_post(api, [make_channel(api)["id"]], body="Shared")
    reader = api_member(f"{role}@example.com", role)
    assert "Shared" in export(reader)
    assert_error(client.get("/api/v1/posts/export.csv"), 401)


def test_an_import_with_a_bad_row_names_it_and_writes_nothing(app, api):
    blog = make_channel(api, "Blog hook")
    rows = ("title,body,channels,at,timezone\n"
            f"Fine,Hello,Blog hook,{later(2)},UTC\n"
            f"Wrong,Hello,Blgo hook,{later(2)},UTC\n"
            f"Zone,Hello,Blog hook,{later(2)},Mars/Base\n")
    before = db.session.query(Post).count()
    response = api.post("/posts/import", data={"file": (io.BytesIO(rows.encode()), "p.csv")},
                        content_type="multipart/form-data")
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert set(fields) == {"rows.3.channels", "rows.4.timezone"}, fields
    assert "Blog hook" in fields["rows.3.channels"]  # did you mean
    assert db.session.query(Post).count() == before
    assert blog["id"]
    for bad in ({"data": b"", "content_type": "text/csv"},
                {"data": rows.encode(), "content_type": "text/csv",
                 "query_string": {"timezone": "Nowhere/Atall"}}):
        response = api.post("/posts/import", **bad)
        assert response.status_code == 422, response.json
    assert db.session.query(Post).count() == before


def test_viewers_may_not_import(app, api_member):
    viewer = api_member("viewer@example.com", "viewer")
    response = viewer.post("/posts/import", data=b"title,body\n", content_type="text/csv")
    assert response.status_code == 403
