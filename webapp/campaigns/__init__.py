"""Campaigns: group posts under a goal, follow their progress, pause and resume them."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__)

from . import routes  # noqa: E402,F401
