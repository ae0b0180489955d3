"""What could not be published is told: one in-app notification and one e-mail (through a
real SMTP server), and no credential leaks into the e-mail, Redis, API answers or logs."""

import email
import email.policy
import logging
import threading

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from tests.helpers import input_value, page, show, soon, submit
from tests.platforms import Reply
from tests.servers import free_port
from webapp.engine import jobs
from webapp.extensions import db
from webapp.models import Delivery, Notification, User
from webapp.services.accounts import create_user

HOOK_SECRET = "whsec-Zx81-never-shown"
MASTODON_TOKEN = "masto-tok-Qp27-never-shown"


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages = []  # (envelope sender, recipients, parsed message, raw bytes)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((envelope.mail_from, sorted(envelope.rcpt_tos),
                                  email.message_from_bytes(envelope.content,
                                                           policy=email.policy.default),
                                  envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


@pytest.fixture
def team(app, admin):
    """The admin (from conftest) plus an editor, a viewer and someone of another
    workspace; the editor has a separate notification address."""
    editor, _ = create_user("ed@example.com", "correct horse", "Acme", "editor")
    editor.notify_email = "ed-alerts@example.com"
    create_user("vi@example.com", "correct horse", "Acme", "viewer")
    create_user("stranger@example.com", "correct horse", "Elsewhere", "admin")
    db.session.commit()
    return ["admin@example.com", "ed-alerts@example.com"]


def failing_channels(api, webhook, mastodon):
    hook = api.post("/channels", json={"name": "Hook", "platform": "webhook", "config": {
        "url": webhook.url + "/hook", "secret": HOOK_SECRET}}).json
    toot = api.post("/channels", json={"name": "Toot", "platform": "mastodon", "config": {
        "instance_url": mastodon.url, "access_token": MASTODON_TOKEN}}).json
    return hook, toot


def everything_in_redis() -> bytes:
    r = jobs.redis()
    chunks = []
    for key in r.scan_iter("*"):
        kind = r.type(key).decode()
        chunks.append(key)
        if kind == "string":
            chunks.append(r.get(key) or b"")
        elif kind == "hash":
            chunks += [k + v for k, v in r.hgetall(key).items()]
        elif kind == "list":
            chunks += r.lrange(key, 0, -1)
        elif kind == "set":
            chunks += list(r.smembers(key))
        elif kind == "zset":
            chunks += [m for m, _ in r.zrange(key, 0, -1, withscores=True)]
    return b"\n".join(chunks)


def test_a_permanent_failure_makes_one_notification_and_one_email(app, api, team, webhook,
                                                                    smtp, runner):
    app.config["SMTP_URL"] = smtp.url
    app.config["MAIL_FROM"] = "herald@example.org"
    webhook.by_path["/hook"] = [Reply(422, {"error": "title missing"})]
    hook = api.post("/channels", json={"name": "Team hook", "platform": "webhook", "config": {
        "url": webhook.url + "/hook", "secret": HOOK_SECRET}}).json
    post = api.post("/posts", json={"title": "Spring sale", "body": "It is on",
                                    "channel_ids": [hook["id"]],
                                    "schedule": {"at": soon(1.0), "timezone": "UTC"}}).json
    [delivery_id] = [d["id"] for d in post["deliveries"]]
    [row] = runner.until_settled([delivery_id])
    assert (row.status, row.attempts) == ("failed", 1)
    runner.until(lambda: len(smtp.messages) >= 1)
    runner.step()  # anything else queued would run now

    [note] = db.session.scalars(select(Notification)).all()
    assert (note.kind, note.delivery_id) == ("delivery_failed", delivery_id)
    assert "Team hook" in note.title and "Spring sale" in note.title
    assert "HTTP 422" in note.body and note.emailed_at is not None

    [(sender, recipients, message, _)] = smtp.messages
    assert sender == "herald@example.org"
    assert recipients == sorted(team)  # editors and up (a viewer cannot retry), this
    # workspace only, at their notification address when they have one
    assert message["Subject"] == f"[Herald] {note.title}"
    content = message.get_content()
    assert "HTTP 422" in content and "/queue?status=failed" in content


def test_transient_failures_notify_once_when_the_attempts_run_out(app, api, team, smtp,
                                                                  runner):
    app.config["SMTP_URL"] = smtp.url
    hook = api.post("/channels", json={"name": "Gone", "platform": "webhook", "config": {
        "url": f"http://127.0.0.1:{free_port()}/x"}}).json
    post = api.post("/posts", json={"body": "retry me", "channel_ids": [hook["id"]],
                                    "schedule": {"at": soon(1.0), "timezone": "UTC"}}).json
    [row] = runner.until_settled([d["id"] for d in post["deliveries"]], timeout=20)
    assert (row.status, row.attempts) == ("failed", 3)
    runner.until(lambda: len(smtp.messages) >= 1)
    runner.step()
    assert len(db.session.scalars(select(Notification)).all()) == 1
    assert len(smtp.messages) == 1


def test_without_smtp_the_notification_is_in_app_only(app, api, team, webhook, runner):
    assert app.config["SMTP_URL"] == ""
    webhook.by_path["/hook"] = [Reply(401, "no")]
    hook = api.post("/channels", json={"name": "Hook", "platform": "webhook",
                                       "config": {"url": webhook.url + "/hook"}}).json
    post = api.post("/posts", json={"body": "x", "channel_ids": [hook["id"]],
                                    "schedule": {"at": soon(1.0), "timezone": "UTC"}}).json
    runner.until_settled([d["id"] for d in post["deliveries"]])
    [note] = db.session.scalars(select(Notification)).all()
    assert note.emailed_at is None
    assert not any(k.startswith(b"rq:job:notification") for k in jobs.redis().keys("*"))


def test_smtp_url_with_credentials_logs_in(app, api, admin, webhook, runner):
    class Check:
        def __init__(self):
            self.logins = []

        def __call__(self, server, session, envelope, mechanism, auth_data):
            self.logins.append((auth_data.login, auth_data.password))
            ok = isinstance(auth_data, LoginPassword) and \
                (auth_data.login, auth_data.password) == (b"mailer", b"p@ss:w/rd")
            return AuthResult(success=ok)

    inbox, check = Inbox(), Check()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(),
                            authenticator=check, auth_require_tls=False)
    controller.start()
    try:
        app.config["SMTP_URL"] = f"smtp://mailer:p%40ss%3Aw%2Frd@127.0.0.1:{controller.port}"
        webhook.by_path["/hook"] = [Reply(404, "gone")]
        hook = api.post("/channels", json={"name": "Hook", "platform": "webhook",
                                           "config": {"url": webhook.url + "/hook"}}).json
        post = api.post("/posts", json={"body": "x", "channel_ids": [hook["id"]],
                                        "schedule": {"at": soon(1.0), "timezone": "UTC"}}).json
        runner.until_settled([d["id"] for d in post["deliveries"]])
        runner.until(lambda: len(inbox.messages) == 1)
    finally:
        controller.stop()
    assert check.logins == [(b"mailer", b"p@ss:w/rd")]
    assert inbox.messages[0][1] == ["admin@example.com"]


def test_no_secret_leaks_anywhere(app, api, team, webhook, mastodon, smtp, runner, caplog):
    """A channel secret and an access token, through a failed publication, its retries, the
    notification and its e-mail: neither shows in the e-mail, in Redis (job data
    included), in any API answer or in the logs. Even a platform that echoes the
    credential back in its error is redacted."""
    caplog.set_level(logging.DEBUG)
    app.config["SMTP_URL"] = smtp.url
    # The webhook answers with an error that quotes the signature header's secret, and the
    # Mastodon stand-in sees a token it does not accept (401) and quotes it.
    webhook.by_path["/hook"] = [Reply(503, {"error": f"overloaded, secret {HOOK_SECRET}"}),
                                Reply(400, f"bad signature; expected secret {HOOK_SECRET}")]
    mastodon.script = [Reply(503, f"token {MASTODON_TOKEN} overloaded"),
                       Reply(401, f"The access token {MASTODON_TOKEN} was revoked")]
    hook, toot = failing_channels(api, webhook, mastodon)
    post = api.post("/posts", json={"title": "Leak test", "body": "x",
                                    "channel_ids": [hook["id"], toot["id"]],
                                    "schedule": {"at": soon(1.0), "timezone": "UTC"}}).json
    ids = [d["id"] for d in post["deliveries"]]
    redis_seen = [everything_in_redis()]  # the first attempts' jobs
    checked = api.post(f"/channels/{toot['id']}/check")
    runner.until(lambda: db.session.get(Delivery, ids[0]).status == "retrying")
    redis_seen.append(everything_in_redis())  # the retry's job
    rows = runner.until_settled(ids)
    assert [r.status for r in rows] == ["failed", "failed"]
    runner.until(lambda: len(smtp.messages) >= 2)
    runner.step()
    # The e-mail jobs ran at once; queue one again to see what such a job holds.
    from webapp.engine.notifications import send_later

    send_later(db.session.scalars(select(Notification)).first().id)
    redis_seen.append(everything_in_redis())
    runner.step()
    # The platforms did get the credentials (they are real), so a leak would show.
    assert mastodon.received[0].headers["Authorization"] == f"Bearer {MASTODON_TOKEN}"

    answers = [checked, api.get("/channels"), api.get(f"/channels/{hook['id']}"),
               api.get(f"/channels/{toot['id']}"), api.get("/posts"),
               api.get(f"/posts/{post['id']}"), api.get("/deliveries"),
               api.get("/deliveries?status=failed"), api.get("/schedule/upcoming"),
               api.get("/queue/stats"), api.post(f"/channels/{toot['id']}/check")]
    places = {
        # Decoded too: quoted-printable may wrap a secret across lines of the raw text.
        "e-mail": "\n".join(raw.decode(errors="replace") + str(dict(message.items()))
                            + message.get_content() for _, _, message, raw in smtp.messages),
        "redis": b"\n".join(redis_seen).decode(errors="replace"),
        "api": "\n".join(a.get_data(as_text=True) for a in answers),
        "logs": caplog.text + "\n".join(str(r.args) for r in caplog.records),
        "notifications": "\n".join(n.title + n.body for n in db.session.scalars(
            select(Notification))),
        "deliveries": "\n".join(str(r.last_error) for r in rows),
    }
    assert len(smtp.messages) == 2
    assert "[redacted]" in places["deliveries"]  # the echoes were there, and were cut
    for place, content in places.items():
        for secret in (HOOK_SECRET, MASTODON_TOKEN):
            assert secret not in content, f"{secret} leaked into {place}"
    for job in ("rq:job:publish-1-0-", "rq:job:publish-1-1-", "rq:job:notification-"):
        assert job in places["redis"]  # the jobs were there to be looked at


def test_emails_go_to_notify_address_and_skip_other_workspaces(app, team):
    from webapp.engine.notifications import recipients
    from webapp.models import Workspace

    acme = db.session.scalar(select(Workspace).where(Workspace.name == "Acme"))
    assert recipients(acme.id) == sorted(team)
    elsewhere = db.session.scalar(select(Workspace).where(Workspace.name == "Elsewhere"))
    assert recipients(elsewhere.id) == ["stranger@example.com"]
    assert db.session.scalar(select(User).where(User.email == "vi@example.com")) is not None


@pytest.mark.postgres
def test_long_and_multi_line_titles_still_notify(app, api, admin, webhook, smtp, runner):
    """A post without a title is labelled by its body's start, which may hold line breaks
    (not allowed in an e-mail header); names and titles at their maximum lengths must still
    fit the notification's title column (PostgreSQL enforces it)."""
    app.config["SMTP_URL"] = smtp.url
    webhook.by_path["/a"] = [Reply(400, "no")]
    webhook.by_path["/b"] = [Reply(400, "no")]
    a = api.post("/channels", json={"name": "A" * 120, "platform": "webhook",
                                    "config": {"url": webhook.url + "/a"}}).json
    b = api.post("/channels", json={"name": "B", "platform": "webhook",
                                    "config": {"url": webhook.url + "/b"}}).json
    at = {"at": soon(1.0), "timezone": "UTC"}
    long_title = api.post("/posts", json={"title": "T" * 200, "body": "x",
                                          "channel_ids": [a["id"]], "schedule": at}).json
    multi_line = api.post("/posts", json={"body": "Line one\nBcc: x@example.org\r\nthree",
                                          "channel_ids": [b["id"]], "schedule": at}).json
    ids = [d["id"] for p in (long_title, multi_line) for d in p["deliveries"]]
    rows = runner.until_settled(ids)
    assert [r.status for r in rows] == ["failed", "failed"]
    runner.until(lambda: len(smtp.messages) >= 2)
    runner.step()
    notes = db.session.scalars(select(Notification).order_by(Notification.id)).all()
    assert len(notes) == 2 and all(n.emailed_at is not None for n in notes)
    assert all(len(n.title) <= 200 and "\n" not in n.title for n in notes)
    subjects = sorted(message["Subject"] for _, _, message, _ in smtp.messages)
    assert any("Line one Bcc: x@example.org three" in s for s in subjects)
    assert all(recipients == ["admin@example.com"] for _, recipients, _, _ in smtp.messages)


def test_settings_and_healthz_say_when_no_email_is_sent(app, client, auth, admin):
    """Without SMTP_URL nothing is e-mailed: the settings page says so instead of asking
    for an address, saving there keeps the stored one, and /healthz reports it."""
    admin.notify_email = "alerts@example.com"
    db.session.commit()
    assert auth.login().status_code == 302
    body = show(client, "/settings")
    assert "No e-mail is sent" in body and "SMTP_URL" in body
    assert input_value(body, "notify_email") is None
    response = submit(client, "/settings", {"timezone": "Europe/Paris"})
    assert response.status_code == 303, page(response)
    db.session.expire_all()
    assert admin.timezone == "Europe/Paris" and admin.notify_email == "alerts@example.com"
    assert client.get("/healthz").json["email"] == "not configured"

    app.config["SMTP_URL"] = "smtp://127.0.0.1:2525"
    body = show(client, "/settings")
    assert "No e-mail is sent" not in body
    assert input_value(body, "notify_email") == "alerts@example.com"
    assert client.get("/healthz").json["email"] == "configured"


def test_a_notice_is_resolved_when_its_delivery_is_published_after_all(app, api, admin,
                                                                       webhook, runner):
    webhook.by_path["/hook"] = [Reply(422, {"error": "title missing"})]
    hook = api.post("/channels", json={"name": "Hook", "platform": "webhook", "config": {
        "url": webhook.url + "/hook"}}).json
    post = api.post("/posts", json={"body": "second time lucky", "channel_ids": [hook["id"]],
                                    "schedule": {"at": soon(1.0), "timezone": "UTC"}}).json
    [delivery_id] = [d["id"] for d in post["deliveries"]]
    assert runner.until_settled([delivery_id])[0].status == "failed"
    [note] = db.session.scalars(select(Notification)).all()
    assert note.read_at is None
    note_id = note.id

    webhook.by_path["/hook"] = []  # the platform accepts it now
    assert api.post(f"/deliveries/{delivery_id}/retry").status_code == 200
    assert runner.until_settled([delivery_id])[0].status == "published"
    db.session.expire_all()
    assert db.session.get(Notification, note_id).read_at is not None
