"""The server-rendered pages: dashboard, queue, notifications, channels, posts and settings.

Views stay thin: they read the form, call webapp.services, and render. Every page needs a
signed-in user and works inside that user's workspace (see `context.current_workspace()`).
"""

from flask import Blueprint

# Ids in paths (`<id:...>`) use the converter the app factory registers (api.inputs).
bp = Blueprint("pages", __name__)

from . import channels, context, dashboard, imports, notifications, posts, queue, settings  # noqa: E402,F401
