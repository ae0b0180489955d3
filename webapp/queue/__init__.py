"""The queue: every delivery, filtered and paged, with actions one by one or in batches."""

from flask import Blueprint

bp = Blueprint("queue", __name__)

from . import routes  # noqa: E402,F401
