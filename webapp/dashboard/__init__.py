"""The dashboard: what goes out next, what failed, and the last 14 days in figures."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("dashboard", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
