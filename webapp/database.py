"""Database set-up: connection settings that differ by engine, and transactions that only
read.

On SQLite every transaction that may write takes the write lock when it begins (see
_sqlite_begin), so writers queue instead of failing. A transaction that only reads needs
no lock: pages and API calls that read (GET, HEAD) and the worker's reads run as readers,
so they never wait behind a writer, and a write in one is refused as a bug.
"""

import contextvars

from flask import Flask, request
from sqlalchemy import event

from .extensions import db

READ_ONLY = "herald_read_only"
# Set by reading(), taken by the next transaction that begins in this thread.
_next_reads_only = contextvars.ContextVar("next_transaction_reads_only", default=False)
READING_METHODS = ("GET", "HEAD", "OPTIONS")
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriteWhileReading(RuntimeError):
    """A statement that writes, in a transaction begun by reading()."""


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine

    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")

    @event.listens_for(engine, "begin")
    def _begin(connection):
        reads_only = _next_reads_only.get()
        _next_reads_only.set(False)
        connection.info[READ_ONLY] = reads_only
        if sqlite:
            # Take the write lock at the start: a deferred transaction that reads and then
            # writes fails at once ("database is locked") when another process wrote
            # meanwhile. A reader takes no lock, so it never queues behind writers.
            connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _refuse_writes_while_reading(connection, _cursor, statement, *_args):
        # On SQLite such a write fails whenever another process wrote since the reader's
        # snapshot began ("database is locked", no waiting): refuse it every time instead.
        if connection.info.get(READ_ONLY) and statement.lstrip().upper().startswith(WRITES):
            raise WriteWhileReading(f"a write in a transaction that only reads: "
                                    f"{statement.split(None, 3)[:3]}")

    @app.before_request
    def _reads_only_read():
        if request.method in READING_METHODS:
            reading()

    @app.teardown_request
    def _forget_reading(_exc):
        _next_reads_only.set(False)  # a request that never used the database

    if sqlite:
        _set_up_sqlite(engine)


def _set_up_sqlite(engine) -> None:
    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record):
        # WAL lets readers read while a worker writes; the busy timeout makes writers queue
        # instead of failing; foreign keys are off by default in SQLite.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def reading() -> None:
    """Begin the session's next transaction as one that only reads (until the next commit
    or rollback). A write in it raises WriteWhileReading: end it first (rollback)."""
    if not db.session().in_transaction():
        _next_reads_only.set(True)
