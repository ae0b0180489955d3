"""The health check, /healthz: heartbeats of the scheduler and the workers, and Redis and
the database named when down."""

import time

import pytest
from tzdata import IANA_VERSION

from tests import helpers
from tests.servers import free_port
from webapp import create_app
from webapp.engine import jobs
from webapp.extensions import db

pytestmark = pytest.mark.postgres


def test_healthz_needs_scheduler_and_worker_heartbeats(app, client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"db": "ok", "redis": "ok", "scheduler": "down", "workers": 0,
                             "failing": ["scheduler", "workers"], "tzdata": IANA_VERSION,
                             "email": "not configured"}
    jobs.beat("worker", "w1")
    jobs.beat("worker", "w2")
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json["failing"] == ["scheduler"]
    jobs.beat("scheduler", "s1")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"db": "ok", "redis": "ok", "scheduler": "ok", "workers": 2,
                             "tzdata": IANA_VERSION, "email": "not configured"}


def test_healthz_stale_heartbeats_are_down(app, client):
    app.config["HERALD_HEARTBEAT_TTL"] = 1
    jobs.beat("scheduler", "s1")
    jobs.beat("worker", "w1")
    assert client.get("/healthz").status_code == 200
    time.sleep(1.2)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["failing"] == ["scheduler", "workers"]


def test_healthz_names_redis_and_database_when_down(app, tmp_path):
    broken = create_app(helpers.app_config(
        f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}",
        f"redis://127.0.0.1:{free_port()}/0"))
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.json
    assert body["db"].startswith("down") and body["redis"].startswith("down")
    assert {"db", "redis"} <= set(body["failing"])
    with broken.app_context():
        db.engine.dispose()
