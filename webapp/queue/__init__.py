"""The queue: every delivery, filtered and paged, with actions one by one or in batches."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("queue", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
