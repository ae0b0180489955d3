"""Fixtures: a private real Redis, SQLite and PostgreSQL legs, an app per test, an API
client with a token, local platform servers, and an in-process worker."""

import contextvars
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from tests import servers
from tests.platforms import Mastodon, Webhook
from webapp import create_app
from webapp.engine import jobs, planner
from webapp.extensions import db
from webapp.models import ApiToken, Channel, Delivery
from webapp.services.accounts import create_user
from worker import HeraldWorker


def pytest_generate_tests(metafunc):
    """Tests marked `postgres` run on SQLite and on PostgreSQL; the rest on SQLite."""
    if "db_backend" in metafunc.fixturenames:
        legs = ["sqlite"]
        if metafunc.definition.get_closest_marker("postgres"):
            legs.append("postgresql")
        metafunc.parametrize("db_backend", legs)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = servers.RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_url():
    reason = servers.postgres_reachable()
    if reason:
        pytest.skip(f"PostgreSQL leg skipped: {reason}")
    name, url = servers.create_postgres_database()
    yield url
    servers.drop_postgres_database(name)


def test_config(database_url: str, redis_url: str) -> dict:
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
        # Throttling counters apart from anything else in the private Redis.
        "RATELIMIT_KEY_PREFIX": "herald-test-limits",
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


@pytest.fixture
def app(db_backend, redis_server, tmp_path, request):
    if db_backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'herald.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    app = create_app(test_config(url, redis_server.url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
        if db_backend == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            db.session.commit()
        jobs.redis().flushdb()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(app):
    user, workspace = create_user("admin@example.com", "correct horse", "Acme", "admin",
                                  "Europe/Berlin")
    return user


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


@pytest.fixture
def api(client, admin):
    return Api(client, token_for(admin, admin.memberships[0].workspace_id))


@pytest.fixture
def webhook():
    server = Webhook().start()
    yield server
    server.stop()


@pytest.fixture
def mastodon():
    server = Mastodon().start()
    yield server
    server.stop()


@pytest.fixture
def hook_channel(api, webhook):
    response = api.post("/channels", json={"name": "Hook", "platform": "webhook",
                                           "config": {"url": webhook.url + "/hook",
                                                      "secret": "hook-secret"}})
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def channel(hook_channel):
    return db.session.get(Channel, hook_channel["id"])


@pytest.fixture
def masto_channel(api, mastodon):
    response = api.post("/channels", json={"name": "Masto", "platform": "mastodon", "config": {
        "instance_url": mastodon.url, "access_token": "good-token"}})
    assert response.status_code == 201, response.json
    return db.session.get(Channel, response.json["id"])


class Runner:
    """Runs the scheduler's and the worker's work in this process: due jobs move to the
    queue (rq-scheduler) and a burst worker runs them."""

    def __init__(self, app):
        self.app = app

    def step(self, plan: bool = False) -> None:
        """`plan=True` also runs a planner pass first, as the scheduler process does (most
        tests leave it out, to see what happens without one)."""
        if plan:
            planner.plan()
        jobs.scheduler().enqueue_jobs()
        HeraldWorker([jobs.queue()], connection=jobs.redis()).work(
            burst=True, with_scheduler=False, logging_level="WARNING")
        db.session.remove()

    def until(self, condition, timeout: float = 15.0, plan: bool = False) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.step(plan)
            if condition():
                return
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.1)

    def until_settled(self, delivery_ids, timeout: float = 15.0) -> list[Delivery]:
        """Run until every delivery is published, failed or cancelled."""
        def settled():
            rows = [db.session.get(Delivery, i) for i in delivery_ids]
            return all(r.status in ("published", "failed", "cancelled") for r in rows)
        self.until(settled, timeout)
        return [db.session.get(Delivery, i) for i in delivery_ids]


@pytest.fixture
def runner(app):
    return Runner(app)


def soon(seconds: float = 0.5, zone: str = "UTC") -> str:
    """A local wall time `seconds` from now, for schedules that must fall due in a test."""
    local = datetime.now(ZoneInfo(zone)) + timedelta(seconds=seconds)
    # Schedules keep whole seconds: round up so the time is at least `seconds` away.
    local = local.replace(microsecond=0) + timedelta(seconds=1)
    return local.replace(tzinfo=None).isoformat()


ROOT = Path(__file__).resolve().parent.parent
