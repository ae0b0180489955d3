"""What tests do over HTTP and with the clock: the app's test configuration and client, the
API client with a token, signing in and out, reading pages and submitting their forms (with
the CSRF token, as a browser does), and times for schedules. Rows in the database come from
tests/factories.py; the fixtures that use both are in tests/conftest.py."""

import contextvars
import csv
import html
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import ApiToken

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# The app under test --------------------------------------------------------------------------

def app_config(database_url: str, redis_url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key",
        "HERALD_ALLOW_PRIVATE_NETWORKS": True,
        "HERALD_RETRY_DELAYS": [1, 1],
        "HERALD_HTTP_TIMEOUT": 5.0,
        "HERALD_QUEUE": "herald-test",
        "SMTP_URL": "",
        # A real hash, at a cost fit for tests: scrypt's 0.1 s per sign-in adds minutes.
        "HERALD_PASSWORD_HASH": "pbkdf2:sha256:1000",
        # Throttling counters apart from anything else in the private Redis.
        "RATELIMIT_KEY_PREFIX": "herald-test-limits",
        # Tests make many calls with one token; tests/api/test_limits.py sets its own.
        "HERALD_API_WRITES_PER_MINUTE": 100_000,
        "HERALD_API_READS_PER_MINUTE": 100_000,
    }


IN_REQUEST = contextvars.ContextVar("in_request", default=False)


class IsolatedClient(FlaskClient):
    """Each request in its own application context and database session, as in a server.

    The `app` fixture keeps an application context pushed for the whole test, and Flask
    reuses it for every test-client request: `g` (with Flask-Login's cached user) would then
    leak from one request, and one client, to the next. The test's own session ends its
    transaction first (SQLite transactions take the write lock at BEGIN), and reloads what
    it reads afterwards, so assertions see what the request wrote.
    """

    def open(self, *args, **kwargs):
        if IN_REQUEST.get():  # following a redirect: already in the request's context
            return super().open(*args, **kwargs)
        db.session.rollback()

        def run():
            IN_REQUEST.set(True)
            return FlaskClient.open(self, *args, **kwargs)

        return contextvars.Context().run(run)


# The JSON API ----------------------------------------------------------------------------------

class Api:
    """The test client with a bearer token: api.post("/posts", json={...})."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        def call(path, **kwargs):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return getattr(self.client, method)(f"/api/v1{path}", headers=headers, **kwargs)
        return call


def token_for(user, workspace_id) -> str:
    from webapp.models import Workspace

    row, plain = ApiToken.issue(user, db.session.get(Workspace, workspace_id))
    db.session.add(row)
    db.session.commit()
    return plain


def schedule(api, channel_ids, body="Hello from Herald", title="Launch", seconds=1.0, **extra):
    """A one-off post through the API, due in `seconds` (UTC)."""
    response = api.post("/posts", json={"title": title, "body": body, "channel_ids": channel_ids,
                                        "schedule": {"at": soon(seconds), "timezone": "UTC"},
                                        **extra})
    assert response.status_code == 201, response.json
    return response.json


def delivery_ids(post) -> list[int]:
    return [d["id"] for d in post["deliveries"]]


# Pages and forms -------------------------------------------------------------------------------

def page(response) -> str:
    return response.get_data(as_text=True)


def show(client, path: str, code: int = 200, **kwargs) -> str:
    """GET a page that must answer `code` (200: render) and return its HTML."""
    response = client.get(path, **kwargs)
    assert response.status_code == code, (path, response.status_code)
    return page(response)


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token from the form on `path`, as a browser would submit it."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    found = TOKEN.search(page(response))
    assert found, f"no csrf_token on {path}"
    return found.group(1)


def submit(client, path: str, data: dict | None = None, *, form_page: str | None = None,
           **kwargs):
    """POST a form the way the browser does: with the token from the page that shows it."""
    token = csrf_token(client, form_page or path)
    return client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


def sign_in(client, email: str = "admin@example.com", password: str = PASSWORD):
    return submit(client, "/login", {"email": email, "password": password})


def sign_out(client):
    return submit(client, "/logout", form_page="/")


class AuthActions:
    """Signing the `client` fixture in and out through the real forms (the `auth` fixture).
    Other clients (a second browser, a thief's copy) use sign_in/sign_out directly."""

    def __init__(self, client):
        self.client = client

    def login(self, email: str = "admin@example.com", password: str = PASSWORD):
        return sign_in(self.client, email, password)

    def logout(self):
        return sign_out(self.client)


def error_for(body: str, field_id: str) -> str | None:
    """The error shown next to an input (linked to it by aria-describedby), or None."""
    found = re.search(rf'<p class="error" role="alert" id="{re.escape(field_id)}-error">(.*?)</p>',
                      body, re.S)
    return html.unescape(found.group(1)) if found else None


def input_value(body: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', body)
    if not tag:
        return None
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else ""


def textarea_value(body: str, name: str) -> str | None:
    found = re.search(rf'<textarea[^>]*name="{re.escape(name)}"[^>]*>(.*?)</textarea>', body, re.S)
    return html.unescape(found.group(1)).lstrip("\r\n") if found else None


def selected(body: str, name: str) -> str | None:
    select_tag = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', body,
                           re.S)
    option = select_tag and re.search(r'<option selected value="([^"]*)"|'
                                      r'<option value="([^"]*)" selected', select_tag.group(1))
    return html.unescape(option.group(1) or option.group(2)) if option else None


def composer(channel_ids=(), **fields) -> dict:
    """The composer's fields as the browser sends them, with defaults for a one-off post."""
    data = {"title": "", "body": "Hello from Herald", "at": tomorrow_at(9),
            "timezone": "Europe/Berlin", "recurrence": "none", "ends": "never",
            "until": "", "count": "", "rrule": "", "priority": "5", "action": "schedule",
            "channel_ids": [str(i) for i in channel_ids]}
    data.update(fields)
    return data


def table(rows, header=("body", "at", "timezone", "channels")) -> str:
    """A CSV file for the import form."""
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue()


def upload(client, content: str | bytes, filename: str = "posts.csv"):
    """POST a file to the import form, as the browser does (token from the page)."""
    raw = content.encode() if isinstance(content, str) else content
    token = csrf_token(client, "/posts/import")
    return client.post("/posts/import", content_type="multipart/form-data",
                       data={"csrf_token": token, "file": (io.BytesIO(raw), filename)})


# The database ----------------------------------------------------------------------------------

def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# Times -----------------------------------------------------------------------------------------

def tomorrow_at(hour: int, zone: str = "Europe/Berlin") -> str:
    day = datetime.now(ZoneInfo(zone)).date() + timedelta(days=1)
    return f"{day.isoformat()}T{hour:02d}:00"


def soon(seconds: float = 0.5, zone: str = "UTC") -> str:
    """A local wall time `seconds` from now, for schedules that must fall due in a test."""
    local = datetime.now(ZoneInfo(zone)) + timedelta(seconds=seconds)
    # Schedules keep whole seconds: round up so the time is at least `seconds` away.
    local = local.replace(microsecond=0) + timedelta(seconds=1)
    return local.replace(tzinfo=None).isoformat()
