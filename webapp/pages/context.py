"""What every page needs: the signed-in user's workspace and role, page-or-fragment rendering,
safe redirects, times in the user's zone, and domain errors turned into error pages."""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import default_exceptions

from ..errors import DomainError
from ..extensions import db, login_manager
from ..models import Membership, Workspace
from ..timeutil import resolve
from ..web.redirects import safe_redirect
from . import bp


@bp.before_request
def require_sign_in():
    """Every page needs a signed-in user; the sign-in page sends them back afterwards.
    (Other page blueprints register it too.)"""
    if not current_user.is_authenticated:
        if request.headers.get("HX-Request") == "true":
            # A fragment request (the session ended meanwhile): reload the whole page,
            # which then goes to the sign-in page and comes back.
            response = make_response("", 401)
            response.headers["HX-Refresh"] = "true"
            return response
        return login_manager.unauthorized()


def _find_membership() -> Membership | None:
    if "page_membership" not in g:
        g.page_membership = db.session.scalar(
            select(Membership).where(Membership.user_id == current_user.id)
            .order_by(Membership.id).limit(1))
    return g.page_membership


def current_membership() -> Membership:
    """The signed-in user's membership of their workspace (their first one)."""
    membership = _find_membership()
    if membership is None:
        abort(403, description="Your account does not belong to any workspace.")
    return membership


def current_workspace() -> Workspace:
    """The workspace every page reads and changes."""
    return current_membership().workspace


def require(role: str) -> None:
    """403 unless the user's role is at least `role` (viewer < editor < approver < admin)."""
    membership = current_membership()
    if not membership.can(role):
        abort(403, description=f"Your role ({membership.role}) cannot do this; "
                               f"it needs {role} or higher.")


def may(role: str) -> bool:
    """Whether the signed-in user's role is at least `role` (False when signed out)."""
    if not current_user.is_authenticated:
        return False
    membership = _find_membership()
    return bool(membership and membership.can(role))


def wants_fragment() -> bool:
    """A fragment only for HTMX's own requests: not for boosted links and not when HTMX
    restores history it no longer has (both need the whole page)."""
    headers = request.headers
    return (headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"
            and headers.get("HX-History-Restore-Request") != "true")


def render(template: str, partial: str | None = None, *, code: int = 200, **context):
    """The whole page, or only `partial` (which the page includes) for an HTMX request,
    with HTTP status `code`."""
    name = partial if partial and wants_fragment() else template
    return render_template(name, **context), code


def back(default_endpoint: str, **values):
    """303 to the form's `next` field when it is safe, else to `default_endpoint`."""
    default = url_for(default_endpoint, **values)
    return redirect(safe_redirect(request.form.get("next"), default), 303)


def int_arg(name: str, default: int = 1) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else default


def user_zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_user.timezone)
    except (ZoneInfoNotFoundError, ValueError):  # removed from tzdata since it was saved
        return ZoneInfo("UTC")


@bp.app_template_filter("local")
def local(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
    """An instant in the signed-in user's zone, with the zone's abbreviation."""
    if value is None:
        return "—"
    zone = user_zone() if current_user.is_authenticated else ZoneInfo("UTC")
    try:
        return value.astimezone(zone).strftime(fmt)
    except OverflowError:  # at the very end of the calendar
        return value.strftime(fmt.replace("%Z", "UTC"))


@bp.app_template_filter("wall")
def wall(value: datetime | None, zone_name: str, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
    """A wall time of a schedule (naive, in `zone_name`), with the zone's abbreviation."""
    if value is None:
        return "—"
    try:
        return resolve(value, ZoneInfo(zone_name)).local.strftime(fmt)
    except OverflowError:  # at the very end of the calendar
        return value.strftime(fmt.replace("%Z", zone_name))


@bp.app_template_filter("iso")
def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@bp.app_context_processor
def _page_context():
    if not current_user.is_authenticated:
        return {"can": may}
    return {"can": may, "membership": _find_membership(), "user_zone": user_zone().key}


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    """A domain error that reached a view: the matching error page (404, 403, 409...)."""
    db.session.rollback()
    error = default_exceptions.get(exc.status, default_exceptions[400])(description=exc.message)
    return render_template("error.html", error=error), error.code
