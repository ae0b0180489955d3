"""Approvals: what waits for review, approve and reject, the workspace's setting, and
client review links (whose public page needs no sign-in: web/permissions.py)."""

from flask import Blueprint

bp = Blueprint("approvals", __name__)

from . import reviews, routes  # noqa: E402,F401
