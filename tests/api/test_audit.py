"""GET /api/v1/audit: the workspace's audit log, newest first, filtered and paged; for
approvers and admins; another workspace's events never appear; secrets never do."""

import json

import pytest

from tests.api.helpers import UTC_Z, assert_error, make_channel, make_post

pytestmark = pytest.mark.postgres

ITEM_KEYS = {"at", "user_id", "action", "object_type", "object_id", "before", "after"}


def audit(api, query=""):
    response = api.get(f"/audit{query}")
    assert response.status_code == 200, response.json
    return response.json


def test_every_change_is_listed_newest_first_with_who_and_what(api, admin):
    channel = make_channel(api, secret="s3cret-value")
    post = make_post(api, [channel["id"]])
    assert api.patch(f"/posts/{post['id']}", json={"title": "Renamed"}).status_code == 200
    assert api.post(f"/posts/{post['id']}/pause").status_code == 200
    body = audit(api)
    assert set(body) == {"items", "page", "per_page", "total"}
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 4)
    assert [i["action"] for i in body["items"]] == [
        "post.paused", "post.updated", "post.created", "channel.created"]
    item = body["items"][1]
    assert set(item) == ITEM_KEYS and UTC_Z.match(item["at"])
    assert (item["user_id"], item["object_type"], item["object_id"]) == (
        admin.id, "post", post["id"])
    assert (item["before"]["title"], item["after"]["title"]) == ("Title", "Renamed")
    assert "s3cret-value" not in json.dumps(body)
    assert body["items"][3]["after"]["config"]["secret_set"] is True


def test_a_channel_s_secret_and_url_path_never_appear(api):
    channel = make_channel(api, url="http://127.0.0.1:9/hooks/T0KEN", secret="first-secret")
    assert api.patch(f"/channels/{channel['id']}", json={
        "config": {"url": "http://127.0.0.1:9/hooks/OTHER", "secret": "second-secret"},
        "name": "Renamed"}).status_code == 200
    assert api.delete(f"/channels/{channel['id']}").status_code == 204
    text = json.dumps(audit(api, "?object_type=channel"))
    for secret in ("first-secret", "second-secret", "T0KEN", "OTHER"):
        assert secret not in text
    assert "Renamed" in text


def test_filters_by_object_person_action_and_time(api, api_member, admin):
    editor = api_member("ed@example.com", "editor")
    channel = make_channel(api)
    mine = make_post(api, [channel["id"]])
    theirs = make_post(editor, [channel["id"]])
    assert api.post(f"/posts/{theirs['id']}/pause").status_code == 200
    of_post = audit(api, f"?object_type=post&object_id={theirs['id']}")
    assert [i["action"] for i in of_post["items"]] == ["post.paused", "post.created"]
    by_admin = audit(api, f"?user_id={admin.id}&action=post.")
    assert [(i["action"], i["object_id"]) for i in by_admin["items"]] == [
        ("post.paused", theirs["id"]), ("post.created", mine["id"])]
    assert audit(api, "?action=post.created")["total"] == 2
    assert audit(api, "?action=channel.")["total"] == 1
    assert audit(api, "?object_type=channel")["items"][0]["object_id"] == channel["id"]
    newest = audit(api)["items"][0]["at"]
    assert audit(api, f"?from={newest}")["total"] >= 1
    assert audit(api, "?to=2000-01-01T00:00Z")["total"] == 0
    assert audit(api, "?from=2999-01-01")["total"] == 0


def test_a_post_s_events_include_its_deliveries(api):
    channel = make_channel(api)
    post = make_post(api, [channel["id"]])
    delivery = post["deliveries"][0]
    assert api.post(f"/deliveries/{delivery['id']}/cancel").status_code == 200
    items = audit(api, f"?object_type=post&object_id={post['id']}")["items"]
    assert [(i["object_type"], i["action"]) for i in items] == [
        ("delivery", "delivery.cancelled"), ("post", "post.created")]


def test_pages(api):
    channel = make_channel(api)
    for n in range(4):
        make_post(api, [channel["id"]], title=f"Post {n}")
    first = audit(api, "?per_page=2&action=post.created")
    second = audit(api, "?per_page=2&page=2&action=post.created")
    assert first["total"] == second["total"] == 4
    titles = [i["after"]["title"] for i in first["items"] + second["items"]]
    assert titles == ["Post 3", "Post 2", "Post 1", "Post 0"]
    assert audit(api, "?per_page=2&page=9")["items"] == []


@pytest.mark.parametrize("query, field", [
    ("?object_type=planet", "object_type"),
    ("?object_type=post&object_id=abc", "object_id"),
    ("?object_type=post&object_id=0", "object_id"),
    ("?object_type=post&object_id=%EF%BC%91", "object_id"),
    ("?object_id=3", "object_type"),
    ("?user_id=-1", "user_id"),
    ("?user_id=99999999999", "user_id"),
    ("?action=POST%00", "action"),
    ("?action=post", "action"),
    ("?action=%ED%A0%80.x", "action"),
    ("?from=yesterday", "from"),
    ("?from=2027-02-30", "from"),
    ("?from=2027-01-02T00:00Z&to=2027-01-01T00:00Z", "to"),
    ("?per_page=201", "per_page"),
])
def test_bad_filters_are_422_naming_the_field(api, query, field):
    assert_error(api.get(f"/audit{query}"), 422, "validation_error", field)


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_may_not_read_it(api_member, role):
    who = api_member(f"{role}@example.com", role)
    assert_error(who.get("/audit"), 403, "forbidden")


def test_an_approver_may(api, api_member):
    make_channel(api)
    assert audit(api_member("ap@example.com", "approver"))["total"] == 1


def test_another_workspace_s_events_never_appear(api, outsider):
    channel = make_channel(api)
    post = make_post(api, [channel["id"]])
    assert audit(outsider)["total"] == 0
    assert audit(outsider, f"?object_type=post&object_id={post['id']}")["items"] == []
    make_channel(outsider, name="Theirs")
    assert [i["action"] for i in audit(api)["items"]] == ["post.created", "channel.created"]
