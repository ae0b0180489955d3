"""Operations: Herald's scheduler seen from inside, for admins ("why did this post not go
out")."""

from flask import Blueprint

bp = Blueprint("operations", __name__)

from . import routes  # noqa: E402,F401
