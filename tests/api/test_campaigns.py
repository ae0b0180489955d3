"""/api/v1/campaigns: create, read, change, pause/resume every post, delete, stats."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.helpers import assert_error, make_channel, make_post
from webapp.extensions import db
from webapp.models import AuditEvent, Post

pytestmark = pytest.mark.postgres


def make_campaign(api, **fields):
    response = api.post("/campaigns", json={"name": "Spring launch", **fields})
    assert response.status_code == 201, response.json
    return response.json


def test_create_read_list_change(api):
    made = make_campaign(api, description="The spring range", color="#0E7490",
                         tags=["launch", " spring ", "launch"], target_post_count=10,
                         start_date="2027-03-01", end_date="2027-03-31", unknown="ignored")
    assert made | {"id": 0, "created_at": None, "updated_at": None} == {
        "id": 0, "name": "Spring launch", "description": "The spring range",
        "color": "#0e7490", "status": "active", "tags": ["launch", "spring"],
        "target_post_count": 10, "start_date": "2027-03-01", "end_date": "2027-03-31",
        "created_at": None, "updated_at": None}
    assert api.get(f"/campaigns/{made['id']}").json == made
    make_campaign(api, name="Archive me", status="archived")
    make_campaign(api, name="Autumn")
    listing = api.get("/campaigns?per_page=2").json
    assert (listing["page"], listing["per_page"], listing["total"]) == (1, 2, 3)
    assert [c["name"] for c in listing["items"]] == ["Autumn", "Spring launch"]
    assert [c["name"] for c in api.get("/campaigns?page=2&per_page=2").json["items"]] == [
        "Archive me"]
    changed = api.patch(f"/campaigns/{made['id']}", json={"name": "Spring",
                                                          "target_post_count": None})
    assert changed.status_code == 200
    assert (changed.json["name"], changed.json["target_post_count"],
            changed.json["end_date"]) == ("Spring", None, "2027-03-31")
    actions = [e.action for e in db.session.query(AuditEvent).filter_by(
        object_type="campaign", object_id=made["id"]).order_by(AuditEvent.id)]
    assert actions == ["campaign.created", "campaign.updated"]


BAD = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"name": "a\x00b"}, "name"),
    ({"name": 5}, "name"),
    ({"description": "d" * 5001}, "description"),
    ({"color": "red"}, "color"),
    ({"color": "#12345"}, "color"),
    ({"color": "#12345g"}, "color"),
    ({"status": "running"}, "status"),
    ({"tags": "launch"}, "tags"),
    ({"tags": [1]}, "tags"),
    ({"tags": ["t" * 51]}, "tags"),
    ({"tags": [str(n) for n in range(21)]}, "tags"),
    ({"target_post_count": 0}, "target_post_count"),
    ({"target_post_count": 10**12}, "target_post_count"),
    ({"target_post_count": "ten"}, "target_post_count"),
    ({"target_post_count": True}, "target_post_count"),
    ({"start_date": "2027-02-30"}, "start_date"),
    ({"start_date": "tomorrow"}, "start_date"),
    ({"start_date": 20270301}, "start_date"),
    ({"end_date": "0001-01-01"}, "end_date"),
    ({"end_date": "2027-03-01T09:00"}, "end_date"),
    ({"start_date": "2027-03-10", "end_date": "2027-03-09"}, "end_date"),
]


@pytest.mark.parametrize(("fields", "field"), BAD)
def test_bad_fields_are_422_and_change_nothing(api, fields, field):
    assert_error(api.post("/campaigns", json={"name": "Good", **fields}), 422,
                 "validation_error", field)
    campaign = make_campaign(api, start_date="2027-03-05")
    assert_error(api.patch(f"/campaigns/{campaign['id']}", json=fields), 422,
                 "validation_error", field)
    assert api.get(f"/campaigns/{campaign['id']}").json == campaign
    assert api.get("/campaigns").json["total"] == 1


def test_a_patched_end_before_the_kept_start_is_refused(api):
    campaign = make_campaign(api, start_date="2027-03-05")
    assert_error(api.patch(f"/campaigns/{campaign['id']}", json={"end_date": "2027-03-04"}),
                 422, "validation_error", "end_date")


def test_names_are_unique_in_a_workspace_not_across(api, outsider):
    first = make_campaign(api)
    assert_error(api.post("/campaigns", json={"name": "Spring launch"}), 422,
                 "validation_error", "name")
    other = make_campaign(api, name="Other")
    assert_error(api.patch(f"/campaigns/{other['id']}", json={"name": "Spring launch"}), 422,
                 "validation_error", "name")
    assert api.patch(f"/campaigns/{first['id']}", json={"name": "Spring launch"}).status_code \
        == 200
    assert outsider.post("/campaigns", json={"name": "Spring launch"}).status_code == 201


def test_other_workspaces_campaigns_are_404(api, outsider):
    theirs = make_campaign(outsider, name="Theirs")
    for response in (api.get(f"/campaigns/{theirs['id']}"),
                     api.patch(f"/campaigns/{theirs['id']}", json={"name": "Mine"}),
                     api.delete(f"/campaigns/{theirs['id']}"),
                     api.get(f"/campaigns/{theirs['id']}/stats")):
        assert_error(response, 404, "not_found")
    assert outsider.get(f"/campaigns/{theirs['id']}").json["name"] == "Theirs"
    assert api.get("/campaigns").json["total"] == 0


def test_viewers_read_and_editors_change(api, api_member):
    campaign = make_campaign(api)
    viewer = api_member("viewer@example.com", "viewer")
    assert viewer.get(f"/campaigns/{campaign['id']}").status_code == 200
    assert_error(viewer.post("/campaigns", json={"name": "Nope"}), 403)
    assert_error(viewer.patch(f"/campaigns/{campaign['id']}", json={"name": "Nope"}), 403)
    assert_error(viewer.delete(f"/campaigns/{campaign['id']}"), 403)
    editor = api_member("editor@example.com", "editor")
    assert editor.patch(f"/campaigns/{campaign['id']}", json={"name": "Yes"}).status_code == 200


def test_pausing_pauses_every_schedule_of_its_posts_and_resuming_resumes(api):
    channel = make_channel(api)
    campaign = make_campaign(api)
    posts = [make_post(api, [channel["id"]], campaign_id=campaign["id"]),
             make_post(api, [channel["id"]], campaign_id=campaign["id"], recurrence="daily")]
    draft = api.post("/posts", json={"body": "Draft", "campaign_id": campaign["id"]}).json
    outside = make_post(api, [channel["id"]])
    paused = api.patch(f"/campaigns/{campaign['id']}", json={"status": "paused"})
    assert paused.status_code == 200 and paused.json["status"] == "paused"
    for post in posts:
        assert [s["status"] for s in api.get(f"/posts/{post['id']}").json["schedules"]] == [
            "paused"]
    assert api.get(f"/posts/{draft['id']}").json["schedules"] == []
    assert api.get(f"/posts/{outside['id']}").json["schedules"][0]["status"] == "active"
    resumed = api.patch(f"/campaigns/{campaign['id']}", json={"status": "active"})
    assert resumed.json["status"] == "active"
    for post in posts:
        assert [s["status"] for s in api.get(f"/posts/{post['id']}").json["schedules"]] == [
            "active"]
    actions = [e.action for e in db.session.query(AuditEvent).filter_by(
        object_type="campaign").order_by(AuditEvent.id)]
    assert actions == ["campaign.created", "campaign.paused", "campaign.resumed"]


def test_delete_keeps_the_posts(api):
    channel = make_channel(api)
    campaign = make_campaign(api)
    post = make_post(api, [channel["id"]], campaign_id=campaign["id"])
    assert api.delete(f"/campaigns/{campaign['id']}").status_code == 204
    assert_error(api.get(f"/campaigns/{campaign['id']}"), 404, "not_found")
    kept = api.get(f"/posts/{post['id']}").json
    assert kept["campaign_id"] is None and kept["schedules"][0]["status"] == "active"
    assert db.session.query(AuditEvent).filter_by(action="campaign.deleted").count() == 1


def test_stats(api):
    channel = make_channel(api)
    end = (datetime.now(UTC) + timedelta(days=10)).date()
    campaign = make_campaign(api, target_post_count=4, end_date=end.isoformat())
    scheduled = [make_post(api, [channel["id"]], campaign_id=campaign["id"]) for _ in range(2)]
    api.post("/posts", json={"body": "Draft", "campaign_id": campaign["id"]})
    # Statuses the engine sets when posts go out, set here directly.
    db.session.get(Post, scheduled[0]["id"]).status = "published"
    db.session.commit()
    stats = api.get(f"/campaigns/{campaign['id']}/stats").json
    assert stats["status_distribution"]["draft"] == 1
    assert {k: v for k, v in stats["status_distribution"].items() if v} == {
        "draft": 1, "scheduled": 1, "published": 1}
    assert stats | {"status_distribution": None} == {
        "campaign_id": campaign["id"], "total_posts": 3, "scheduled": 1, "published": 1,
        "failed": 0, "progress": 0.25, "days_remaining": 10, "status_distribution": None}
    bare = make_campaign(api, name="No goal")
    assert api.get(f"/campaigns/{bare['id']}/stats").json | {"status_distribution": None} == {
        "campaign_id": bare["id"], "total_posts": 0, "scheduled": 0, "published": 0,
        "failed": 0, "progress": None, "days_remaining": None, "status_distribution": None}
