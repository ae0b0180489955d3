"""Settings: the user's zone and e-mail, password, API tokens; the workspace's lifecycle
webhooks (admins)."""

from flask import Blueprint

from ..web.access import require_sign_in

bp = Blueprint("settings", __name__)
bp.before_request(require_sign_in)

from . import routes  # noqa: E402,F401
