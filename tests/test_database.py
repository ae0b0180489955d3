"""How the engine uses the database: readers never queue behind SQLite's writers, and a
claim never takes a delivery before its instant."""

import fcntl
import os
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests import helpers
from tests.helpers import soon
from webapp import create_app, database
from webapp.engine import publishing
from webapp.extensions import db
from webapp.models import Delivery
from webapp.timeutil import now_utc


class HeldWriteLock:
    """Another process's write transaction on the test's SQLite file, held until the
    test ends (longer than the busy timeout, 30 s: whatever waits for it fails)."""

    def __init__(self, path: str):
        self.path = path
        self.holding, self.release, self.released = (threading.Event(), threading.Event(),
                                                     threading.Event())
        self.thread = threading.Thread(target=self._hold)

    def _hold(self):
        other = sqlite3.connect(self.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        self.holding.set()
        self.release.wait(60)
        self.released.set()
        other.execute("ROLLBACK")
        other.close()

    def __enter__(self):
        self.thread.start()
        assert self.holding.wait(10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join()


@pytest.fixture
def write_lock_held(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL readers never wait for writers")
    db.session.rollback()
    path = db.engine.url.database
    return lambda: HeldWriteLock(path)


def test_a_reader_does_not_wait_for_a_writer_holding_sqlite_s_lock(write_lock_held):
    """Under a busy API the worker's reads (what a job holds, the messages to send) used
    to queue for the write lock like writes, and posts went out seconds late."""
    with write_lock_held() as lock:
        database.reading()
        assert db.session.scalars(select(Delivery.id)).all() == []
        assert not lock.released.is_set()
        db.session.rollback()


def test_pages_and_api_calls_that_read_do_not_wait_for_a_writer(api, client, auth, admin,
                                                                 hook_channel, write_lock_held):
    assert auth.login().status_code == 302
    api.get("/channels")  # the token's last use is noted now, not during the lock
    with write_lock_held() as lock:
        for path in ("/", "/queue", "/calendar", "/channels"):
            assert client.get(path).status_code == 200, path
        for path in ("/channels", "/posts", "/deliveries"):
            assert api.get(path).status_code == 200, path
        assert not lock.released.is_set()


def _gate_held_exclusively(path: str) -> bool:
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_the_worker_s_writes_go_ahead_of_writers_that_came_before(app, write_lock_held):
    """Under a busy API the worker's claim queued in SQLite's busy handler (sleeps of up to
    100 ms) while web threads took the lock the instant it was free: posts went out more
    than a second late. A HERALD_WRITES_FIRST process waits for the transaction in
    progress, and no writer that comes meanwhile starts before it."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    worker_app = create_app({**helpers.app_config(url, app.config["REDIS_URL"]),
                             "HERALD_WRITES_FIRST": True})
    order, lock_order = [], threading.Lock()

    def write(on, who):
        with on.app_context():
            db.session.execute(update(Delivery).values(priority=1))
            with lock_order:
                order.append(who)
            db.session.commit()

    with write_lock_held() as lock:
        worker = threading.Thread(target=write, args=(worker_app, "worker"))
        worker.start()
        gate = f"{db.engine.url.database}.writers"
        deadline = time.monotonic() + 10
        while not _gate_held_exclusively(gate):
            assert time.monotonic() < deadline, "the worker never waited ahead of the web"
            time.sleep(0.01)
        web = [threading.Thread(target=write, args=(app, f"web-{n}")) for n in range(4)]
        for thread in web:
            thread.start()
        time.sleep(0.3)  # the web writers arrive while the worker waits
        lock.release.set()
        for thread in [worker, *web]:
            thread.join(40)
    assert sorted(order) == ["web-0", "web-1", "web-2", "web-3", "worker"]
    assert order[0] == "worker", order


def test_a_write_in_a_transaction_that_only_reads_is_refused(app, hook_channel):
    db.session.rollback()
    database.reading()
    with pytest.raises(database.WriteWhileReading):
        db.session.execute(update(Delivery).values(priority=1))
    db.session.rollback()
    db.session.execute(update(Delivery).values(priority=1))  # the next one may write
    db.session.rollback()


@pytest.mark.postgres
def test_a_claim_never_takes_a_delivery_before_its_instant(api, hook_channel):
    """A delivery moved a fraction of a second later, within its job's second, after the
    job read it: the claim must not send it early."""
    post = api.post("/posts", json={"body": "soon", "channel_ids": [hook_channel["id"]],
                                    "schedule": {"at": soon(60), "timezone": "UTC"}}).json
    delivery_id = post["deliveries"][0]["id"]
    db.session.execute(update(Delivery).where(Delivery.id == delivery_id)
                       .values(next_attempt_at=now_utc() + timedelta(seconds=0.6)))
    db.session.commit()
    assert publishing.claim([(delivery_id, 0)], "worker-1") == []
    assert db.session.get(Delivery, delivery_id).status == "pending"
