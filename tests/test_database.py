"""How the engine uses the database: readers never queue behind SQLite's writers, and a
claim never takes a delivery before its instant."""

import sqlite3
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import soon
from webapp import database, publishing
from webapp.extensions import db
from webapp.models import Delivery
from webapp.timeutil import now_utc


def test_a_reader_does_not_wait_for_a_writer_holding_sqlite_s_lock(app):
    """Under a busy API the worker's reads (what a job holds, the messages to send) used
    to queue for the write lock like writes, and posts went out seconds late."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL readers never wait for writers")
    db.session.rollback()
    path = db.engine.url.database
    holding, release, released = threading.Event(), threading.Event(), threading.Event()

    def writer():
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        holding.set()
        release.wait(60)  # longer than the busy timeout (30 s): a waiting read fails
        released.set()
        other.execute("ROLLBACK")
        other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        database.reading()
        assert db.session.scalars(select(Delivery.id)).all() == []
        assert not released.is_set()
        db.session.rollback()
    finally:
        release.set()
        thread.join()


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
