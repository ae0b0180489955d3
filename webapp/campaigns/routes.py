"""Campaigns: list, create, edit, archive, pause/resume and delete (editors change them;
everyone reads). Deleting is an editor's too: the posts stay, only the grouping goes."""

from datetime import UTC, date, datetime, time, timedelta

from flask import flash, redirect, request, url_for
from flask_login import current_user

from ..errors import ValidationError
from ..extensions import db
from ..models import POST_STATUSES
from ..services import calendar, channels
from ..services import campaigns as service
from ..services import posts as posts_service
from ..timeutil import MAX_YEAR, MIN_YEAR
from ..web.access import current_workspace, user_zone
from ..web.forms import add_errors
from ..web.htmx import render
from . import bp
from .forms import CampaignForm

RECENT_POSTS = 100
# The status chart's bar colours, one per post status (SVG presentation attributes).
STATUS_COLORS = {"draft": "#9ca3af", "pending_approval": "#a855f7", "scheduled": "#3b82f6",
                 "published": "#16a34a", "partially_published": "#84cc16",
                 "failed": "#dc2626", "cancelled": "#6b7280"}


def _get(campaign_id: int):
    return service.get(current_workspace().id, campaign_id)


@bp.get("/campaigns")
def campaigns():
    archived = request.args.get("tab") == "archived"
    rows = service.of_workspace(current_workspace().id, archived=archived)
    return render("campaigns/campaigns.html", campaigns=rows, archived=archived)


def _form_page(form: CampaignForm, campaign=None, errors: dict | None = None, code: int = 200):
    return render("campaigns/campaign_form.html", form=form, campaign=campaign,
                  errors=errors or {}, code=code)


@bp.route("/campaigns/new", methods=["GET", "POST"])
def campaign_create():
    form = CampaignForm()
    if request.method == "GET":
        return _form_page(form)
    if not form.validate_on_submit():
        return _form_page(form, code=400)
    try:
        campaign = service.create(current_workspace().id, current_user.id, form.data_for())
    except ValidationError as exc:
        db.session.rollback()
        return _form_page(form, errors=add_errors(form, exc.fields, {}), code=422)
    flash(f"Campaign “{campaign.name}” created.", "success")
    return redirect(url_for("campaigns.campaign", campaign_id=campaign.id), 303)


@bp.route("/campaigns/<id:campaign_id>/edit", methods=["GET", "POST"])
def campaign_edit(campaign_id):
    campaign = _get(campaign_id)
    if request.method == "GET":
        return _form_page(CampaignForm.of(campaign), campaign)
    form = CampaignForm()
    if not form.validate_on_submit():
        return _form_page(form, campaign, code=400)
    try:
        _, outcome = service.update(campaign, current_user.id, form.data_for())
    except ValidationError as exc:
        db.session.rollback()
        return _form_page(form, _get(campaign_id), add_errors(form, exc.fields, {}), code=422)
    flash(f"Campaign “{campaign.name}” saved." + _outcome_text(campaign, outcome), "success")
    return redirect(url_for("campaigns.campaign", campaign_id=campaign.id), 303)


def _outcome_text(campaign, outcome) -> str:
    if not outcome.changed and not outcome.skipped:
        return ""
    done = "paused" if campaign.status == "paused" else "resumed"
    return f" {outcome.changed} post(s) {done}, {outcome.skipped} with nothing to change."


def _month(raw: str | None, today: date) -> date:
    """The first of the month ?month=YYYY-MM names (this month when absent or wrong)."""
    try:
        first = datetime.strptime(raw or "", "%Y-%m").date()
    except ValueError:
        return today.replace(day=1)
    return first if MIN_YEAR <= first.year <= MAX_YEAR else today.replace(day=1)


def _mini_calendar(campaign, first: date):
    """Six weeks from the Monday on or before the 1st, each day with its occurrences."""
    tz = user_zone()
    start_day = first - timedelta(days=first.weekday())
    days = [start_day + timedelta(days=n) for n in range(42)]
    start = datetime.combine(days[0], time(), tz).astimezone(UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), time(), tz).astimezone(UTC)
    workspace_id = current_workspace().id
    loaded = calendar.load(workspace_id, start, end, tz,
                           channels=channels.of_workspace(workspace_id), campaigns=[campaign],
                           campaign_id=campaign.id, color_by="campaign")
    by_day: dict[date, list] = {}
    for item in loaded.items:
        by_day.setdefault(item.local.date(), []).append(item)
    return [[(day, by_day.get(day, [])) for day in days[w * 7:(w + 1) * 7]] for w in range(6)]


@bp.get("/campaigns/<id:campaign_id>")
def campaign(campaign_id):
    campaign = _get(campaign_id)
    today = datetime.now(user_zone()).date()
    stats = service.stats(campaign, today)
    first = _month(request.args.get("month"), today)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    posts = db.session.scalars(posts_service.search(current_workspace().id,
                                                    campaign_id=campaign.id)
                               .limit(RECENT_POSTS)).all()
    return render("campaigns/campaign.html", campaign=campaign, stats=stats, posts=posts,
                  weeks=_mini_calendar(campaign, first), month=first, previous=previous,
                  following=following, statuses=POST_STATUSES, status_colors=STATUS_COLORS)


def _set_status(campaign_id: int, status: str):
    campaign = _get(campaign_id)
    _, outcome = service.update(campaign, current_user.id, {"status": status})
    flash(f"Campaign “{campaign.name}” {status if status != 'active' else 'resumed'}."
          + _outcome_text(campaign, outcome), "success")
    return redirect(url_for("campaigns.campaign", campaign_id=campaign.id), 303)


@bp.post("/campaigns/<id:campaign_id>/pause")
def campaign_pause(campaign_id):
    """Pause every schedule of the campaign's posts in one action."""
    return _set_status(campaign_id, "paused")


@bp.post("/campaigns/<id:campaign_id>/resume")
def campaign_resume(campaign_id):
    return _set_status(campaign_id, "active")


@bp.post("/campaigns/<id:campaign_id>/archive")
def campaign_archive(campaign_id):
    return _set_status(campaign_id, "archived")


@bp.route("/campaigns/<id:campaign_id>/delete", methods=["GET", "POST"])
def campaign_delete(campaign_id):
    """GET asks for confirmation; POST removes the campaign, keeping its posts."""
    campaign = _get(campaign_id)
    if request.method == "GET":
        return render("campaigns/campaign_delete.html", campaign=campaign)
    name = campaign.name
    service.delete(campaign, current_user.id)
    flash(f"Campaign “{name}” deleted; its posts stay.", "success")
    return redirect(url_for("campaigns.campaigns"), 303)
