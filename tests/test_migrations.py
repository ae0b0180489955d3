"""`flask db upgrade` (the Procfile's release step) builds the whole schema from an empty
database, on SQLite and on PostgreSQL, and the result is exactly what the models say."""

import logging

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tests import helpers, servers
from webapp import create_app
from webapp.extensions import db


@pytest.fixture(autouse=True)
def keep_logging():
    """Alembic's env.py applies alembic.ini's logging config (root level and handlers);
    put logging back as it was for the tests that follow."""
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {name: (lg.disabled, lg.level, list(lg.handlers), lg.propagate)
             for name, lg in logging.Logger.manager.loggerDict.items()
             if isinstance(lg, logging.Logger)}
    yield
    root.setLevel(saved_root[0])
    root.handlers[:] = saved_root[1]
    for name, lg in logging.Logger.manager.loggerDict.items():
        if not isinstance(lg, logging.Logger):
            continue
        if name in saved:
            lg.disabled, level, handlers, lg.propagate = saved[name]
            lg.setLevel(level)
            lg.handlers[:] = handlers
        else:
            lg.disabled = False


def upgrade_and_compare(url: str, redis_url: str = "redis://127.0.0.1:1/0"):
    app = create_app(helpers.app_config(url, redis_url))
    runner = app.test_cli_runner()
    try:
        with app.app_context():
            assert inspect(db.engine).get_table_names() == []  # truly empty
            result = runner.invoke(args=["db", "upgrade"])
            assert result.exit_code == 0, (result.output, result.exception)
            tables = set(inspect(db.engine).get_table_names())
            assert tables == {t.name for t in db.metadata.sorted_tables} | {"alembic_version"}
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={
                    "compare_type": True, "compare_server_default": True})
                assert compare_metadata(context, db.metadata) == []
                heads = context.get_current_heads()
            assert len(heads) == 1
            # `flask db check` agrees (what a developer runs before committing).
            check = runner.invoke(args=["db", "check"])
            assert check.exit_code == 0, (check.output, check.exception)
            # Down to nothing and up again: the downgrade path works too.
            down = runner.invoke(args=["db", "downgrade", "base"])
            assert down.exit_code == 0, (down.output, down.exception)
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            again = runner.invoke(args=["db", "upgrade"])
            assert again.exit_code == 0, (again.output, again.exception)
            assert set(inspect(db.engine).get_table_names()) == tables
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_upgrade_builds_the_schema_on_sqlite(tmp_path):
    upgrade_and_compare(f"sqlite:///{tmp_path / 'fresh.db'}")


def test_upgrade_builds_the_schema_on_postgresql():
    reason = servers.postgres_reachable()
    if reason:
        pytest.skip(f"PostgreSQL part skipped: {reason}")
    name, url = servers.create_postgres_database()
    try:
        upgrade_and_compare(url)
    finally:
        servers.drop_postgres_database(name)


def test_the_schema_works_after_upgrade(tmp_path, redis_server):
    """The migrated schema (not create_all) takes a user, a channel and a post through the
    API, so the constraints the code relies on exist."""
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = create_app(helpers.app_config(url, redis_server.url))
    try:
        with app.app_context():
            assert app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
            from webapp.services.accounts import create_user

            user, workspace = create_user("m@example.com", "correct horse", "M")
            api = helpers.Api(app.test_client(), helpers.token_for(user, workspace.id))
            channel = api.post("/channels", json={"name": "Hook", "platform": "webhook",
                                                  "config": {"url": "http://127.0.0.1:9/"}})
            assert channel.status_code == 201, channel.json
            post = api.post("/posts", json={"body": "b", "channel_ids": [channel.json["id"]],
                                            "schedule": {"at": "2030-01-01T09:00",
                                                         "timezone": "UTC"}})
            assert post.status_code == 201, post.json
            bad = api.post("/posts", json={"body": "b", "priority": 11})
            assert bad.status_code == 422
    finally:
        with app.app_context():
            from webapp.engine import jobs

            jobs.redis().flushdb()
            db.session.remove()
            db.engine.dispose()
