"""CSV import: many posts scheduled at once, every row checked before any is saved."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("imports", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
