"""The audit log: who changed what, when, from what to what; filtered, paged, exported."""

from flask import Blueprint

bp = Blueprint("audit", __name__)

from . import routes  # noqa: E402,F401
