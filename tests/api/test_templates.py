"""/api/v1/templates: create, read, list (filters, order), change, delete, favourite, and
use — a post made through the same rules as POST /posts, counting the use."""

import pytest

from tests.api.helpers import assert_error, deliveries_of, iso_z, later, make_channel
from webapp.extensions import db
from webapp.models import AuditEvent, Post, Template

pytestmark = pytest.mark.postgres


def make_template(api, **fields):
    response = api.post("/templates", json={"name": "Weekly tip", "body": "Tip of the week",
                                            **fields})
    assert response.status_code == 201, response.json
    return response.json


def actions_of(template_id) -> list[str]:
    return [e.action for e in db.session.query(AuditEvent).filter_by(
        object_type="template", object_id=template_id).order_by(AuditEvent.id)]


def test_create_read_change_delete(api):
    channel = make_channel(api)
    made = make_template(api, description="For Mondays", title="Tip",
                         channel_ids=[channel["id"]],
                         overrides={str(channel["id"]): "Tip, for the hook"},
                         tags=["tips", " tips ", "weekly"], priority=7,
                         recurrence="weekly:Mon", unknown="ignored")
    assert made | {"id": 0, "created_at": None, "updated_at": None, "created_by": None} == {
        "id": 0, "name": "Weekly tip", "description": "For Mondays", "title": "Tip",
        "body": "Tip of the week", "channel_ids": [channel["id"]],
        "overrides": {str(channel["id"]): "Tip, for the hook"}, "tags": ["tips", "weekly"],
        "priority": 7, "campaign_id": None, "recurrence": "weekly:monday", "favorite": False,
        "use_count": 0, "last_used_at": None, "created_at": None, "updated_at": None,
        "created_by": None}
    assert api.get(f"/templates/{made['id']}").json == made
    changed = api.patch(f"/templates/{made['id']}", json={"name": "Tip", "recurrence": None})
    assert changed.status_code == 200
    assert (changed.json["name"], changed.json["recurrence"], changed.json["body"]) == (
        "Tip", None, "Tip of the week")
    assert api.delete(f"/templates/{made['id']}").status_code == 204
    assert_error(api.get(f"/templates/{made['id']}"), 404, "not_found")
    assert actions_of(made["id"]) == ["template.created", "template.updated",
                                      "template.deleted"]


def test_list_filters_and_order(api):
    campaign = api.post("/campaigns", json={"name": "Spring"}).json
    plain = make_template(api, name="Plain")
    used = make_template(api, name="Used")
    favourite = make_template(api, name="Favourite", campaign_id=campaign["id"])
    recent = make_template(api, name="Recent")
    for template_id in (used["id"], used["id"], recent["id"]):
        assert api.post(f"/templates/{template_id}/use", json={}).status_code == 201
    assert api.post(f"/templates/{favourite['id']}/favorite").json["favorite"] is True
    listing = api.get("/templates").json
    assert (listing["page"], listing["total"]) == (1, 4)
    # Favourites first, then the most used, then the most recently used, then never used.
    assert [t["name"] for t in listing["items"]] == ["Favourite", "Used", "Recent", "Plain"]
    assert [t["name"] for t in api.get("/templates?per_page=2&page=2").json["items"]] == [
        "Recent", "Plain"]
    assert [t["name"] for t in api.get("/templates?favorites_only=true").json["items"]] == [
        "Favourite"]
    assert [t["id"] for t in api.get(f"/templates?campaign_id={campaign['id']}")
            .json["items"]] == [favourite["id"]]
    assert api.get("/templates?favorites_only=false").json["total"] == 4
    assert_error(api.get("/templates?favorites_only=maybe"), 422, field="favorites_only")
    assert_error(api.get("/templates?campaign_id=x"), 422, field="campaign_id")
    assert plain["use_count"] == 0


def test_use_with_overrides_makes_a_planned_post_and_counts(api):
    hook = make_channel(api)
    other = make_channel(api, name="Other")
    campaign = api.post("/campaigns", json={"name": "Spring"}).json
    template = make_template(api, title="Tip", channel_ids=[hook["id"], other["id"]],
                             overrides={str(other["id"]): "Other's own text"},
                             tags=["tips"], priority=8, campaign_id=campaign["id"],
                             recurrence="daily")
    at = later(days=3)
    used = api.post(f"/templates/{template['id']}/use", json={
        "body": "This week's tip", "channel_ids": [hook["id"]],
        "schedule": {"at": at, "timezone": "UTC", "count": 3}})
    assert used.status_code == 201, used.json
    post = used.json
    assert (post["title"], post["body"], post["channel_ids"], post["overrides"], post["tags"],
            post["priority"], post["campaign_id"], post["status"]) == (
        "Tip", "This week's tip", [hook["id"]], {}, ["tips"], 8, campaign["id"], "scheduled")
    # The template's recurrence, as any daily post: deliveries planned at its times.
    assert [s["recurrence"] for s in post["schedules"]] == ["FREQ=DAILY"]
    dues = sorted(d["due_at"] for d in deliveries_of(api, post["id"]))
    assert dues[0] == iso_z(at) and len(dues) == 3
    assert db.session.get(Post, post["id"]).template_id == template["id"]
    shown = api.get(f"/templates/{template['id']}").json
    assert shown["use_count"] == 1 and shown["last_used_at"] is not None
    # An empty body uses the template as it is: a draft on both channels.
    as_is = api.post(f"/templates/{template['id']}/use")
    assert as_is.status_code == 201, as_is.json
    assert (as_is.json["status"], as_is.json["channel_ids"], as_is.json["overrides"]) == (
        "draft", [hook["id"], other["id"]], {str(other["id"]): "Other's own text"})
    assert api.get(f"/templates/{template['id']}").json["use_count"] == 2
    assert actions_of(template["id"]) == ["template.created", "template.used",
                                          "template.used"]


def test_use_keeps_every_rule_of_a_post_and_a_refusal_changes_nothing(api, masto_channel):
    template = make_template(api, channel_ids=[masto_channel.id])
    before = api.get(f"/templates/{template['id']}").json
    posts = db.session.query(Post).count()
    for body, field in [
        ({"body": "x" * 501}, "body"),                      # Mastodon allows 500
        ({"schedule": {"at": "2020-01-01T09:00", "timezone": "UTC"}}, "schedule.at"),
        ({"schedule": {"at": later(), "timezone": "UTC", "recurrence": "weekly:funday"}},
         "schedule.recurrence"),
        ({"channel_ids": [999999]}, "channel_ids"),
        ({"status": "scheduled"}, "schedule"),
        ({"body": "a\x00b"}, "body"),
        ({"priority": 11}, "priority"),
        ({"campaign_id": 999999}, "campaign_id"),
    ]:
        assert_error(api.post(f"/templates/{template['id']}/use", json=body), 422,
                     "validation_error", field)
    assert db.session.query(Post).count() == posts
    assert api.get(f"/templates/{template['id']}").json == before


def test_use_waits_for_approval_where_the_workspace_asks(api, api_member):
    channel = make_channel(api)
    template = make_template(api, channel_ids=[channel["id"]])
    assert api.patch("/workspace", json={"approval": "required"}).status_code == 200
    editor = api_member("editor@example.com", "editor")
    used = editor.post(f"/templates/{template['id']}/use",
                       json={"schedule": {"at": later(), "timezone": "UTC"}})
    assert used.status_code == 201, used.json
    assert used.json["status"] == "pending_approval"


def test_an_archived_campaign_of_the_template_is_refused_on_use(api):
    campaign = api.post("/campaigns", json={"name": "Old"}).json
    template = make_template(api, campaign_id=campaign["id"])
    api.patch(f"/campaigns/{campaign['id']}", json={"status": "archived"})
    assert_error(api.post(f"/templates/{template['id']}/use", json={}), 422,
                 "validation_error", "campaign_id")
    assert api.post(f"/templates/{template['id']}/use",
                    json={"campaign_id": None}).status_code == 201


def test_favorite_toggles(api):
    template = make_template(api)
    assert api.post(f"/templates/{template['id']}/favorite").json["favorite"] is True
    assert api.post(f"/templates/{template['id']}/favorite").json["favorite"] is False
    assert actions_of(template["id"]) == ["template.created", "template.favorited",
                                          "template.unfavorited"]


BAD = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"name": 5}, "name"),
    ({"name": "a\ud800b"}, "name"),
    ({"description": "d" * 5001}, "description"),
    ({"title": "t" * 201}, "title"),
    ({"body": ""}, "body"),
    ({"body": "a\x00b"}, "body"),
    ({"channel_ids": "1"}, "channel_ids"),
    ({"channel_ids": [999999]}, "channel_ids"),
    ({"channel_ids": [True]}, "channel_ids"),
    ({"overrides": {"1": 5}}, "overrides"),
    ({"overrides": {"1": "not one of the channels"}}, "overrides"),
    ({"tags": "tips"}, "tags"),
    ({"tags": [1]}, "tags"),
    ({"priority": 0}, "priority"),
    ({"priority": "high"}, "priority"),
    ({"campaign_id": 999999}, "campaign_id"),
    ({"campaign_id": "x"}, "campaign_id"),
    ({"recurrence": "weekly:funday"}, "recurrence"),
    ({"recurrence": "cron:61 * * * *"}, "recurrence"),
    ({"recurrence": 5}, "recurrence"),
    ({"favorite": "yes"}, "favorite"),
]


@pytest.mark.parametrize(("fields", "field"), BAD)
def test_bad_fields_are_422_and_change_nothing(api, fields, field):
    assert_error(api.post("/templates", json={"name": "Good", "body": "Good", **fields}), 422,
                 "validation_error", field)
    template = make_template(api)
    assert_error(api.patch(f"/templates/{template['id']}", json=fields), 422,
                 "validation_error", field)
    assert api.get(f"/templates/{template['id']}").json == template
    assert api.get("/templates").json["total"] == 1
    assert actions_of(template["id"]) == ["template.created"]


def test_a_text_too_long_for_a_channel_is_refused(api, masto_channel):
    assert_error(api.post("/templates", json={"name": "Long", "body": "x" * 501,
                                              "channel_ids": [masto_channel.id]}),
                 422, "validation_error", "body")


def test_another_workspaces_channels_and_templates_are_not_ours(api, outsider):
    theirs_channel = make_channel(outsider)
    assert_error(api.post("/templates", json={"name": "T", "body": "B",
                                              "channel_ids": [theirs_channel["id"]]}),
                 422, "validation_error", "channel_ids")
    theirs = make_template(outsider, name="Theirs")
    for response in (api.get(f"/templates/{theirs['id']}"),
                     api.patch(f"/templates/{theirs['id']}", json={"name": "Mine"}),
                     api.delete(f"/templates/{theirs['id']}"),
                     api.post(f"/templates/{theirs['id']}/use", json={}),
                     api.post(f"/templates/{theirs['id']}/favorite")):
        assert_error(response, 404, "not_found")
    assert outsider.get(f"/templates/{theirs['id']}").json == theirs
    assert api.get("/templates").json["total"] == 0


def test_viewers_read_and_editors_write(api, api_member):
    template = make_template(api)
    viewer = api_member("viewer@example.com", "viewer")
    assert viewer.get(f"/templates/{template['id']}").status_code == 200
    assert viewer.get("/templates").json["total"] == 1
    for response in (viewer.post("/templates", json={"name": "N", "body": "B"}),
                     viewer.patch(f"/templates/{template['id']}", json={"name": "N"}),
                     viewer.delete(f"/templates/{template['id']}"),
                     viewer.post(f"/templates/{template['id']}/use", json={}),
                     viewer.post(f"/templates/{template['id']}/favorite")):
        assert_error(response, 403)
    assert api.get(f"/templates/{template['id']}").json == template
    editor = api_member("editor@example.com", "editor")
    assert editor.patch(f"/templates/{template['id']}", json={"name": "Yes"}).status_code == 200
    assert editor.post(f"/templates/{template['id']}/use", json={}).status_code == 201


def test_deleting_keeps_the_posts_made_from_it(api):
    template = make_template(api)
    post = api.post(f"/templates/{template['id']}/use", json={}).json
    assert api.delete(f"/templates/{template['id']}").status_code == 204
    db.session.expire_all()
    assert db.session.get(Post, post["id"]).template_id is None
    assert db.session.get(Template, template["id"]) is None


def test_deleting_its_campaign_keeps_the_template(api):
    campaign = api.post("/campaigns", json={"name": "Spring"}).json
    template = make_template(api, campaign_id=campaign["id"])
    assert api.delete(f"/campaigns/{campaign['id']}").status_code == 204
    assert api.get(f"/templates/{template['id']}").json["campaign_id"] is None
    assert api.post(f"/templates/{template['id']}/use", json={}).status_code == 201
