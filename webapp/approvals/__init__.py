"""Approvals: what waits for review, approve and reject, and the workspace's setting."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("approvals", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
