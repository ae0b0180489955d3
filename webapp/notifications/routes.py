"""The notification bell in the header: the workspace's unread count (which refreshes itself),
the recent notifications, and marking them read (shared by the members of a workspace: see
services.notifications)."""

from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request
from flask_login import current_user

from ..services import notifications as service
from ..web.access import current_membership, current_workspace
from ..web.htmx import render, wants_fragment
from ..web.redirects import safe_redirect
from . import bp

RECENT = 8          # in the bell's panel
PAGE = 50           # on the notifications page
CHANGED = "notifications-changed"


def here() -> str:
    """The page the user is on (for forms that come back to it), also in a fragment."""
    current = request.headers.get("HX-Current-URL") if wants_fragment() else None
    if current:
        parts = urlsplit(current)
        current = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_redirect(current or request.full_path.rstrip("?"), "/")


def bell_context(workspace_id: int, limit: int = RECENT) -> dict:
    return {"unread_count": service.unread_count(workspace_id),
            "notifications": service.recent(workspace_id, limit), "here": here()}


@bp.app_context_processor
def _bell():
    """`bell()` for base.html (which calls it only for a member of a workspace): computed
    only when the header is drawn, not for fragments."""
    def bell() -> dict | None:
        if not current_user.is_authenticated:
            return None
        return bell_context(current_membership().workspace_id)
    return {"bell": bell}


@bp.get("/notifications/count")
def notifications_count():
    """The badge on the bell (polled, and refreshed on the notifications-changed event)."""
    return render_template("notifications/_bell_count.html",
                           unread_count=service.unread_count(current_workspace().id))


@bp.get("/notifications/panel")
def notifications_panel():
    """The bell's panel, fresh (when it is opened or the notifications changed)."""
    return render_template("notifications/_bell_panel.html", **bell_context(current_workspace().id))


@bp.get("/notifications")
def notifications():
    """All recent notifications on a page of their own."""
    workspace = current_workspace()
    return render("notifications/notifications.html", **bell_context(workspace.id, PAGE),
                  page_limit=PAGE)


def _answer():
    """The panel again for the bell (and an event so the badge follows), else back."""
    if wants_fragment():
        response = make_response(render_template("notifications/_bell_panel.html",
                                                 **bell_context(current_workspace().id)))
        response.headers["HX-Trigger"] = CHANGED
        return response
    return redirect(safe_redirect(request.form.get("next"), "/"), 303)


@bp.post("/notifications/read")
def notifications_read():
    """Mark every unread notification of the workspace read."""
    service.mark_all_read(current_workspace().id)
    return _answer()


@bp.post("/notifications/<id:notification_id>/read")
def notification_read(notification_id):
    service.mark_read(current_workspace().id, notification_id)
    return _answer()
