"""The server-rendered pages: dashboard, queue, notifications, channels, posts and settings.

Views stay thin: they read the form, call webapp.services, and render. Every page needs a
signed-in user and works inside that user's workspace (see `context.current_workspace()`).
"""

from flask import Blueprint
from werkzeug.routing import IntegerConverter

bp = Blueprint("pages", __name__)


class IdConverter(IntegerConverter):
    """A positive database id that fits a 32-bit column: larger numbers are 404s, not
    database overflow errors."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=2**31 - 1)


# Registered before the routes below are added to the app's URL map.
bp.record_once(lambda state: state.app.url_map.converters.setdefault("id", IdConverter))

from . import (  # noqa: E402,F401
    channels,
    context,
    dashboard,
    imports,
    notifications,
    posts,
    queue,
    settings,
)
