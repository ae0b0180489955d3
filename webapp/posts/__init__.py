"""Posts: the list, the composer (write, schedule, preview) and a post's page."""

from flask import Blueprint

bp = Blueprint("posts", __name__)

from . import routes  # noqa: E402,F401
