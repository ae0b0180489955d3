"""Herald: self-hosted content scheduling."""

from pathlib import Path

from flask import Flask

from . import config, database, timeutil
from .extensions import csrf, db, limiter, login_manager, migrate
from .web import sessions

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: defaults, then the environment, then `overrides` (tests)."""
    app = Flask(__name__, instance_path=str(ROOT / "instance"),
                template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    config.load(app, overrides)
    timeutil.use_packaged_tzdata()
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    # Before the limiter: its before_request looks up the API token, and a GET's lookup must
    # already be in the transaction that only reads.
    database.init_app(app)
    limiter.init_app(app)
    sessions.init_app(app)

    from . import (
        api,
        approvals,
        audit,
        auth,
        calendar,
        campaigns,
        channels,
        dashboard,
        imports,
        notifications,
        operations,
        posts,
        queue,
        settings,
        team,
        templates,
        web,
    )
    from .api.inputs import IdConverter, refuse_impossible_ids
    from .cli import init_app as init_cli
    from .engine import hooks
    from .web import headers, health, metrics

    hooks.init_app(app)
    headers.init_app(app)
    # Before any blueprint adds its routes: their rules are compiled as they are added.
    app.url_map.converters["id"] = IdConverter
    app.url_value_preprocessor(refuse_impossible_ids)
    web.init_app(app)
    # One blueprint per feature (templates/<feature>/), the API, and /healthz.
    for feature in (auth, dashboard, posts, imports, queue, calendar, campaigns, templates,
                    approvals, channels, notifications, settings, audit, team, operations, api,
                    health, metrics):
        app.register_blueprint(feature.bp)
    init_cli(app)
    return app
