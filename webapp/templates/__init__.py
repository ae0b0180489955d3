"""Templates: the library of reusable posts (search, tags, favourites, use counts); using
one opens the composer filled from it."""

from flask import Blueprint

bp = Blueprint("templates", __name__)

from . import routes  # noqa: E402,F401
