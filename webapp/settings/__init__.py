"""Settings: the user's zone and e-mail, password, API tokens; the workspace's lifecycle
webhooks (admins)."""

from flask import Blueprint

bp = Blueprint("settings", __name__)

from . import routes  # noqa: E402,F401
