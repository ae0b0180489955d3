"""Channels: connect, check, edit, pause and delete where posts go."""

from flask import Blueprint

bp = Blueprint("channels", __name__)

from . import routes  # noqa: E402,F401
