"""Database set-up that differs by engine, kept to connection settings."""

from flask import Flask
from sqlalchemy import event

from .extensions import db

READ_ONLY = "herald_read_only"


def init_app(app: Flask) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record):
        # WAL lets pages read while a worker writes; the busy timeout makes writers queue
        # instead of failing; foreign keys are off by default in SQLite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        # Take the write lock at the start: a deferred transaction that reads and then
        # writes fails at once ("database is locked") when another process wrote meanwhile.
        # A transaction that only reads (see reading()) takes no lock, so it never queues
        # behind writers.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def reading() -> None:
    """Begin the session's next transaction as one that only reads. On SQLite it then
    waits for no writer (WAL gives it a snapshot); a write in it could fail, so call this
    only where nothing is written before the next commit or rollback."""
    if not db.session().in_transaction():
        db.session.connection(execution_options={READ_ONLY: True})
