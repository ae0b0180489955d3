"""Bluesky end to end: API → rq-scheduler → worker → a stand-in PDS. Records under the
delivery's record key, facets in UTF-8 bytes, one session kept in Redis and refreshed,
rate limits, the 300-grapheme limit, check and unpublish; the TID and facet helpers."""

from datetime import UTC, datetime

import pytest

from tests.helpers import delivery_ids, schedule, soon
from tests.platforms import Reply
from tests.platforms_bluesky import TID, Bluesky
from webapp import publishers
from webapp.engine import jobs
from webapp.extensions import db
from webapp.models import Channel, Delivery
from webapp.publishers.base import Message
from webapp.publishers.bluesky import byte_range, facets, record_key, spans, tid

CREATE_SESSION = "com.atproto.server.createSession"
CREATE_RECORD = "com.atproto.repo.createRecord"


@pytest.fixture
def bsky():
    server = Bluesky().start()
    yield server
    server.stop()


def bluesky_channel(api, server, password=None, name="Sky") -> dict:
    response = api.post("/channels", json={"name": name, "platform": "bluesky", "config": {
        "handle": "@Alice.bsky.social", "app_password": password or server.password,
        "service_url": server.url}})
    assert response.status_code == 201, response.json
    return response.json


def publisher_for(channel_id):
    return publishers.for_channel(db.session.get(Channel, channel_id), redis=jobs.redis())


# --- publishing through the stack -------------------------------------------------------------


@pytest.mark.postgres
def test_publishes_a_post_with_facets_under_the_deliverys_record_key(api, bsky, runner):
    channel = bluesky_channel(api, bsky)
    assert channel["config"] == {"handle": "@Alice.bsky.social", "service_url": bsky.url,
                                 "app_password_set": True}
    body = ("Café ☕ news for @bob.example.com and @nobody.example.org: "
            "https://herald.example/a?b=1. #launch")
    post = schedule(api, [channel["id"]], body=body)
    [row] = runner.until_settled(delivery_ids(post))
    assert row.status == "published", row.last_error

    rkey = record_key(row.due_at.replace(tzinfo=UTC), row.id)
    assert TID.fullmatch(rkey)
    [got] = bsky.calls(CREATE_RECORD)
    sent = got.json()
    assert (sent["repo"], sent["collection"], sent["rkey"]) == (
        bsky.did, "app.bsky.feed.post", rkey)
    record = sent["record"]
    assert record["$type"] == "app.bsky.feed.post" and record["text"] == body
    assert record["createdAt"].endswith("Z")
    encoded = body.encode()
    shown = [(encoded[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode(), f["features"])
             for f in record["facets"]]
    assert shown == [
        ("@bob.example.com", [{"$type": "app.bsky.richtext.facet#mention",
                               "did": "did:plc:bob00000000000000000000"}]),
        ("https://herald.example/a?b=1", [{"$type": "app.bsky.richtext.facet#link",
                                           "uri": "https://herald.example/a?b=1"}]),
        ("#launch", [{"$type": "app.bsky.richtext.facet#tag", "tag": "launch"}]),
    ]  # @nobody.example.org does not resolve: plain text
    assert row.external_id == f"at://{bsky.did}/app.bsky.feed.post/{rkey}"
    assert row.external_url == f"https://bsky.app/profile/alice.bsky.social/post/{rkey}"
    # No credential anywhere it could be read.
    assert bsky.password not in (row.last_error or "")


@pytest.mark.postgres
def test_a_retry_after_a_lost_reply_does_not_post_twice(app, api, bsky, runner):
    app.config["HERALD_HTTP_TIMEOUT"] = 1.0
    bsky.by_path["/xrpc/" + CREATE_RECORD] = [Reply(None, delay=2.0)]  # made, answered late
    channel = bluesky_channel(api, bsky)
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]], body="Once")))
    assert (row.status, row.attempts) == ("published", 2), row.last_error
    first, second = bsky.calls(CREATE_RECORD)
    assert first.json()["rkey"] == second.json()["rkey"]
    assert [r["text"] for r in bsky.posts_made()] == ["Once"]
    assert row.external_id == f"at://{bsky.did}/app.bsky.feed.post/{first.json()['rkey']}"
    assert len(bsky.calls("com.atproto.repo.getRecord")) == 1


@pytest.mark.postgres
def test_the_session_is_kept_across_jobs_and_refreshed_when_expired(api, bsky, runner):
    channel = bluesky_channel(api, bsky)
    for n in range(3):
        [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]],
                                                           body=f"post {n}")))
        assert row.status == "published", row.last_error
    assert len(bsky.calls(CREATE_SESSION)) == 1  # one session for every job
    assert len(bsky.posts_made()) == 3
    # What Redis holds is encrypted: no token or password in it.
    [key] = jobs.redis().keys("herald:session:*")
    kept = jobs.redis().get(key).decode()
    assert bsky.password not in kept
    assert not any(token in kept for token in list(bsky.access) + list(bsky.refresh))
    assert 0 < jobs.redis().ttl(key) <= 60 * 86400

    bsky.expire_access_tokens()
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]], body="later")))
    assert (row.status, row.attempts) == ("published", 1), row.last_error
    assert len(bsky.calls("com.atproto.server.refreshSession")) == 1
    assert len(bsky.calls(CREATE_SESSION)) == 1
    # The refused request, then the same one with the new token.
    refused, accepted = bsky.calls(CREATE_RECORD)[-2:]
    assert refused.json() == accepted.json()
    assert refused.headers["Authorization"] != accepted.headers["Authorization"]


def test_a_refused_refresh_opens_a_new_session(api, bsky, runner):
    channel = bluesky_channel(api, bsky)
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]], body="one")))
    bsky.expire_access_tokens()
    bsky.refresh.clear()  # the refresh token was revoked
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]], body="two")))
    assert row.status == "published", row.last_error
    assert len(bsky.calls(CREATE_SESSION)) == 2
    assert len(bsky.posts_made()) == 2


def test_a_changed_app_password_is_never_answered_with_the_old_session(api, bsky, runner):
    channel = bluesky_channel(api, bsky)
    runner.until_settled(delivery_ids(schedule(api, [channel["id"]], body="one")))
    assert api.patch(f"/channels/{channel['id']}",
                     json={"config": {"app_password": "wrong-pass-word"}}).status_code == 200
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]], body="two")))
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("app password refused")
    assert "wrong-pass-word" not in row.last_error
    assert len(bsky.calls(CREATE_SESSION)) == 2


@pytest.mark.postgres
def test_429_is_retried_after_its_ratelimit_reset(api, bsky, runner):
    channel = bluesky_channel(api, bsky)
    reset = bsky.rate_limit(CREATE_RECORD, reset_in=5)
    [delivery_id] = delivery_ids(schedule(api, [channel["id"]], body="patience"))
    [row] = runner.until_settled([delivery_id], timeout=30)
    assert (row.status, row.attempts) == ("published", 2), row.last_error
    first, second = bsky.calls(CREATE_RECORD)
    assert first.at < reset - 2  # so the policy's 1 s would have come sooner
    assert second.at >= reset
    assert len(bsky.posts_made()) == 1


def test_createsession_is_limited_like_the_real_service(bsky):
    import requests

    url = bsky.url + "/xrpc/" + CREATE_SESSION
    body = {"identifier": bsky.handle, "password": bsky.password}
    answers = [requests.post(url, json=body, timeout=5) for _ in range(31)]
    assert {a.status_code for a in answers[:30]} == {200}
    assert answers[30].status_code == 429
    assert int(answers[30].headers["ratelimit-reset"]) > datetime.now(UTC).timestamp()


@pytest.mark.postgres
def test_over_300_graphemes_is_refused_when_scheduling(api, bsky):
    channel = bluesky_channel(api, bsky)
    at = {"at": soon(3600), "timezone": "UTC"}
    # 300 graphemes of several code points each are fine; 301 are not.
    assert api.post("/posts", json={"body": "é" * 300, "channel_ids": [channel["id"]],
                                    "schedule": at}).status_code == 201
    refused = api.post("/posts", json={"body": "e\u0301" * 301,
                                       "channel_ids": [channel["id"]], "schedule": at})
    assert refused.status_code == 422
    message = refused.json["error"]["fields"]["body"]
    assert "301" in message and "300" in message
    # Under 300 graphemes but over the 3,000 bytes the record allows.
    family = "👨‍👩‍👧‍👦"  # 25 bytes, one grapheme
    heavy = api.post("/posts", json={"body": family * 150, "channel_ids": [channel["id"]],
                                     "schedule": at})
    assert heavy.status_code == 422 and "3000" in heavy.json["error"]["fields"]["body"]
    assert bsky.calls(CREATE_RECORD) == []


@pytest.mark.postgres
def test_bad_settings_are_refused(api, bsky):
    for config, field in (({"handle": "not a handle", "app_password": "x"}, "config.handle"),
                          ({"handle": "alice.bsky.social"}, "config.app_password"),
                          ({"handle": "alice.bsky.social", "app_password": "x",
                            "service_url": "ftp://x"}, "config.service_url")):
        response = api.post("/channels", json={"name": "x", "platform": "bluesky",
                                               "config": config})
        assert response.status_code == 422, config
        assert field in response.json["error"]["fields"]


@pytest.mark.postgres
def test_check_names_the_handle_it_connected_to(app, api, bsky):
    channel = bluesky_channel(api, bsky)
    assert api.post(f"/channels/{channel['id']}/check").json == {
        "ok": True, "account": "alice.bsky.social"}
    result = publisher_for(channel["id"]).check()
    assert result.ok and result.account == "alice.bsky.social"
    assert len(bsky.calls(CREATE_SESSION)) == 1  # the second check reused the session
    assert len(bsky.calls("com.atproto.server.getSession")) == 2
    wrong = bluesky_channel(api, bsky, password="nope-nope-nope", name="wrong")
    answer = api.post(f"/channels/{wrong['id']}/check").json
    assert answer["ok"] is False and answer["error"].startswith("app password refused")
    assert bsky.posts_made() == []


def test_unpublish_deletes_the_record_and_a_gone_one_counts_as_removed(app, api, bsky,
                                                                         runner):
    channel = bluesky_channel(api, bsky)
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]], body="bye")))
    message = Message(delivery_id=row.id, post_id=row.post_id, channel_id=row.channel_id,
                      title="", body="", due_at="", attempt=1, idempotency_key="",
                      action="unpublish", external_id=row.external_id)
    publisher = publisher_for(channel["id"])
    assert publisher.can_unpublish
    assert publisher.unpublish(message).ok
    assert bsky.posts_made() == [] and bsky.deleted == [row.external_id.rsplit("/", 1)[1]]
    [got] = bsky.calls("com.atproto.repo.deleteRecord")
    assert got.json() == {"repo": bsky.did, "collection": "app.bsky.feed.post",
                          "rkey": bsky.deleted[0]}
    assert publisher.unpublish(message).ok  # already gone
    bsky.by_path["/xrpc/com.atproto.repo.deleteRecord"] = [Reply(502, "bad gateway")]
    failed = publisher.unpublish(message)
    assert not failed.ok and failed.transient
    bad = publisher.unpublish(Message(**{**message.__dict__, "external_id": "12345"}))
    assert not bad.ok and not bad.transient


def test_a_taken_record_key_with_another_text_is_not_counted_as_published(app, api, bsky,
                                                                            runner):
    channel = bluesky_channel(api, bsky)
    [delivery_id] = delivery_ids(schedule(api, [channel["id"]], body="mine", seconds=3600))
    row = db.session.get(Delivery, delivery_id)
    rkey = record_key(row.due_at.replace(tzinfo=UTC), row.id)
    bsky.records[("app.bsky.feed.post", rkey)] = {"$type": "app.bsky.feed.post",
                                                  "text": "someone else's"}
    message = Message(delivery_id=row.id, post_id=row.post_id, channel_id=row.channel_id,
                      title="", body="mine", due_at=row.due_at.replace(tzinfo=UTC).isoformat(),
                      attempt=1, idempotency_key=row.idempotency_key)
    result = publisher_for(channel["id"]).publish(message)
    assert not result.ok and not result.transient and rkey in result.error


# --- record keys and facets ---------------------------------------------------------------------


def test_tid_is_valid_sortable_and_deterministic():
    due = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    keys = [record_key(due, delivery_id) for delivery_id in (1, 2, 1023, 1024, 5_000_000)]
    assert all(len(k) == 13 and TID.fullmatch(k) for k in keys)
    assert len(set(keys)) == len(keys)  # same second, different deliveries
    assert record_key(due, 1) == record_key("2026-12-04T09:00:00Z", 1)  # every attempt
    later = [record_key(datetime(2026, 12, 4, 9, 0, s, tzinfo=UTC), 7) for s in range(0, 60, 7)]
    assert later == sorted(later)  # TIDs sort as their times
    assert record_key(due, 5_000_000) < record_key(due.replace(second=1), 1)
    # The encoding itself: 0 is all '2's; the top bit stays 0.
    assert tid(0, 0) == "2222222222222"
    assert tid((1 << 53) - 1, 1023) == "bzzzzzzzzzzzz"  # 63 bits of 65
    with pytest.raises(ValueError):
        tid(1 << 53, 0)
    # Decoding gives back the due second's microseconds and the clock id.
    value = 0
    for char in keys[0]:
        value = value * 32 + "234567abcdefghijklmnopqrstuvwxyz".index(char)
    assert (value >> 10) // 1_000_000 == int(due.timestamp()) and value & 1023 == 1


def test_facet_byte_offsets_count_utf8_bytes():
    text = "Ünïcödé 👍🏽 #café! see https://x.example/ü and @bob.example.com."
    found = facets(text, {"bob.example.com": "did:plc:bob"})
    encoded = text.encode()
    pieces = [encoded[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode() for f in found]
    assert pieces == ["#café", "https://x.example/ü", "@bob.example.com"]
    assert found[0]["index"]["byteStart"] == len("Ünïcödé 👍🏽 ".encode())
    assert found[0]["index"]["byteStart"] != len("Ünïcödé 👍🏽 ")  # bytes, not characters
    assert found[0]["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "café"}]


def test_what_is_and_is_not_a_link_mention_or_tag():
    def kinds(text):
        return [(s.kind, s.value) for s in spans(text)]

    assert kinds("mail me@example.com or #123 or a#b") == []
    assert kinds("(see https://a.example/x_(y)).") == [("link", "https://a.example/x_(y)")]
    assert kinds("https://a.example/#frag @bob.example.com's") == [
        ("link", "https://a.example/#frag"), ("mention", "bob.example.com")]
    assert kinds("@Bob.Example.com, #tag2026") == [("mention", "bob.example.com"),
                                                   ("tag", "tag2026")]
    assert kinds("@nodot and #" + "x" * 65) == []
    text = "a 😀 https://b.example"
    [span] = spans(text)
    assert byte_range(text, span) == {"byteStart": 7, "byteEnd": 7 + len("https://b.example")}


def test_the_channels_page_lists_a_bluesky_channel_without_its_password(signed_in, api, bsky):
    bluesky_channel(api, bsky)
    page = signed_in.get("/channels")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Sky" in text and "300 characters" in text and bsky.password not in text
