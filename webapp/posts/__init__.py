"""Posts: the list, the composer (write, schedule, preview) and a post's page."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("posts", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
