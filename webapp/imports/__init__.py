"""CSV import: many posts scheduled at once, every row checked before any is saved."""

from flask import Blueprint

bp = Blueprint("imports", __name__)

from . import routes  # noqa: E402,F401
