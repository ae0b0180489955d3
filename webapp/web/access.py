"""Who may do what: the signed-in user, their workspace and role, and their zone."""

import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort, g, make_response, request, session
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db, login_manager
from ..models import Membership, Workspace
from . import permissions

log = logging.getLogger(__name__)


def require_sign_in():
    """The sign-in page for a signed-out user (it sends them back afterwards)."""
    if not current_user.is_authenticated:
        if request.headers.get("HX-Request") == "true":
            # A fragment request (the session ended meanwhile): reload the whole page,
            # which then goes to the sign-in page and comes back.
            response = make_response("", 401)
            response.headers["HX-Refresh"] = "true"
            return response
        return login_manager.unauthorized()


# The session key holding the workspace this browser works in (switch_workspace).
WORKSPACE_KEY = "workspace_id"


def memberships() -> list[Membership]:
    """Every membership of the signed-in user, oldest first (the switcher's choices)."""
    return sorted(current_user.memberships, key=lambda m: m.id)


def find_membership() -> Membership | None:
    """The signed-in user's membership of the workspace this browser chose (their first
    when it chose none, or chose one they no longer belong to), read once per request;
    None when their account belongs to no workspace."""
    if "page_membership" not in g:
        chosen = session.get(WORKSPACE_KEY)
        found = None
        if isinstance(chosen, int):
            found = db.session.scalar(select(Membership).where(
                Membership.user_id == current_user.id, Membership.workspace_id == chosen))
        g.page_membership = found or db.session.scalar(
            select(Membership).where(Membership.user_id == current_user.id)
            .order_by(Membership.id).limit(1))
    return g.page_membership


def switch_workspace(workspace_id: object) -> Membership | None:
    """Work in this workspace from now on in this browser; None (and no change) unless
    the signed-in user is a member of it."""
    found = None
    if isinstance(workspace_id, int):
        found = db.session.scalar(select(Membership).where(
            Membership.user_id == current_user.id, Membership.workspace_id == workspace_id))
    if found is not None:
        session[WORKSPACE_KEY] = workspace_id
        g.page_membership = found
    return found


def current_membership() -> Membership:
    """The signed-in user's membership of the workspace they work in."""
    membership = find_membership()
    if membership is None:
        abort(403, description="Your account does not belong to any workspace.")
    return membership


def current_workspace() -> Workspace:
    """The workspace every page reads and changes."""
    return current_membership().workspace


def check_page():
    """Every page, before its view: signed out, only what the permission table opens (the
    rest goes to the sign-in page); signed in, 403 unless the user's role in the workspace
    they work in is at least what the table says. An endpoint not in the table is refused.
    The API checks the same table in its own authenticate (tokens, not sessions)."""
    if request.routing_exception is not None or request.blueprint == "api":
        return None  # a 404/405 stays one; the API answers in its own shape
    rule = permissions.needed(request.endpoint)
    if rule == permissions.OPEN:
        return None
    if rule is None:
        log.error("endpoint %s is not in the permission table: refused", request.endpoint)
        abort(403, description="No role can do this: it is missing from Herald's "
                               "permission table.")
    if not current_user.is_authenticated:
        return require_sign_in()
    if rule == permissions.SIGNED_IN:
        return None
    membership = current_membership()
    if not membership.can(rule):
        abort(403, description=f"Your role ({membership.role}) cannot do this; "
                               f"it needs {rule} or higher.")
    return None


def may(role: str) -> bool:
    """Whether the signed-in user's role is at least `role` (False when signed out)."""
    if not current_user.is_authenticated:
        return False
    membership = find_membership()
    return bool(membership and membership.can(role))


def allowed(endpoint: str) -> bool:
    """Whether the signed-in user may use `endpoint` (the permission table), for pages that
    show a button or a link only to those it works for."""
    if permissions.needed(endpoint) == permissions.OPEN:
        return True
    if not current_user.is_authenticated:
        return False
    return permissions.allows(find_membership(), endpoint)


def user_zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_user.timezone)
    except (ZoneInfoNotFoundError, ValueError):  # removed from tzdata since it was saved
        return ZoneInfo("UTC")
