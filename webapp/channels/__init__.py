"""Channels: connect, check, edit, pause and delete where posts go."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("channels", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
