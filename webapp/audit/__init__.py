"""The audit log: who changed what, when, from what to what; filtered, paged, exported."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("audit", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
