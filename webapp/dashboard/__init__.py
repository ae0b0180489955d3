"""The dashboard: what goes out next, what failed, and the last 14 days in figures."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from . import routes  # noqa: E402,F401
