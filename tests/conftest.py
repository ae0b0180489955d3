"""Fixtures: a private real Redis, SQLite and PostgreSQL legs, an app per test, the client
signed in (`signed_in`) or signing in and out (`auth`), an API client with a token, local
platform servers, and an in-process worker. Helpers: tests/helpers.py, tests/factories.py."""

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests import servers
from tests.helpers import PASSWORD, Api, AuthActions, IsolatedClient, app_config, token_for
from tests.platforms import Mastodon, Webhook
from webapp import create_app
from webapp.engine import jobs, planner
from webapp.extensions import db
from webapp.models import FINAL, Channel, Delivery
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


@pytest.fixture(scope="session")
def shared(tmp_path_factory, worker_id):
    """A directory all pytest-xdist workers of this run share (for the released database
    of whole-stack tests: tests/reliability/harness.py)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory, redis_server) -> Path:
    """An SQLite file holding the schema: each test starts from a copy of it, which costs
    a file copy instead of creating every table and index again."""
    path = tmp_path_factory.mktemp("schema") / "herald.db"
    app = create_app(app_config(f"sqlite:///{path}", redis_server.url))
    with app.app_context():
        db.create_all()
        db.engine.dispose()  # the last connection to close folds the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_reset(postgres_url, redis_server) -> str:
    """The schema, made once on this process's PostgreSQL database; returns the SQL that
    empties it again and restarts its ids. DELETE, child tables first: on tables of a few
    rows it is many times faster than TRUNCATE, which replaces every table's files."""
    app = create_app(app_config(postgres_url, redis_server.url))
    with app.app_context():
        db.create_all()
        sequences = db.session.scalars(text(
            "SELECT sequence_name FROM information_schema.sequences "
            "WHERE sequence_schema = current_schema()")).all()
        db.session.remove()
        db.engine.dispose()
    return "; ".join([f'DELETE FROM "{t.name}"' for t in reversed(db.metadata.sorted_tables)]
                     + [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences])


@pytest.fixture
def app(db_backend, redis_server, tmp_path, request):
    if db_backend == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), tmp_path / "herald.db")
        url = f"sqlite:///{tmp_path / 'herald.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        reset = request.getfixturevalue("postgres_reset")
    app = create_app(app_config(url, redis_server.url))
    app.test_client_class = IsolatedClient
    with app.app_context():
        if db_backend == "postgresql":
            with db.engine.begin() as connection:
                connection.exec_driver_sql(reset)
        jobs.redis().flushdb()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(app):
    user, workspace = create_user("admin@example.com", PASSWORD, "Acme", "admin",
                                  "Europe/Berlin")
    return user


@pytest.fixture
def auth(client):
    """Signs the `client` in and out through the real forms: auth.login(), auth.login(
    email=..., password=...), auth.logout()."""
    return AuthActions(client)


@pytest.fixture
def signed_in(client, auth, admin):
    """The `client`, signed in as the `admin` (admin@example.com)."""
    assert auth.login().status_code == 302
    return client


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
        """Run until every delivery is published, failed, cancelled or unknown."""
        def settled():
            rows = [db.session.get(Delivery, i) for i in delivery_ids]
            return all(r.status in FINAL for r in rows)
        self.until(settled, timeout)
        return [db.session.get(Delivery, i) for i in delivery_ids]


@pytest.fixture
def runner(app):
    return Runner(app)

