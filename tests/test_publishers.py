"""Publishers end to end: API → rq-scheduler → worker → a real HTTP server standing in for
the platform. What a webhook receives, to the byte; how every kind of answer is classified;
Mastodon's statuses, idempotency and limits; the private-network guard."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests import helpers
from tests.helpers import Api, delivery_ids, schedule, soon, token_for
from tests.platforms import Reply, Webhook
from tests.servers import free_port
from webapp import create_app
from webapp.engine import jobs, planner
from webapp.extensions import db
from webapp.models import Delivery
from webapp.services.accounts import create_user


def api_delivery(api, delivery_id) -> dict:
    items = api.get("/deliveries?per_page=200").json["items"]
    return next(d for d in items if d["id"] == delivery_id)


def webhook_channel(api, url, secret=None, name="Hook") -> dict:
    config = {"url": url}
    if secret is not None:
        config["secret"] = secret
    response = api.post("/channels", json={"name": name, "platform": "webhook",
                                           "config": config})
    assert response.status_code == 201, response.json
    return response.json


def mastodon_channel(api, server, token="good-token", name="Toot") -> dict:
    response = api.post("/channels", json={"name": name, "platform": "mastodon", "config": {
        "instance_url": server.url, "access_token": token}})
    assert response.status_code == 201, response.json
    return response.json


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def status_of(delivery_id) -> str:
    db.session.remove()
    return db.session.get(Delivery, delivery_id).status


# --- webhook: what the receiver gets -------------------------------------------------------


def test_webhook_request_has_the_contracts_headers_and_body(api, hook_channel, webhook,
                                                            runner):
    post = schedule(api, [hook_channel["id"]], body="Body text ✓", title="Title")
    [delivery_id] = delivery_ids(post)
    [row] = runner.until_settled([delivery_id])
    assert row.status == "published"

    [got] = webhook.posts()
    assert got.path == "/hook"
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Idempotency-Key"] == row.idempotency_key
    assert got.headers["X-Herald-Delivery"] == str(delivery_id)
    assert got.headers["X-Herald-Signature"] == signature("hook-secret", got.body)
    shown = api_delivery(api, delivery_id)
    assert got.json() == {
        "delivery_id": delivery_id, "post_id": post["id"], "channel_id": hook_channel["id"],
        "title": "Title", "body": "Body text ✓", "due_at": shown["due_at"], "attempt": 1,
        "action": "publish",
    }
    assert shown["due_at"].endswith("Z")
    # The reply's id and url are the delivery's external id and url.
    assert shown["external_id"] == "hook-1"
    assert shown["external_url"] == f"{webhook.url}/items/1"
    assert shown["attempts"] == 1 and shown["last_error"] is None


def test_webhook_without_a_secret_is_not_signed(api, webhook, runner):
    channel = webhook_channel(api, webhook.url + "/plain")
    assert channel["config"] == {"url": webhook.url + "/plain", "secret_set": False}
    [delivery_id] = delivery_ids(schedule(api, [channel["id"]]))
    runner.until_settled([delivery_id])
    [got] = webhook.posts()
    assert "X-Herald-Signature" not in got.headers
    assert got.headers["X-Herald-Delivery"] == str(delivery_id)


def test_the_signature_is_of_the_exact_raw_body(api, hook_channel, webhook, runner):
    """A receiver verifies the bytes it got, so the body must not be re-serialised after
    signing (non-ASCII text, quotes and newlines included)."""
    text = 'Zeilen\nmit "Anführungszeichen" und Emoji 🎉'
    [delivery_id] = delivery_ids(schedule(api, [hook_channel["id"]], body=text))
    runner.until_settled([delivery_id])
    [got] = webhook.posts()
    assert got.headers["X-Herald-Signature"] == signature("hook-secret", got.body)
    assert got.headers["X-Herald-Signature"] != signature("other-secret", got.body)
    assert got.json()["body"] == text


def test_a_channel_override_is_what_that_channel_receives(api, webhook, runner):
    a = webhook_channel(api, webhook.url + "/a", name="A")
    b = webhook_channel(api, webhook.url + "/b", name="B")
    post = schedule(api, [a["id"], b["id"]], body="for everyone",
                    overrides={str(b["id"]): "just for B"})
    runner.until_settled(delivery_ids(post))
    assert [r.json()["body"] for r in webhook.posts("/a")] == ["for everyone"]
    assert [r.json()["body"] for r in webhook.posts("/b")] == ["just for B"]


def test_idempotency_key_is_the_same_on_every_retry(api, hook_channel, webhook, runner):
    webhook.by_path["/hook"] = [Reply(503, {"error": "busy"}), Reply(500, "oops")]
    [delivery_id] = delivery_ids(schedule(api, [hook_channel["id"]]))
    [row] = runner.until_settled([delivery_id])
    assert row.status == "published" and row.attempts == 3

    got = webhook.posts()
    assert len(got) == 3
    assert {r.headers["Idempotency-Key"] for r in got} == {row.idempotency_key}
    assert {r.headers["X-Herald-Delivery"] for r in got} == {str(delivery_id)}
    assert [r.json()["attempt"] for r in got] == [1, 2, 3]
    for r in got:  # each attempt's body differs (attempt), each is signed for itself
        assert r.headers["X-Herald-Signature"] == signature("hook-secret", r.body)
    # Same delivery, same content and due time on every attempt.
    assert len({json.dumps({k: v for k, v in r.json().items() if k != "attempt"})
                for r in got}) == 1


def test_reply_ids_are_stored_as_text_and_odd_replies_are_tolerated(api, webhook, runner):
    paths = {"/int": Reply(200, {"id": 42, "url": "https://example.org/42"}),
             "/text": Reply(200, "accepted, thanks"),
             "/list": Reply(201, [1, 2, 3]),
             "/empty": Reply(204, ""),
             "/badurl": Reply(200, {"id": {"nested": 1}, "url": 17}),
             "/huge": Reply(202, {"id": "x" * 300, "url": "https://e.org/" + "y" * 1200})}
    channels = {}
    for path, reply in paths.items():
        webhook.by_path[path] = [reply]
        channels[path] = webhook_channel(api, webhook.url + path, name=path)
    post = schedule(api, [c["id"] for c in channels.values()])
    rows = runner.until_settled(delivery_ids(post))
    by_channel = {r.channel_id: r for r in rows}
    found = {path: (by_channel[c["id"]].status, by_channel[c["id"]].external_id,
                    by_channel[c["id"]].external_url) for path, c in channels.items()}
    assert found == {
        "/int": ("published", "42", "https://example.org/42"),
        "/text": ("published", None, None),
        "/list": ("published", None, None),
        "/empty": ("published", None, None),
        "/badurl": ("published", None, None),
        # Values that do not fit the columns are dropped rather than cut (a cut URL is a
        # wrong URL) and never break the success being recorded.
        "/huge": ("published", None, None),
    }


# --- classification --------------------------------------------------------------------

TRANSIENT = [408, 429, 500, 502, 503, 504]
PERMANENT = [400, 401, 403, 404, 405, 409, 410, 413, 415, 422, 425, 451]
SUCCESS = [200, 201, 202, 204]
REDIRECT = [301, 302, 307]


def test_every_kind_of_answer_is_classified(api, webhook, runner):
    """2xx is success; 408, 429 and 5xx are retried; other 4xx fail at once; redirects
    are not followed (they could lead anywhere, a private address included)."""
    channels = {}
    for code in TRANSIENT + PERMANENT + SUCCESS + REDIRECT:
        path = f"/status/{code}"
        if code in SUCCESS:
            webhook.by_path[path] = [Reply(code, "" if code == 204 else {"id": f"ok-{code}"})]
        elif code in REDIRECT:
            webhook.by_path[path] = [Reply(code, "", headers={"Location": webhook.url + "/hook"})]
        else:  # fails once; a retry (if any) succeeds
            webhook.by_path[path] = [Reply(code, {"error": f"code {code}"})]
        channels[code] = webhook_channel(api, webhook.url + path, name=str(code))
    post = schedule(api, [c["id"] for c in channels.values()])
    rows = {r.channel_id: r for r in runner.until_settled(delivery_ids(post), timeout=30)}

    outcome = {code: (rows[c["id"]].status, rows[c["id"]].attempts,
                      len(webhook.posts(f"/status/{code}"))) for code, c in channels.items()}
    expected = {code: ("published", 2, 2) for code in TRANSIENT}
    expected |= {code: ("failed", 1, 1) for code in PERMANENT + REDIRECT}
    expected |= {code: ("published", 1, 1) for code in SUCCESS}
    assert outcome == expected
    assert webhook.posts("/hook") == []  # no redirect was followed
    for code in PERMANENT:
        assert rows[channels[code]["id"]].last_error.startswith(f"HTTP {code}")


def test_retry_after_in_seconds_and_as_an_http_date_is_honoured(api, webhook, runner):
    """The policy says 1 s between attempts (test config); Retry-After asks for longer."""
    webhook.by_path["/seconds"] = [Reply(429, {"error": "slow down"},
                                         headers={"Retry-After": "3"})]
    retry_at = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
    date = format_datetime(retry_at, usegmt=True)
    webhook.by_path["/date"] = [Reply(503, "maintenance", headers={"Retry-After": date})]
    a = webhook_channel(api, webhook.url + "/seconds", name="seconds")
    b = webhook_channel(api, webhook.url + "/date", name="date")
    post = schedule(api, [a["id"], b["id"]])
    rows = runner.until_settled(delivery_ids(post), timeout=30)
    assert [(r.status, r.attempts) for r in rows] == [("published", 2), ("published", 2)]

    first, second = webhook.posts("/seconds")
    assert second.at - first.at >= 3.0
    first, second = webhook.posts("/date")
    assert second.at >= retry_at.timestamp()
    assert retry_at.timestamp() - first.at > 1.5  # more than the policy's 1 s was asked


def test_a_retrying_delivery_shows_why_and_when(api, hook_channel, webhook, runner):
    webhook.by_path["/hook"] = [Reply(503, "down for maintenance",
                                      headers={"Retry-After": "30"})]
    [delivery_id] = delivery_ids(schedule(api, [hook_channel["id"]]))
    runner.until(lambda: status_of(delivery_id) == "retrying")
    shown = api_delivery(api, delivery_id)
    assert shown["status"] == "retrying" and shown["attempts"] == 1
    assert shown["last_error"] == "HTTP 503: down for maintenance"
    # Retry-After counts from the reply (after the request arrived), up to now.
    next_attempt = datetime.fromisoformat(shown["next_attempt_at"].replace("Z", "+00:00"))
    assert webhook.received[0].at + 30 <= next_attempt.timestamp() + 0.001
    assert next_attempt <= datetime.now(UTC) + timedelta(seconds=30)


def test_a_timeout_is_transient(app, api, hook_channel, webhook, runner):
    app.config["HERALD_HTTP_TIMEOUT"] = 1.0
    webhook.by_path["/hook"] = [Reply(200, {"id": "late"}, delay=2.0)]
    [delivery_id] = delivery_ids(schedule(api, [hook_channel["id"]]))
    runner.until(lambda: status_of(delivery_id) in ("retrying", "published", "failed"))
    shown = api_delivery(api, delivery_id)
    assert shown["status"] == "retrying"
    assert "timed out" in shown["last_error"]
    [row] = runner.until_settled([delivery_id])
    assert (row.status, row.attempts, row.external_id) == ("published", 2, "hook-2")


def test_connection_refused_is_transient_until_the_attempts_run_out(api, runner):
    channel = webhook_channel(api, f"http://127.0.0.1:{free_port()}/nobody-home")
    [delivery_id] = delivery_ids(schedule(api, [channel["id"]]))
    [row] = runner.until_settled([delivery_id], timeout=20)
    # HERALD_RETRY_DELAYS=[1, 1] in tests: three attempts, then failed for good.
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error.startswith("connection failed")


# --- Mastodon ---------------------------------------------------------------------------


def test_mastodon_publishes_a_status_with_the_idempotency_key(api, mastodon, runner):
    channel = mastodon_channel(api, mastodon)
    assert channel["config"] == {"instance_url": mastodon.url, "access_token_set": True}
    post = schedule(api, [channel["id"]], body="Toot toot")
    [row] = runner.until_settled(delivery_ids(post))
    assert row.status == "published"

    [got] = mastodon.posts()
    assert got.path == "/api/v1/statuses"
    assert got.headers["Authorization"] == "Bearer good-token"
    assert got.headers["Idempotency-Key"] == row.idempotency_key
    assert got.json()["status"] == "Toot toot"
    [status] = mastodon.statuses.values()
    shown = api_delivery(api, row.id)
    assert shown["external_id"] == status["id"]
    assert shown["external_url"] == status["url"]


def test_mastodon_retry_after_a_lost_reply_does_not_post_twice(app, api, mastodon, runner):
    """The instance made the status but the answer came too late: the retry carries the
    same Idempotency-Key, the instance returns the same status, and there is one toot."""
    app.config["HERALD_HTTP_TIMEOUT"] = 1.0
    mastodon.script = [Reply(None, delay=2.0)]
    channel = mastodon_channel(api, mastodon)
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]])))
    assert (row.status, row.attempts) == ("published", 2)
    assert len(mastodon.posts()) == 2
    assert len({r.headers["Idempotency-Key"] for r in mastodon.posts()}) == 1
    [status] = mastodon.statuses.values()
    assert row.external_id == status["id"]


def test_mastodon_rejected_token_fails_at_once(api, mastodon, runner):
    channel = mastodon_channel(api, mastodon, token="revoked-token")
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]])))
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("HTTP 401")
    assert "revoked-token" not in row.last_error
    assert len(mastodon.posts()) == 1 and mastodon.statuses == {}


def test_mastodon_character_limit_is_checked_when_scheduling(api, mastodon, webhook):
    toot = mastodon_channel(api, mastodon)
    hook = webhook_channel(api, webhook.url + "/hook")
    at = {"at": soon(3600), "timezone": "UTC"}

    too_long = api.post("/posts", json={"body": "x" * 501, "channel_ids": [toot["id"]],
                                        "schedule": at})
    assert too_long.status_code == 422
    error = too_long.json["error"]
    assert error["code"] == "validation_error"
    assert "501" in error["fields"]["body"] and "500" in error["fields"]["body"]

    assert api.post("/posts", json={"body": "x" * 500, "channel_ids": [toot["id"]],
                                    "schedule": at}).status_code == 201
    # The limit applies to the text that channel gets: a long body with a short override
    # is fine; a long override is refused under its own field.
    ok = api.post("/posts", json={"body": "y" * 2000, "channel_ids": [toot["id"], hook["id"]],
                                  "overrides": {str(toot["id"]): "short"}, "schedule": at})
    assert ok.status_code == 201, ok.json
    bad = api.post("/posts", json={"body": "short", "channel_ids": [toot["id"], hook["id"]],
                                   "overrides": {str(toot["id"]): "z" * 600}, "schedule": at})
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {f"overrides.{toot['id']}"}
    # Editing a post into the limit's way is refused the same way, and changes nothing.
    post_id = ok.json["id"]
    patched = api.patch(f"/posts/{post_id}", json={"overrides": {}})
    assert patched.status_code == 422 and "body" in patched.json["error"]["fields"]
    assert api.get(f"/posts/{post_id}").json["overrides"] == {str(toot["id"]): "short"}
    assert mastodon.posts() == []


def test_mastodon_check_uses_verify_credentials(api, mastodon):
    good = mastodon_channel(api, mastodon)
    bad = mastodon_channel(api, mastodon, token="wrong", name="Bad")
    assert api.post(f"/channels/{good['id']}/check").json == {"ok": True, "account": "@herald"}
    answer = api.post(f"/channels/{bad['id']}/check").json
    assert answer["ok"] is False and answer["error"].startswith("HTTP 401")
    assert [(r.method, r.path) for r in mastodon.received] == [
        ("GET", "/api/v1/accounts/verify_credentials")] * 2
    assert mastodon.received[0].headers["Authorization"] == "Bearer good-token"
    assert mastodon.posts() == []  # checking publishes nothing


def test_check_of_an_unreachable_or_broken_destination(api, webhook):
    gone = webhook_channel(api, f"http://127.0.0.1:{free_port()}/x", name="gone")
    answer = api.post(f"/channels/{gone['id']}/check")
    assert answer.status_code == 200
    assert answer.json["ok"] is False and "connection failed" in answer.json["error"]
    webhook.by_path["/broken"] = [Reply(502, "bad gateway")]
    broken = webhook_channel(api, webhook.url + "/broken", name="broken")
    assert api.post(f"/channels/{broken['id']}/check").json["ok"] is False
    fine = webhook_channel(api, webhook.url + "/fine", name="fine")
    assert api.post(f"/channels/{fine['id']}/check").json == {"ok": True}
    assert webhook.posts() == []


def test_mastodon_instance_url_with_a_trailing_slash_or_path(api, mastodon, runner):
    response = api.post("/channels", json={"name": "slash", "platform": "mastodon", "config": {
        "instance_url": mastodon.url + "/", "access_token": "good-token"}})
    assert response.status_code == 201
    [row] = runner.until_settled(delivery_ids(schedule(api, [response.json["id"]])))
    assert row.status == "published"
    assert [r.path for r in mastodon.posts()] == ["/api/v1/statuses"]


# --- the private-network guard ---------------------------------------------------------


@pytest.fixture
def strict(app):
    """An app with HERALD_ALLOW_PRIVATE_NETWORKS off (the production default) on the same
    database and Redis, and an API client for its admin."""
    strict_app = create_app({**helpers.app_config(app.config["SQLALCHEMY_DATABASE_URI"],
                                                  app.config["REDIS_URL"]),
                             "HERALD_ALLOW_PRIVATE_NETWORKS": False})
    with strict_app.app_context():
        user, workspace = create_user("strict@example.com", "correct horse", "Strict")
        token = token_for(user, workspace.id)
        yield strict_app, Api(strict_app.test_client(), token)
        db.session.remove()
        db.engine.dispose()


def test_production_default_refuses_private_networks(app, monkeypatch):
    monkeypatch.delenv("HERALD_ALLOW_PRIVATE_NETWORKS", raising=False)
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "SECRET_KEY": "x"})
    assert fresh.config["HERALD_ALLOW_PRIVATE_NETWORKS"] is False
    monkeypatch.setenv("HERALD_ALLOW_PRIVATE_NETWORKS", "1")
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "SECRET_KEY": "x"})
    assert fresh.config["HERALD_ALLOW_PRIVATE_NETWORKS"] is True


PRIVATE_HOSTS = [
    "127.0.0.1", "localhost", "[::1]", "127.1.2.3", "10.0.0.8", "192.168.1.20", "172.16.0.1",
    "169.254.169.254", "0.0.0.0", "2130706433", "[::ffff:127.0.0.1]", "100.64.0.1",
    "[fd00::1]", "[2002:7f00:1::]", "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
]


def test_private_and_loopback_urls_are_refused_with_a_clear_422(strict):
    _, api = strict
    for host in PRIVATE_HOSTS:
        url = f"http://{host}:8080/hook"
        response = api.post("/channels", json={"name": "Hook", "platform": "webhook",
                                               "config": {"url": url}})
        assert response.status_code == 422, (host, response.json)
        error = response.json["error"]
        message = error["fields"]["config.url"]
        assert "private or loopback" in message and "HERALD_ALLOW_PRIVATE_NETWORKS" in message
        assert error["code"] == "validation_error"
        masto = api.post("/channels", json={"name": "Toot", "platform": "mastodon", "config": {
            "instance_url": url, "access_token": "t"}})
        assert masto.status_code == 422, host
        assert "private or loopback" in masto.json["error"]["fields"]["config.instance_url"]
    assert api.get("/channels").json["total"] == 0


def test_private_urls_are_refused_on_change_and_at_publish_time(app, api, webhook, mastodon,
                                                                  runner):
    # Made while private networks were allowed; then the setting is turned off.
    hook = webhook_channel(api, webhook.url + "/hook")
    toot = mastodon_channel(api, mastodon)
    post = schedule(api, [hook["id"], toot["id"]], seconds=1.0)
    app.config["HERALD_ALLOW_PRIVATE_NETWORKS"] = False
    patched = api.patch(f"/channels/{hook['id']}", json={"config": {"url": webhook.url + "/x"}})
    assert patched.status_code == 422
    assert "config.url" in patched.json["error"]["fields"]
    assert api.get(f"/channels/{hook['id']}").json["config"]["url"] == webhook.url + "/hook"
    check = api.post(f"/channels/{toot['id']}/check").json
    assert check["ok"] is False and "private or loopback" in check["error"]

    # Publishing re-checks the address (it may have changed since): refused, for good,
    # and nothing is sent.
    rows = runner.until_settled(delivery_ids(post))
    assert [(r.status, r.attempts) for r in rows] == [("failed", 1), ("failed", 1)]
    assert all("private or loopback" in r.last_error for r in rows)
    assert webhook.posts() == [] and mastodon.received == []


def test_public_urls_pass_the_guard_without_network_access(strict):
    """Literal public addresses need no DNS; they are accepted (nothing is sent)."""
    _, api = strict
    response = api.post("/channels", json={"name": "Hook", "platform": "webhook",
                                           "config": {"url": "https://93.184.215.14/hook"}})
    assert response.status_code == 201, response.json
    assert response.json["config"]["url"] == "https://93.184.215.14/hook"


def test_job_data_in_redis_carries_ids_not_content(app, api, hook_channel):
    schedule(api, [hook_channel["id"]], body="the secret plan", seconds=30)
    planner.plan()
    keys = [k for k in jobs.redis().keys("rq:job:*")]
    assert keys, "a job was scheduled"
    dump = b"".join(v for k in keys for v in jobs.redis().hgetall(k).values())
    assert b"the secret plan" not in dump and b"hook-secret" not in dump


def test_webhook_server_fixture_answers_head_and_get():
    """The stand-in itself: every method is recorded (tests above rely on it)."""
    server = Webhook().start()
    try:
        import requests

        assert requests.head(server.url + "/h", timeout=5).status_code == 200
        assert requests.get(server.url + "/g", timeout=5).json()["id"] == "hook-2"
        assert [(r.method, r.path) for r in server.received] == [("HEAD", "/h"), ("GET", "/g")]
    finally:
        server.stop()
