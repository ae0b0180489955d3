"""The calendar's routes: the page (or, for HTMX, its fragment), an item's side panel, and
moves. Views stay thin: they read the request, call `items`/`moves`, and render."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, make_response, render_template, request, url_for
from flask_login import current_user

from ..errors import DomainError, NotFound, ValidationError
from ..extensions import db
from ..services import calendar as items
from ..services import calendar_moves as moves
from ..services import channels as channel_service
from ..timeutil import zone
from ..web.access import allowed, current_workspace, user_zone
from ..web.htmx import render, wants_fragment
from . import bp, periods
from .render import ItemRenderer

# Fired (HX-Trigger) after a move: the calendar re-reads itself.
CHANGED = "calendar-changed"



def _zone_or_users(name: str | None):
    try:
        return zone(name, "tz") if name else user_zone()
    except ValidationError:
        return user_zone()


@bp.get("/calendar")
def index():
    state = periods.read(request.args, user_zone())
    response = _calendar(state)
    if request.headers.get("HX-Trigger") == "cal-filters":
        # The filter form sends its empty fields too; push the tidy address instead.
        response.headers["HX-Push-Url"] = url_for("calendar.index", **state.params())
    return response


def _calendar(state: periods.State, code: int | None = None, **extra):
    """Render the calendar for `state`: the page, or the #calendar fragment for HTMX."""
    workspace = current_workspace()
    channels = channel_service.of_workspace(workspace.id)
    campaigns = items.campaigns_of(workspace.id)
    if state.channel_id is not None and state.channel_id not in {c.id for c in channels}:
        state.errors.append(f"Unknown channel {state.channel_id}: showing every channel.")
        state.channel_id = None
    if state.campaign_id is not None and state.campaign_id not in {c.id for c in campaigns}:
        state.errors.append(f"Unknown campaign {state.campaign_id}: showing every campaign.")
        state.campaign_id = None
    editable = allowed("calendar.move")
    period = periods.period(state)
    loaded = items.load(workspace.id, period.start, period.end, state.tz, channels=channels,
                        campaigns=campaigns, channel_id=state.channel_id,
                        status=state.status, campaign_id=state.campaign_id,
                        color_by=state.color_by)
    by_day: dict = {}
    by_slot: dict = {}
    if state.view == "month":  # only the week and day views have hours
        for item in loaded.items:
            by_day.setdefault(item.local.date(), []).append(item)
    else:
        for item in loaded.items:
            local = item.local
            by_slot.setdefault((local.date(), local.hour), []).append(item)
    status_code = code or (400 if state.errors else 200)
    html, status_code = render(
        "calendar/index.html", "calendar/_calendar.html", code=status_code, state=state,
        period=period, items=loaded.items, by_day=by_day, by_slot=by_slot,
        busy_hours={hour for _, hour in by_slot}, truncated=loaded.truncated,
        today=datetime.now(state.tz).date(), channels=channels, campaigns=campaigns,
        statuses=items.STATUSES, labels=items.LABELS, icons=items.ICONS,
        zones=periods.zone_choices(), safe_color=items.safe_color,
        cal_url=lambda **changes: url_for("calendar.index", **state.params(**changes)),
        editable=editable, new_url=_url_if("posts.post_new"), item_html=ItemRenderer(
            url_for("calendar.item", tz=state.tz.key) + "&ref=", editable), **extra)
    return make_response(html, status_code)


@bp.get("/calendar/item")
def item():
    """One occurrence in the side panel (or on a page of its own without HTMX)."""
    found = items.find(current_workspace().id, items.parse_ref(request.args.get("ref")))
    tz = _zone_or_users(request.args.get("tz"))
    return render("calendar/item.html", "calendar/_panel.html", **_panel(found, tz))


SCOPE_HINTS = {
    "post": "The post happens once: its schedule moves.",
    "occurrence": "Moves this occurrence only; the rest of the series stays as it is.",
    "series": "Not planned in detail yet: moving it moves the whole series by the same "
              "amount.",
}


def _panel(found: items.Found, tz, focus_move: bool | None = None) -> dict:
    post = found.post
    schedule = found.schedule
    return {
        "found": found, "tz": tz, "local": found.ref.at.astimezone(tz),
        "focus_move": request.args.get("move") == "1" if focus_move is None else focus_move,
        "title": items.title_of(post.title, post.body), "labels": items.LABELS,
        "safe_color": items.safe_color,
        "icons": items.ICONS, "warnings": items.warnings_of(found),
        "repeats": moves.describe(schedule.rrule) if schedule else "",
        "schedule_zone": ZoneInfo(schedule.timezone) if schedule else tz,
        "scope_hint": ("Moves this delivery of the post." if found.scope == "occurrence"
                       and not found.recurring else SCOPE_HINTS[found.scope]),
        "why_not": None if found.movable else moves.why_not(found),
        "edit_url": _url_if("posts.post_edit", post_id=post.id),
        "detail_url": _url_if("posts.post_detail", post_id=post.id),
    }


def _url_if(endpoint: str, **values) -> str | None:
    """A link to another area's page, when that page exists."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


@bp.get("/calendar/panel/close")
def close_panel():
    """Closing the side panel: it becomes empty (no custom JavaScript needed)."""
    return ""


@bp.post("/calendar/move")
def move():
    """Move an item (drag and drop, the "Move to…" form, or Undo). The answer is the
    message with its Undo button; HX-Trigger makes the calendar refresh itself."""
    workspace = current_workspace()
    form = request.form
    tz = _zone_or_users(form.get("tz"))
    try:
        moved = moves.move(workspace.id, current_user.id, form.get("ref"), form.get("to"),
                           form.get("tz") or tz.key)
    except DomainError as exc:
        db.session.rollback()
        if isinstance(exc, NotFound) and not wants_fragment():
            abort(404, description=exc.message)
        message = "; ".join(dict.fromkeys(exc.fields.values())) if exc.fields else exc.message
        return _answer(None, message, exc.status, tz)
    return _answer(moved, None, 200, tz)


def _answer(moved: moves.Moved | None, error: str | None, code: int, tz):
    result = {"moved": moved, "error": error, "undo_of": request.form.get("undo") == "1",
              "from_panel": request.form.get("panel") == "1"}
    panel = {}
    if moved is not None and (result["from_panel"] or not wants_fragment()):
        # The side panel shows the item at its new place.
        try:
            panel = _panel(items.find(current_workspace().id, items.parse_ref(moved.ref)), tz,
                           focus_move=False)
        except NotFound:
            pass
    if wants_fragment():
        response = make_response(render_template("calendar/_message.html", result=result,
                                                 oob=True, **panel), code)
    else:
        # Without HTMX: the week around the item's new place, with the message and panel.
        day = (items.parse_ref(moved.ref).at.astimezone(tz).date() if moved
               else datetime.now(tz).date())
        response = _calendar(periods.State("week", day, tz), code=code, result=result,
                             **panel)
    if moved is not None:
        response.headers["HX-Trigger"] = CHANGED
    return response
