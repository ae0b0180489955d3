"""The JSON API's channels against API.md: lifecycle and shape, secrets never echoed,
validation."""

import json

import pytest
from sqlalchemy import select

from tests.api.helpers import CHANNEL_KEYS, assert_error, assert_utc_times, make_channel
from webapp.extensions import db
from webapp.models import Channel

pytestmark = pytest.mark.postgres


def test_channel_lifecycle_and_shape(app, api):
    created = api.post("/channels", json={
        "name": "Team hook", "platform": "webhook", "color": "#AABBCC",
        "rate_limit_per_hour": 30,
        "config": {"url": "http://127.0.0.1:9/hook", "secret": "s3cr3t-value"}})
    assert created.status_code == 201
    channel = created.json
    assert set(channel) == CHANNEL_KEYS
    assert channel["config"] == {"url": "http://127.0.0.1:9/hook", "secret_set": True}
    assert (channel["name"], channel["platform"], channel["color"],
            channel["rate_limit_per_hour"], channel["paused"]) == \
        ("Team hook", "webhook", "#aabbcc", 30, False)
    assert assert_utc_times(channel) == 2

    assert api.get(f"/channels/{channel['id']}").json == channel
    listed = api.get("/channels").json
    assert listed == {"items": [channel], "page": 1, "per_page": 50, "total": 1}

    patched = api.patch(f"/channels/{channel['id']}", json={"name": "Renamed", "paused": True})
    assert patched.status_code == 200
    assert patched.json["name"] == "Renamed" and patched.json["paused"] is True
    assert patched.json["config"] == channel["config"]  # the secret was kept

    assert api.delete(f"/channels/{channel['id']}").status_code == 204
    assert_error(api.get(f"/channels/{channel['id']}"), 404, "not_found")
    assert api.get("/channels").json["total"] == 0


def test_channel_secrets_are_never_echoed(app, api, mastodon):
    secret, token = "whsec-DO-NOT-ECHO", "mastodon-token-DO-NOT-ECHO"
    hook = make_channel(api, secret=secret)
    toot = api.post("/channels", json={"name": "Toot", "platform": "mastodon", "config": {
        "instance_url": mastodon.url, "access_token": token}}).json
    assert toot["config"] == {"instance_url": mastodon.url, "access_token_set": True}
    responses = [
        api.get("/channels"), api.get(f"/channels/{hook['id']}"),
        api.patch(f"/channels/{hook['id']}", json={"config": {"secret": secret + "2"}}),
        api.patch(f"/channels/{toot['id']}", json={"name": "Toot 2"}),
        api.patch(f"/channels/{hook['id']}", json={"config": {"url": "ftp://nope"}}),
        api.post(f"/channels/{toot['id']}/check"),
        api.post("/channels", json={"name": "bad", "platform": "mastodon", "config": {
            "instance_url": "not a url", "access_token": token}}),
    ]
    for response in responses:
        text = response.get_data(as_text=True)
        assert secret not in text and token not in text
    assert responses[2].json["config"] == {"url": hook["config"]["url"], "secret_set": True}
    # At rest the credentials are encrypted.
    for row in db.session.scalars(select(Channel)):
        assert secret not in json.dumps(row.config) and token not in json.dumps(row.config)
        assert secret not in (row.secrets_encrypted or "")
        assert token not in (row.secrets_encrypted or "")
    # A secret is removed with null, and the rest of the config stays.
    cleared = api.patch(f"/channels/{hook['id']}", json={"config": {"secret": None}})
    assert cleared.json["config"] == {"url": hook["config"]["url"], "secret_set": False}


CHANNEL_INVALID = [
    ({"name": "x", "platform": "myspace", "config": {}}, "platform"),
    ({"name": "x", "config": {"url": "http://127.0.0.1:9/"}}, "platform"),
    ({"name": "", "platform": "webhook", "config": {"url": "http://127.0.0.1:9/"}}, "name"),
    ({"platform": "webhook", "config": {"url": "http://127.0.0.1:9/"}}, "name"),
    ({"name": "x", "platform": "webhook", "config": {}}, "config.url"),
    ({"name": "x", "platform": "webhook", "config": {"url": "ftp://x/"}}, "config.url"),
    ({"name": "x", "platform": "webhook", "config": {"url": "http://"}}, "config.url"),
    ({"name": "x", "platform": "webhook", "config": {"url": "http://127.0.0.1:9/",
                                                      "secret": 12345}}, "config.secret"),
    ({"name": "x", "platform": "webhook", "config": {"url": "http://127.0.0.1:9/",
                                                      "Secret": "typo"}}, "config.Secret"),
    ({"name": "x", "platform": "mastodon", "config": {"instance_url": "http://127.0.0.1:9"}},
     "config.access_token"),
    ({"name": "x", "platform": "mastodon", "config": {"instance_url": "http://127.0.0.1:9",
                                                       "access_token": "t",
                                                       "visibility": "everyone"}},
     "config.visibility"),
    ({"name": "x", "platform": "webhook", "config": "http://127.0.0.1:9/"}, "config"),
    ({"name": "x", "platform": "webhook", "config": {"url": "http://127.0.0.1:9/"},
      "color": "red"}, "color"),
    ({"name": "x", "platform": "webhook", "config": {"url": "http://127.0.0.1:9/"},
      "rate_limit_per_hour": 0}, "rate_limit_per_hour"),
    ({"name": "x", "platform": "webhook", "config": {"url": "http://127.0.0.1:9/"},
      "paused": "yes"}, "paused"),
    ({"name": "x" * 121, "platform": "webhook", "config": {"url": "http://127.0.0.1:9/"}},
     "name"),
    ({"name": "x", "platform": ["webhook"], "config": {"url": "http://127.0.0.1:9/"}},
     "platform"),
]


def test_channel_validation(api):
    for payload, field in CHANNEL_INVALID:
        assert_error(api.post("/channels", json=payload), 422, "validation_error", field)
    assert api.get("/channels").json["total"] == 0


def test_channel_platform_cannot_change(api):
    channel = make_channel(api)
    assert_error(api.patch(f"/channels/{channel['id']}", json={"platform": "mastodon"}), 422,
                 "validation_error", "platform")
    assert api.patch(f"/channels/{channel['id']}",
                     json={"platform": "webhook"}).status_code == 200
    assert api.get(f"/channels/{channel['id']}").json["platform"] == "webhook"
