"""Discord, Telegram, Slack and Dev.to through the real stack: the API makes the channel
and the post, the in-process runner publishes it to a local server that behaves like the
platform (its auth errors, rate-limit replies, ids, limits and deletion rules). Removing a
post (unpublish) is called on the publisher directly: the engine does not schedule it yet."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.helpers import delivery_ids, schedule, show, soon, submit
from tests.platforms import Devto, Discord, Reply, Slack, Telegram
from webapp import publishers
from webapp.crypto import decrypt
from webapp.extensions import db
from webapp.models import Channel, Delivery
from webapp.publishers import Message


@dataclass
class Kind:
    server: type
    config: Callable  # server -> the channel's config
    wrong: Callable  # server -> a config with a wrong credential
    limit: int | None
    account: str  # what check() names
    stored: Callable  # server -> what the platform holds now (by id)


KINDS = {
    "discord": Kind(Discord, lambda s: {"webhook_url": s.webhook_url},
                    lambda s: {"webhook_url": s.webhook_url[:-4] + "nope"}, 2000,
                    "Herald news", lambda s: s.messages),
    "telegram": Kind(Telegram, lambda s: {"bot_token": s.token, "chat_id": s.chat,
                                          "api_url": s.url},
                     lambda s: {"bot_token": "123456:wrong-token-xyz", "chat_id": s.chat,
                                "api_url": s.url}, 4096, "@herald_bot",
                     lambda s: s.messages),
    "slack": Kind(Slack, lambda s: {"bot_token": s.token, "channel": s.channel,
                                    "api_url": s.url},
                  lambda s: {"bot_token": "xoxb-revoked", "channel": s.channel,
                             "api_url": s.url}, 40_000, "herald in Acme",
                  lambda s: s.messages),
    "devto": Kind(Devto, lambda s: {"api_key": s.key, "api_url": s.url},
                  lambda s: {"api_key": "stolen-key", "api_url": s.url}, None,
                  "herald_writer",
                  lambda s: {k: a for k, a in s.articles.items() if a["published"]}),
}
SECRETS = {"discord": "good-token", "telegram": "good-token-abc", "slack": "xoxb-good-token",
           "devto": "good-key"}


@pytest.fixture(params=sorted(KINDS))
def platform(request):
    kind = KINDS[request.param]
    server = kind.server().start()
    yield request.param, kind, server
    server.stop()


def make_channel(api, name, platform, config) -> dict:
    response = api.post("/channels", json={"name": f"{name} {platform}", "platform": platform,
                                           "config": config})
    assert response.status_code == 201, response.json
    return response.json


def unpublish(app, channel_id, external_id):
    """The channel's publisher removes `external_id` (in the test's app context, its
    session's transaction ended first: SQLite's transactions take the write lock)."""
    db.session.remove()
    channel = db.session.get(Channel, channel_id)
    message = Message(delivery_id=0, post_id=0, channel_id=channel_id, title="",
                      body="", due_at="", attempt=1, idempotency_key="",
                      action="unpublish", external_id=external_id)
    publisher = publishers.for_channel(channel)
    db.session.remove()
    return publisher.unpublish(message)


# --- what each platform receives ------------------------------------------------------


@pytest.mark.postgres
def test_discord_posts_to_the_webhook_and_waits_for_the_message(api, runner):
    server = Discord().start()
    try:
        channel = make_channel(api, "Chat", "discord", {"webhook_url": server.webhook_url})
        assert channel["config"] == {"webhook_url_set": True}  # the URL is the credential
        [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]],
                                                           body="Hello Discord")))
        [got] = server.posts()
        assert got.path == "/api/webhooks/1234/good-token?wait=true"
        assert got.json() == {"content": "Hello Discord"}
        assert (row.status, row.external_id) == ("published", "5001")
        assert server.messages["5001"]["content"] == "Hello Discord"
    finally:
        server.stop()


@pytest.mark.postgres
def test_telegram_sends_a_message_to_the_chat(api, runner):
    server = Telegram().start()
    try:
        channel = make_channel(api, "Chat", "telegram", KINDS["telegram"].config(server))
        assert channel["config"] == {"chat_id": "@heraldnews", "api_url": server.url,
                                     "bot_token_set": True}
        [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]],
                                                           body="Hello Telegram")))
        [got] = server.posts()
        assert got.path == "/bot123456:good-token-abc/sendMessage"
        assert got.json() == {"chat_id": "@heraldnews", "text": "Hello Telegram"}
        assert (row.status, row.external_id, row.external_url) == (
            "published", "101", "https://t.me/heraldnews/101")
    finally:
        server.stop()


@pytest.mark.postgres
def test_slack_posts_with_the_bot_token_and_keeps_the_ts(api, runner):
    server = Slack().start()
    try:
        channel = make_channel(api, "Chat", "slack", KINDS["slack"].config(server))
        [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]],
                                                           body="Hello Slack")))
        [got] = server.posts()
        assert got.path == "/chat.postMessage"
        assert got.headers["Authorization"] == "Bearer xoxb-good-token"
        assert got.json() == {"channel": "C0123456789", "text": "Hello Slack"}
        [ts] = server.messages
        assert (row.status, row.external_id) == ("published", ts)
    finally:
        server.stop()


@pytest.mark.postgres
def test_slack_errors_in_a_200_reply_are_failures(api, runner):
    """Slack says channel_not_found with HTTP 200: a permanent failure, not a success."""
    server = Slack().start()
    try:
        config = {**KINDS["slack"].config(server), "channel": "C404"}
        channel = make_channel(api, "Chat", "slack", config)
        [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]])))
        assert (row.status, row.attempts) == ("failed", 1)
        assert row.last_error == "Slack: channel_not_found (HTTP 200)"
    finally:
        server.stop()


@pytest.mark.postgres
def test_devto_creates_a_published_article_with_at_most_four_tags(api, runner):
    server = Devto().start()
    try:
        channel = make_channel(api, "Blog", "devto", KINDS["devto"].config(server))
        post = schedule(api, [channel["id"]], title="Why Herald", body="# Hello\n\nMarkdown",
                        tags=["Python", "web-dev", "python", "Flask", "Open Source", "extra"])
        [row] = runner.until_settled(delivery_ids(post))
        [got] = server.posts()
        assert got.path == "/articles"
        assert got.headers["api-key"] == "good-key"
        assert got.json() == {"article": {"title": "Why Herald",
                                          "body_markdown": "# Hello\n\nMarkdown",
                                          "published": True,
                                          "tags": ["python", "webdev", "flask", "opensource"]}}
        [article] = server.articles.values()
        assert (row.status, row.external_id, row.external_url) == (
            "published", str(article["id"]), article["url"])
    finally:
        server.stop()


# --- every platform -------------------------------------------------------------------


@pytest.mark.postgres
def test_the_platforms_rate_limit_reply_is_retried_after_the_time_it_asks(api, runner,
                                                                           platform):
    name, kind, server = platform
    server.throttle, server.retry_after = 1, 3
    channel = make_channel(api, "Chat", name, kind.config(server))
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]])), timeout=30)
    assert (row.status, row.attempts) == ("published", 2)
    first, second = [r for r in server.received if r.method == "POST"]
    # The test policy waits 1 s before attempt 2; the platform asked for 3.
    assert second.at - first.at >= 3
    assert len(kind.stored(server)) == 1


@pytest.mark.postgres
def test_text_over_the_limit_is_refused_before_scheduling(api, platform):
    name, kind, server = platform
    channel = make_channel(api, "Chat", name, kind.config(server))
    at = {"at": soon(3600), "timezone": "UTC"}
    if kind.limit is None:  # Dev.to: no text limit, but a title is required
        refused = api.post("/posts", json={"body": "text", "channel_ids": [channel["id"]],
                                           "schedule": at})
        assert refused.status_code == 422
        assert "title" in refused.json["error"]["fields"]["title"]
        assert "Dev.to" in refused.json["error"]["fields"]["title"]
    else:
        refused = api.post("/posts", json={"title": "T", "body": "x" * (kind.limit + 1),
                                           "channel_ids": [channel["id"]], "schedule": at})
        assert refused.status_code == 422
        assert str(kind.limit) in refused.json["error"]["fields"]["body"]
        assert api.post("/posts", json={"title": "T", "body": "x" * kind.limit,
                                        "channel_ids": [channel["id"]],
                                        "schedule": at}).status_code == 201
    assert server.received == []


@pytest.mark.postgres
def test_check_names_the_account_and_a_wrong_credential_fails(api, platform):
    name, kind, server = platform
    good = make_channel(api, "Good", name, kind.config(server))
    bad = make_channel(api, "Bad", name, kind.wrong(server))
    assert api.post(f"/channels/{good['id']}/check").json == {"ok": True,
                                                               "account": kind.account}
    answer = api.post(f"/channels/{bad['id']}/check").json
    assert answer["ok"] is False and answer["error"]
    for secret in ("wrong-token-xyz", "xoxb-revoked", "stolen-key", "nope",
                   SECRETS[name]):
        assert secret not in answer["error"]
    assert kind.stored(server) == {}  # checking publishes nothing


@pytest.mark.postgres
def test_unpublish_removes_the_post_and_a_second_time_is_harmless(app, api, runner,
                                                                  platform):
    name, kind, server = platform
    channel = make_channel(api, "Chat", name, kind.config(server))
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]])))
    assert len(kind.stored(server)) == 1
    assert publishers.PUBLISHERS[name].can_unpublish
    assert unpublish(app, channel["id"], row.external_id).ok
    assert kind.stored(server) == {}
    assert unpublish(app, channel["id"], row.external_id).ok  # already gone


@pytest.mark.postgres
def test_telegram_refuses_to_delete_a_message_older_than_48_hours(app, api, runner):
    server = Telegram().start()
    try:
        channel = make_channel(api, "Chat", "telegram", KINDS["telegram"].config(server))
        [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]])))
        server.age(int(row.external_id), hours=49)
        result = unpublish(app, channel["id"], row.external_id)
        assert (result.ok, result.transient) == (False, False)
        assert "48 hours" in result.error and "by hand" in result.error
        assert "good-token-abc" not in result.error
        assert len(server.messages) == 1
    finally:
        server.stop()


@pytest.mark.postgres
def test_a_timeout_after_sending_is_unknown_and_not_sent_again(app, api, runner, platform):
    """None of these platforms deduplicates: the request may have posted (the stand-in
    did), so Herald asks the person to check instead of posting twice."""
    name, kind, server = platform
    app.config["HERALD_HTTP_TIMEOUT"] = 1.0
    server.script = [Reply(None, delay=2.0)]
    channel = make_channel(api, "Chat", name, kind.config(server))
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]])))
    assert (row.status, row.attempts) == ("unknown", 1)
    assert "may have published it" in row.last_error
    assert len([r for r in server.received if r.method == "POST"]) == 1
    assert len(kind.stored(server)) == 1  # it did publish: one post, not two


@pytest.mark.postgres
def test_a_rejected_credential_fails_at_once_without_showing_it(api, runner, platform):
    name, kind, server = platform
    channel = make_channel(api, "Chat", name, kind.wrong(server))
    [row] = runner.until_settled(delivery_ids(schedule(api, [channel["id"]])))
    assert (row.status, row.attempts) == ("failed", 1)
    for secret in ("wrong-token-xyz", "xoxb-revoked", "stolen-key", "nope"):
        assert secret not in row.last_error
    assert "/bot" not in row.last_error  # never Telegram's URL, which holds the token


@pytest.mark.postgres
def test_production_settings_refuse_what_the_platform_does_not_take(app, api):
    app.config["HERALD_ALLOW_PRIVATE_NETWORKS"] = False
    app.config["HERALD_RESOLVER"] = lambda host, port: ["162.159.135.232"]  # no DNS here
    cases = {
        "discord": {"webhook_url": "https://example.com/api/webhooks/1/x"},
        "telegram": {"bot_token": "not a token", "chat_id": "@heraldnews"},
        "slack": {"bot_token": "signing-secret-1234", "channel": "C1"},
    }
    for platform, config in cases.items():
        response = api.post("/channels", json={"name": platform, "platform": platform,
                                               "config": config})
        assert response.status_code == 422, platform
        [field] = response.json["error"]["fields"]
        assert field.startswith("config."), field
    ok = api.post("/channels", json={"name": "d", "platform": "discord", "config": {
        "webhook_url": "https://discord.com/api/webhooks/1/abc"}})
    assert ok.status_code == 201, ok.json
    assert db.session.scalar(select(Channel).where(Channel.name == "d")) is not None


# --- the channel form -----------------------------------------------------------------


def test_the_channel_form_shows_and_saves_a_telegram_channel(signed_in):
    server = Telegram().start()
    try:
        body = show(signed_in, "/channels")
        for platform in ("webhook", "mastodon", "discord", "telegram", "slack", "devto"):
            assert f'<option value="{platform}"' in body
            assert f'data-platform="{platform}"' in body
        assert 'name="telegram_bot_token"' in body and "@BotFather" in body
        assert "Server Settings → Integrations → Webhooks" in body
        response = submit(signed_in, "/channels", {
            "name": "News", "platform": "telegram", "color": "#229ed9",
            "telegram_bot_token": server.token, "telegram_chat_id": server.chat,
            "telegram_api_url": server.url})
        assert response.status_code == 303
        channel = db.session.scalar(select(Channel))
        channel_id = channel.id
        assert (channel.platform, channel.config) == (
            "telegram", {"chat_id": "@heraldnews", "api_url": server.url})
        listing = show(signed_in, "/channels")
        assert "Bot token</dt><dd>set" in listing and "@heraldnews" in listing
        checked = submit(signed_in, f"/channels/{channel_id}/check", form_page="/channels",
                         follow_redirects=True)
        assert "as @herald_bot" in checked.get_data(as_text=True)
        # A wrong token is refused on the form, with what was typed kept.
        refused = submit(signed_in, "/channels", {
            "name": "Bad", "platform": "telegram", "telegram_bot_token": "oops",
            "telegram_chat_id": "@heraldnews"})
        assert refused.status_code == 422
        text = refused.get_data(as_text=True)
        assert 'id="telegram_bot_token-error"' in text and "BotFather" in text
        assert db.session.scalar(select(db.func.count()).select_from(Channel)) == 1
        assert db.session.scalars(select(Delivery)).all() == []
        # Editing shows only Telegram's settings; a token left empty is kept.
        edit = show(signed_in, f"/channels/{channel_id}/edit")
        assert "A token is set" in edit and server.token not in edit
        assert 'data-platform="slack"' not in edit
        assert submit(signed_in, f"/channels/{channel_id}/edit", {
            "name": "News 2", "color": "#229ed9", "telegram_bot_token": "",
            "telegram_chat_id": "-1001", "telegram_api_url": server.url}).status_code == 303
        db.session.remove()
        channel = db.session.get(Channel, channel_id)
        assert channel.config["chat_id"] == "-1001"
        assert decrypt(channel.secrets_encrypted) == {"bot_token": server.token}
    finally:
        server.stop()
