"""Notifications: the bell, the list, and marking notices read."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("notifications", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
