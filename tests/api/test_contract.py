"""The JSON API against API.md where an outside, schema-driven check found it answering
otherwise: edits of posts that already went out, the from/to rule of every list, and ids in
paths (ASCII digits within the 32-bit id range, on every route)."""

import re

import pytest

from tests.api.helpers import assert_error, deliveries_of, later, make_channel, make_post
from tests.helpers import soon
from tests.platforms import Reply

pytestmark = pytest.mark.postgres


# --- editing a post whose deliveries are all done -------------------------------------------


def published_post(api, webhook, runner, *, fail_one=False):
    """A one-off post that went out (on one of two channels when `fail_one`)."""
    channels = [make_channel(api, "Good", url=webhook.url + "/good")]
    if fail_one:
        webhook.by_path["/bad"] = [Reply(400, {"error": "no"})]
        channels.append(make_channel(api, "Bad", url=webhook.url + "/bad"))
    post = make_post(api, [c["id"] for c in channels], at=soon(1.0))
    runner.until_settled([d["id"] for d in post["deliveries"]])
    return api.get(f"/posts/{post['id']}").json


@pytest.mark.parametrize("fail_one", [False, True], ids=["published", "partially_published"])
def test_the_content_of_a_post_that_went_out_cannot_change(api, webhook, runner, fail_one):
    post = published_post(api, webhook, runner, fail_one=fail_one)
    assert post["status"] == ("partially_published" if fail_one else "published")
    path = f"/posts/{post['id']}"
    edits = [{"body": "changed"}, {"title": "changed"},
             {"overrides": {str(post["channel_ids"][0]): "changed"}}]
    if not fail_one:  # a partly published post may get a new time: it resends where it failed
        edits += [{"channel_ids": post["channel_ids"][:1]}, {"status": "draft"},
                  {"schedule": {"at": later(), "timezone": "UTC"}}]
    for edit in edits:
        error = assert_error(api.patch(path, json=edit), 409, "conflict")
        assert "went out" in error["message"], error
    shown = api.get(path).json
    assert (shown["body"], shown["title"], shown["status"]) == \
        (post["body"], post["title"], post["status"])
    assert shown["schedules"] == post["schedules"]
    assert len(deliveries_of(api, post["id"])) == len(post["deliveries"])
    # Filing it (tags, campaign) changes nothing that went out.
    tagged = api.patch(path, json={"tags": ["archive"]})
    assert tagged.status_code == 200, tagged.json
    assert tagged.json["tags"] == ["archive"]


def test_a_recurring_post_with_occurrences_to_come_stays_editable(api, webhook, runner):
    channel = make_channel(api, url=webhook.url + "/hook")
    post = api.post("/posts", json={"body": "first", "channel_ids": [channel["id"]],
                                    "schedule": {"at": soon(1.0), "timezone": "UTC",
                                                 "recurrence": "daily"}}).json
    first = min(post["deliveries"], key=lambda d: d["due_at"])
    runner.until_settled([first["id"]])
    patched = api.patch(f"/posts/{post['id']}", json={"body": "from now on"})
    assert patched.status_code == 200, patched.json
    assert patched.json["body"] == "from now on"
    [published] = [d for d in deliveries_of(api, post["id"]) if d["status"] == "published"]
    assert published["id"] == first["id"]
    assert [r.json()["body"] for r in webhook.posts()] == ["first"]


def test_a_cancelled_post_cannot_change(api):
    channel = make_channel(api)
    post = make_post(api, [channel["id"]])
    api.delete(f"/posts/{post['id']}")
    assert_error(api.patch(f"/posts/{post['id']}", json={"body": "x"}), 409, "conflict")


# --- from / to --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/posts", "/deliveries"])
def test_to_before_from_is_422_naming_to(api, path):
    response = api.get(f"{path}?from=2027-01-02T00:00Z&to=2027-01-01T00:00Z")
    assert_error(response, 422, "validation_error", "to")
    assert api.get(f"{path}?from=2027-01-01T00:00Z&to=2027-01-01T00:00Z").status_code == 200


# --- ids in paths -----------------------------------------------------------------------------


def id_routes(app):
    """(method, rule) of every route of the app with an id in its path."""
    for rule in app.url_map.iter_rules():
        if rule.arguments and not rule.endpoint.startswith("static"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule.rule


NOT_IDS = ["%EF%BC%91", "%D9%A1", "%E0%A5%A7", "%C2%B2", "2147483648", "99999999999999999999",
           "0", "-1", "+1", "1.0", "%201"]


def test_ids_in_paths_are_ascii_digits_within_the_id_range(app, client, api):
    """Werkzeug's `int` takes any Unicode digit ('１' is 1): every id route must answer 404
    for what is not a plain id, before any handler runs."""
    channel = make_channel(api)
    post = make_post(api, [channel["id"]])
    assert post["id"] == 1 and api.get("/posts/1").status_code == 200
    routes = list(id_routes(app))
    assert any(rule.startswith("/api/v1/") for _, rule in routes)
    assert any(not rule.startswith("/api/v1/") for _, rule in routes)
    problems = []
    for method, rule in routes:
        for value in NOT_IDS:
            path = re.sub(r"<(?:\w+:)?\w+>", value, rule)
            response = getattr(client, method.lower())(path, headers=api.headers)
            if response.status_code != 404:
                problems.append((method, path, response.status_code))
    assert problems == []
    # The API answers those 404s in its error shape.
    assert_error(api.get("/posts/%EF%BC%91"), 404, "not_found")


# --- query strings as the OpenAPI document states them ----------------------------------------


@pytest.mark.parametrize("path", ["/posts", "/deliveries", "/channels"])
def test_per_page_above_200_is_422_not_clamped(api, path):
    assert_error(api.get(f"{path}?per_page=201"), 422, "validation_error", "per_page")
    assert api.get(f"{path}?per_page=200").json["per_page"] == 200


def test_from_and_to_take_what_the_document_says_and_nothing_else(api):
    accepted = ["2027-01-31", "2027-01-31T09:00", "2027-01-31T09:00:00Z",
                "2027-01-31T09:00:00.5-05:00", "2027-01-31T09:00:00z", "2028-02-29T00:00Z"]
    refused = ["20270131", "2027-01-31T09", "2027-02-30", "2027-02-29", "2027-13-01",
               "0000-01-01", "2027-01-31T24:00", "2027-01-31T09:00:00+24:00",
               "%EF%BC%92027-01-31", "2027-01-31T09:00%00", "2027-W05-1"]
    for value in accepted:
        assert api.get(f"/deliveries?from={value}").status_code == 200, value
    for value in refused:
        assert_error(api.get(f"/deliveries?from={value}"), 422, "validation_error", "from")
        assert_error(api.get(f"/posts?to={value}"), 422, "validation_error", "to")


def test_a_url_urlsplit_cannot_read_is_422_not_500(api):
    """'http://[x' makes urllib raise ValueError (an unclosed IPv6 bracket)."""
    for platform, config in (("webhook", {"url": "http://[x"}),
                             ("webhook", {"url": "http://127.0.0.1:99999/"}),
                             ("mastodon", {"instance_url": "https://[::1/",
                                           "access_token": "t"})):
        response = api.post("/channels", json={"name": "n", "platform": platform,
                                               "config": config})
        key = "url" if platform == "webhook" else "instance_url"
        assert_error(response, 422, "validation_error", f"config.{key}")
    assert api.get("/channels").json["total"] == 0


def test_fields_the_api_does_not_read_are_ignored_whatever_they_hold(api):
    """Unknown fields are ignored (a client may send back what it read); a number too big
    for a column is refused only in a field that would store it."""
    channel = make_channel(api)
    extra = {"id": 10**30, "created_at": "x", "x-note": {"n": [-(10**40)]}}
    created = api.post("/posts", json={"body": "b", **extra})
    assert created.status_code == 201, created.json
    patched = api.patch(f"/channels/{channel['id']}", json={"name": "N", **extra})
    assert patched.status_code == 200, patched.json
    for field in ("priority", "campaign_id", "channel_ids"):
        value = [10**30] if field == "channel_ids" else 10**30
        assert_error(api.post("/posts", json={"body": "b", field: value}), 422,
                     "validation_error", field)
    assert_error(api.post("/posts", json={"body": "b", "schedule": {
        "at": later(), "timezone": "UTC", "recurrence": "daily", "count": 10**30}}), 422,
        "validation_error", "schedule.count")
    assert_error(api.patch(f"/channels/{channel['id']}", json={
        "rate_limit_per_hour": 10**30}), 422, "validation_error", "rate_limit_per_hour")
