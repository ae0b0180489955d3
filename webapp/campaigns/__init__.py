"""Campaigns: group posts under a goal, follow their progress, pause and resume them."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("campaigns", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
