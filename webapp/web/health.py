"""GET /healthz: database, Redis, scheduler and worker heartbeats."""

from flask import Blueprint, jsonify
from sqlalchemy import text

from ..engine import jobs, notifications
from ..extensions import db
from ..timeutil import tzdata_version

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    # E-mail is optional: reported, never a reason for 503.
    report: dict = {"tzdata": tzdata_version(),
                    "email": "configured" if notifications.email_enabled() else "not configured"}
    failing = []
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        report["db"] = "ok"
    except Exception as exc:  # any failure means "down", named in the report
        db.session.rollback()
        report["db"] = f"down: {type(exc).__name__}"
        failing.append("db")
    try:
        jobs.redis().ping()
        report["redis"] = "ok"
        report["scheduler"] = "ok" if jobs.alive("scheduler") else "down"
        report["workers"] = len(jobs.alive("worker"))
    except Exception as exc:
        report["redis"] = f"down: {type(exc).__name__}"
        report["scheduler"] = "unknown"
        report["workers"] = 0
        failing.append("redis")
    if report["scheduler"] == "down":
        failing.append("scheduler")
    if report["workers"] == 0:
        failing.append("workers")
    if failing:
        report["failing"] = failing
    return jsonify(report), 503 if failing else 200
