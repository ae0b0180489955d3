"""Sign-in, sessions, throttling, accounts and tokens, through real HTTP (the test client
with CSRF on, a real Redis for the throttling counters, real gunicorn for its control socket
and a real local webhook server for the User-Agent)."""

import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from importlib.metadata import version

import pytest
from sqlalchemy import event, select

from tests import helpers
from tests.helpers import PASSWORD, csrf_token, error_for, page, show, sign_in, submit
from tests.stack import Stack
from webapp import create_app
from webapp.extensions import db
from webapp.models import ApiToken, AuditEvent, User, UserSession
from webapp.services.accounts import create_user

HOSTILE_NEXT = [
    "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/%09/evil.example", "/\r\nLocation: https://evil.example",
    "/%0D%0ALocation:%20https://evil.example", "/%0a/evil.example",
    "https://evil.example/", "http:evil.example", "https:/evil.example",
    "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "/%2F%2Fevil.example", "/%2F/evil.example", "%2F%2Fevil.example", "/%5Cevil.example",
    " //evil.example", "evil.example", "/\x00/evil.example", "/\x7f/evil.example",
    "/" + "a" * 3000,
]


def cookies(response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def copy_cookies(app, source, names=("session", "remember_token")):
    """A new client holding copies of `source`'s cookies (as a thief would)."""
    other = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        if cookie:
            other.set_cookie(name, cookie.value)
    return other


def signed_in_page(client) -> bool:
    return client.get("/").status_code == 200


# Redirects ---------------------------------------------------------------------------------

@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_hostile_next_values_redirect_home(client, admin, target):
    response = submit(client, "/login", {"email": "admin@example.com", "password": PASSWORD},
                      query_string={"next": target})
    assert response.status_code == 302 and response.location == "/", target
    # Already signed in: the sign-in page sends them on, with the same check.
    response = client.get("/login", query_string={"next": target})
    assert response.status_code == 302 and response.location == "/", target
    # A form's `next` field (marking notifications read) too.
    response = submit(client, "/notifications/read", {"next": target}, form_page="/")
    if "\x00" in target:  # no form field may hold a NUL: refused before any view
        assert response.status_code == 400
    else:
        assert response.status_code == 303 and response.location == "/", target
        # The queue's batch form goes back to the queue only.
        response = submit(client, "/queue/batch", {"action": "retry", "next": target},
                          form_page="/queue")
        assert response.status_code == 303 and response.location == "/queue", target


# Sessions ----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_a_session_cookie_copied_before_sign_out_opens_nothing_after(app, client, auth, admin):
    response = submit(client, "/login", {"email": "admin@example.com", "password": PASSWORD},
                      query_string={"next": "/queue?status=failed&q=a%20b"})
    assert response.location == "/queue?status=failed&q=a%20b"  # a same-site next is kept
    thief = copy_cookies(app, client)
    assert signed_in_page(thief)
    auth.logout()
    assert not signed_in_page(thief)
    assert db.session.scalar(select(UserSession)) is None


def test_sign_in_starts_a_fresh_session_with_a_fresh_csrf_token(client, auth, admin):
    before = csrf_token(client, "/login")
    auth.login()
    after = csrf_token(client, "/settings")
    assert after != before
    # The token from before signing in is no longer accepted.
    response = client.post("/settings", data={"timezone": "UTC", "csrf_token": before})
    assert response.status_code == 400


def test_remember_me_only_when_ticked(app, client, auth, admin):
    response = auth.login()
    assert "remember_token" not in cookies(response)
    auth.logout()

    response = submit(client, "/login", {"email": "admin@example.com", "password": PASSWORD,
                                         "remember": "y"})
    remember = cookies(response)["remember_token"]
    assert "HttpOnly" in remember and "SameSite=Lax" in remember
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", remember).group(1))
    assert abs(expires - datetime.now(UTC) - timedelta(days=30)) < timedelta(hours=1)
    # The remember cookie alone signs a browser in (after its session cookie is gone)...
    thief = copy_cookies(app, client, names=("remember_token",))
    assert signed_in_page(thief)
    # ...until sign-out, which deletes it and revokes every copy on the server.
    response = auth.logout()
    assert "remember_token=;" in cookies(response)["remember_token"]
    assert not signed_in_page(copy_cookies(app, thief, names=("remember_token",)))


def test_behind_a_trusted_https_proxy_cookies_are_secure_and_hsts_is_sent(app, client, admin,
                                                                          redis_server):
    # With no trusted proxy (the default) a client claiming HTTPS is not believed.
    response = submit(client, "/login", {"email": "admin@example.com", "password": PASSWORD,
                                         "remember": "y"},
                      headers={"X-Forwarded-Proto": "https"})
    assert all("Secure" not in c for c in cookies(response).values())
    assert "Strict-Transport-Security" not in response.headers

    settings = helpers.app_config(app.config["SQLALCHEMY_DATABASE_URI"], redis_server.url)
    proxied = create_app({**settings, "HERALD_TRUSTED_PROXIES": 1})
    proxied.test_client_class = helpers.IsolatedClient
    client = proxied.test_client()
    # Flask-WTF checks the Referer of HTTPS form posts (browsers send it, same-origin).
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
             "Referer": "https://localhost/login"}
    response = client.get("/login", headers=https)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page(response)).group(1)
    response = client.post("/login", headers=https, data={
        "email": "admin@example.com", "password": PASSWORD, "remember": "y",
        "csrf_token": token})
    assert response.status_code == 302
    set_cookies = cookies(response)
    assert {"session", "remember_token"} <= set(set_cookies)
    assert all("; Secure" in c for c in set_cookies.values()), set_cookies
    # Plain HTTP through the same proxy: no HSTS (it would be ignored, and wrong).
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_sign_out_everywhere_ends_every_session(app, client, auth, admin):
    auth.login()
    laptop = app.test_client()
    sign_in(laptop)
    response = submit(client, "/settings/sign-out-everywhere", form_page="/settings")
    assert response.status_code == 303 and response.location == "/login"
    assert not signed_in_page(laptop)
    assert not signed_in_page(client)


# Password change ---------------------------------------------------------------------------

@pytest.mark.postgres
def test_changing_the_password_signs_out_the_other_sessions(app, client, auth, admin):
    auth.login()
    phone = app.test_client()
    sign_in(phone)
    show(client, "/settings/password")
    response = submit(client, "/settings/password", {
        "current": "wrong", "password": "short", "confirm": "different"})
    assert response.status_code == 422
    body = page(response)
    assert error_for(body, "current") == "is not your current password"
    assert error_for(body, "password") == "must be at least 8 characters"
    assert error_for(body, "confirm") == "Passwords differ"
    # Right current password, but the repetition differs: nothing changes either.
    response = submit(client, "/settings/password", {
        "current": PASSWORD, "password": "a brand new one", "confirm": "a brand new 1"})
    assert response.status_code == 422
    assert error_for(page(response), "confirm") == "Passwords differ"
    db.session.expire_all()
    assert admin.check_password(PASSWORD)
    assert signed_in_page(phone)

    response = submit(client, "/settings/password", {
        "current": PASSWORD, "password": "a brand new one", "confirm": "a brand new one"})
    assert response.status_code == 303
    assert signed_in_page(client)  # this browser stays in
    assert not signed_in_page(phone)
    assert sign_in(app.test_client()).status_code == 200  # the old password: refused
    assert sign_in(app.test_client(), password="a brand new one").status_code == 302


# Throttling --------------------------------------------------------------------------------

def test_wrong_current_passwords_are_throttled(app, client, auth, admin):
    app.config["HERALD_SIGNIN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    assert client.post("/settings/password").status_code in (302, 400)  # signed out
    auth.login()
    wrong = {"current": "guess", "password": "a brand new one", "confirm": "a brand new one"}
    for _ in range(2):
        assert submit(client, "/settings/password", wrong).status_code == 422
    response = submit(client, "/settings/password", {**wrong, "current": PASSWORD})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    db.session.expire_all()
    assert admin.check_password(PASSWORD)


def test_failed_sign_ins_are_throttled_per_account(app, client, auth, admin):
    app.config["HERALD_SIGNIN_LIMIT_PER_ACCOUNT"] = "3 per minute"
    for _ in range(4):  # successful sign-ins are not counted
        assert auth.login().status_code == 302
        auth.logout()
    for _ in range(3):
        assert auth.login(password="wrong password").status_code == 200
    response = auth.login()  # even the right password, now
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert "Too many failed sign-ins for this e-mail address" in page(response)
    # E-mail addresses are one account whatever their case and spaces.
    assert auth.login(email=" ADMIN@example.com ").status_code == 429
    # Another account from the same address is not held up by this one.
    create_user("other@example.com", PASSWORD, "Acme", "editor")
    assert auth.login(email="other@example.com").status_code == 302


def test_failed_sign_ins_are_throttled_per_address(app, client, auth, admin):
    app.config["HERALD_SIGNIN_LIMIT_PER_ADDRESS"] = "3 per minute"
    for n in range(3):
        response = auth.login(email=f"guess{n}@example.com", password="x")
        assert response.status_code == 200
    response = auth.login()
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "from your network address" in page(response)


def test_unknown_and_known_e_mails_cost_the_same_password_check(client, auth, admin, monkeypatch):
    """The time an answer takes must not tell whether an e-mail has an account: both paths
    compute one password hash (counted here, not timed)."""
    import hashlib as hashes

    calls = []
    for name in ("scrypt", "pbkdf2_hmac"):
        real = getattr(hashes, name)
        monkeypatch.setattr(hashes, name,
                            lambda *a, _real=real, _name=name, **k: calls.append(_name)
                            or _real(*a, **k))
    auth.login(email="warm-up@example.com", password="x")  # makes the dummy hash once
    calls.clear()
    auth.login(password="wrong password")
    known = list(calls)
    calls.clear()
    auth.login(email="nobody@example.com", password="wrong password")
    assert known and calls == known


def test_wrong_api_tokens_are_throttled_per_address(app, client, api):
    app.config["HERALD_API_AUTH_FAILURE_LIMIT"] = "3 per minute"
    assert api.get("/channels").status_code == 200  # good tokens are not counted
    bad = {"Authorization": "Bearer hrld_guess"}
    for _ in range(3):
        assert client.get("/api/v1/channels", headers=bad).status_code == 401
    response = client.get("/api/v1/channels", headers=bad)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert response.json["error"]["code"] == "rate_limited"


# API tokens on the settings page -----------------------------------------------------------

TOKEN = re.compile(r'id="new-token"[^>]*value="(hrld_[^"]+)"')


def test_tokens_are_created_listed_and_revoked_on_the_settings_page(app, client, auth, admin):
    auth.login()
    assert "No tokens yet." in show(client, "/settings")
    response = submit(client, "/settings/tokens", {"name": ""}, form_page="/settings")
    assert response.status_code == 422 and error_for(page(response), "name") == "is required"

    response = submit(client, "/settings/tokens", {"name": "deploy script"},
                      form_page="/settings")
    assert response.status_code == 200
    plain = TOKEN.search(page(response)).group(1)
    row = db.session.scalar(select(ApiToken))
    assert row.name == "deploy script" and row.token_hash == ApiToken.hash(plain)
    listing = show(client, "/settings")
    assert plain not in listing  # shown once only
    assert "deploy script" in listing and "never" in listing

    api = app.test_client()
    headers = {"Authorization": f"Bearer {plain}"}
    assert api.get("/api/v1/channels", headers=headers).status_code == 200
    assert "never" not in show(client, "/settings")  # last used: just now

    other, _ = create_user("other@example.com", PASSWORD, "Elsewhere", "admin")
    outsider = app.test_client()
    sign_in(outsider, "other@example.com")
    response = submit(outsider, f"/settings/tokens/{row.id}/revoke", form_page="/settings")
    assert response.status_code == 404  # another person's token: not theirs to see
    assert api.get("/api/v1/channels", headers=headers).status_code == 200

    response = submit(client, f"/settings/tokens/{row.id}/revoke", form_page="/settings")
    assert response.status_code == 303
    assert api.get("/api/v1/channels", headers=headers).status_code == 401
    assert "No tokens yet." in show(client, "/settings")
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["token.created", "token.revoked"]
    assert all(plain not in str((e.before, e.after)) for e in events)


@pytest.mark.postgres
def test_last_used_at_is_written_once_for_many_calls_in_a_row(app, api):
    updates = []

    def count(conn, cursor, statement, *args):
        if re.match(r'\s*UPDATE\s+"?api_token"?\s', statement, re.I):
            updates.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(20):
            assert api.get("/channels").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(updates) == 1
    assert db.session.scalar(select(ApiToken)).last_used_at is not None


# Sign-up -----------------------------------------------------------------------------------

def test_sign_up_shows_every_error_at_once(client):
    response = submit(client, "/signup", {"email": "not an address", "password": "short",
                                          "confirm": "other", "workspace": " ",
                                          "timezone": "Moon/Base"})
    body = page(response)
    assert response.status_code == 200 and db.session.scalar(select(User)) is None
    for name in ("email", "password", "confirm", "workspace", "timezone"):
        assert error_for(body, name), name
    assert error_for(body, "timezone") == "unknown timezone “Moon/Base”"
    assert "Nothing was saved" in body


def test_sign_up_marks_the_zone_for_the_browser_only_on_a_fresh_form(client):
    assert 'data-preselect-zone="browser"' in show(client, "/signup")
    response = submit(client, "/signup", {"email": "x", "timezone": "Asia/Tokyo"})
    assert "data-preselect-zone" not in page(response)  # what was typed stays
    assert "/static/zone-preselect.js" in page(response)


# Outgoing requests and gunicorn ------------------------------------------------------------

def test_outgoing_requests_say_they_come_from_herald(api, hook_channel, webhook):
    assert api.post(f"/channels/{hook_channel['id']}/check").status_code == 200
    assert webhook.received[-1].headers["User-Agent"] == f"Herald/{version('herald')}"


@pytest.mark.slow
def test_two_instances_on_one_machine_have_control_sockets_of_their_own(tmp_path,
                                                                        redis_server):
    stacks = [Stack(tmp_path / name, redis_server.url) for name in ("one", "two")]
    try:
        for stack in stacks:
            stack.workdir.mkdir()
            stack.start("web")
        sockets = [_control_socket(stack) for stack in stacks]
    finally:
        for stack in stacks:
            stack.down()
    assert sockets[0] != sockets[1]
    assert all(".gunicorn" not in path for path in sockets)


def _control_socket(stack: Stack, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Control socket listening at (\S+)", stack.logs())
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"gunicorn did not say where its control socket is:\n{stack.logs()}")

