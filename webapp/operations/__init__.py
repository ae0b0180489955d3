"""Operations: Herald's scheduler seen from inside, for admins ("why did this post not go
out")."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("operations", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
