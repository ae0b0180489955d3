"""Database set-up: connection settings that differ by engine, and transactions that only
read.

On SQLite every transaction that may write takes the write lock when it begins (see
_sqlite_begin), so writers queue instead of failing. A transaction that only reads needs
no lock: pages and API calls that read (GET, HEAD) and the worker's reads run as readers,
so they never wait behind a writer, and a write in one is refused as a bug.

SQLite's own wait for the lock is unfair: a waiter sleeps up to 100 ms between tries while
fresh writers take the lock the moment it is free, so under a busy API the worker's claim
could wait seconds. A process created with HERALD_WRITES_FIRST (the worker: its writes are
on a post's way out) goes first: see WriteGate.
"""

import contextlib
import contextvars
import fcntl
import os
import sqlite3
import time

from flask import Flask, request
from sqlalchemy import event

from .extensions import db

READ_ONLY = "herald_read_only"
# Set by reading(), taken by the next transaction that begins in this thread.
_next_reads_only = contextvars.ContextVar("next_transaction_reads_only", default=False)
READING_METHODS = ("GET", "HEAD", "OPTIONS")
WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
BUSY_TIMEOUT_MS = 30_000


class WriteWhileReading(RuntimeError):
    """A statement that writes, in a transaction begun by reading()."""


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine

    sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    gate = WriteGate(engine.url.database) if sqlite and engine.url.database not in (
        None, "", ":memory:") else None
    writes_first = bool(app.config.get("HERALD_WRITES_FIRST"))

    @event.listens_for(engine, "begin")
    def _begin(connection):
        reads_only = _next_reads_only.get()
        _next_reads_only.set(False)
        connection.info[READ_ONLY] = reads_only
        if sqlite:
            # Take the write lock at the start: a deferred transaction that reads and then
            # writes fails at once ("database is locked") when another process wrote
            # meanwhile. A reader takes no lock, so it never queues behind writers.
            if reads_only:
                connection.exec_driver_sql("BEGIN")
            elif gate is None:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            elif writes_first:
                with gate.ahead():
                    _begin_immediate_promptly(connection.connection.dbapi_connection)
            else:
                gate.wait_for_first()
                connection.exec_driver_sql("BEGIN IMMEDIATE")

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
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def reading() -> None:
    """Begin the session's next transaction as one that only reads (until the next commit
    or rollback). A write in it raises WriteWhileReading: end it first (rollback)."""
    if not db.session().in_transaction():
        _next_reads_only.set(True)


class WriteGate:
    """A file lock beside the SQLite database (`<database>.writers`) that lets a process
    with HERALD_WRITES_FIRST take the write lock ahead of the others.

    While such a process waits for SQLite's write lock it holds the gate exclusively;
    every other writer passes the gate (shared, released at once) before it begins, so no
    new writer starts meanwhile: the first-comer waits only for the transaction in
    progress and writers already waiting. The gate is held only while waiting, never
    during a transaction, and the kernel drops it with the process.
    """

    def __init__(self, database: str):
        self.path = f"{database}.writers"
        self._fd, self._pid = None, None

    def _file(self) -> int:
        # One open file per process: flock's locks belong to an open file, which a forked
        # child (a gunicorn worker) would otherwise share with its parent.
        if self._pid != os.getpid():
            self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        return self._fd

    def wait_for_first(self) -> None:
        fd = self._file()
        fcntl.flock(fd, fcntl.LOCK_SH)
        fcntl.flock(fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def ahead(self):
        fd = self._file()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _begin_immediate_promptly(connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, trying every millisecond instead of SQLite's busy handler, whose
    sleeps grow to 100 ms: the lock is taken as soon as the writer ahead commits."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.001)
    finally:
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
