"""The team: members and their roles, invitations, joining by link, switching workspace."""

from flask import Blueprint

bp = Blueprint("team", __name__)

from . import routes  # noqa: E402,F401
