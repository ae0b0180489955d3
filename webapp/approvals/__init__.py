"""Approvals: what waits for review, approve and reject, the workspace's setting, and
client review links."""

from flask import Blueprint, request

from ..web.access import require_sign_in

bp = Blueprint("approvals", __name__)

# A review link is opened by someone outside the workspace, who has no account.
OPEN_ENDPOINTS = {"approvals.review"}


@bp.before_request
def _sign_in_unless_open():
    if request.endpoint not in OPEN_ENDPOINTS:
        return require_sign_in()


from . import reviews, routes  # noqa: E402,F401
