"""The team: members and their roles, invitations, joining by link, switching workspace."""

from flask import Blueprint, request

from ..web.access import require_sign_in

bp = Blueprint("team", __name__)

# An invitation link is opened by people who may have no account yet.
OPEN_ENDPOINTS = {"team.invitation"}


@bp.before_request
def _sign_in_unless_open():
    if request.endpoint not in OPEN_ENDPOINTS:
        return require_sign_in()


from . import routes  # noqa: E402,F401
