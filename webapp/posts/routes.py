"""Posts: the list, the composer (new and edit), the detail page and the post's actions."""

import re

from flask import flash, redirect, request, url_for
from flask_login import current_user

from ..errors import Conflict, Forbidden, ValidationError
from ..extensions import db
from ..models import POST_STATUSES, Channel, Post, Schedule, Template
from ..services import approvals, audit, campaigns, channels, reviews, schedules, templates
from ..services import posts as service
from ..services.channels import PUBLISHERS
from ..services.validation import Errors, row_id
from ..timeutil import now_utc
from ..web.access import allowed, current_workspace, may
from ..web.forms import add_errors, channel_input, zone_names
from ..web.htmx import int_arg, render, wants_fragment
from . import bp
from .forms import WEEKDAYS, PostForm, normalized

PER_PAGE = 50
OCCURRENCES_SHOWN = 10
PREVIEW_SHOWN = 5
ACTIONS = ("schedule", "draft", "publish", "save")
HISTORY_SHOWN = 100
EVENTS_SHOWN = 20  # of the post's audit history; the audit log has the rest
LIVE_SCHEDULES = ("active", "paused")
SAVED = {"draft": "Draft saved.",
         "pending_approval": "Sent for approval: it goes out at its time once an approver "
                             "approves it."}


def _get(post_id: int) -> Post:
    return service.get(current_workspace().id, post_id)


def _channels() -> list[Channel]:
    return channels.of_workspace(current_workspace().id)


@bp.get("/posts")
def posts():
    workspace = current_workspace()
    status = request.args.get("status") or None
    listing = service.page_of(workspace.id, status, int_arg("page"), PER_PAGE)
    return render("posts/posts.html", "posts/_posts_table.html", posts=listing.rows,
                  status=status, statuses=POST_STATUSES, counts=listing.counts,
                  total=listing.total, page=listing.page, pages=listing.pages,
                  next_runs={p.id: service.next_run(p) for p in listing.rows})


# The composer ----------------------------------------------------------------------------

def _live_schedule(post: Post) -> Schedule | None:
    live = [s for s in post.schedules if s.status in LIVE_SCHEDULES]
    return live[-1] if live else None


DAY = "(?:MO|TU|WE|TH|FR|SA|SU)"
WEEKLY_ON = re.compile(rf"FREQ=WEEKLY;BYDAY=({DAY}(?:,{DAY})*)")
MONTHLY_ON = re.compile(r"FREQ=MONTHLY;BYMONTHDAY=([1-9]|[12][0-9]|3[01])")


def _schedule_fields(schedule: Schedule | None) -> dict:
    """A schedule as the composer's inputs show it (empty when there is none)."""
    if schedule is None:
        return {}
    fields = {"at": schedule.start_local.strftime("%Y-%m-%dT%H:%M"),
              "timezone": schedule.timezone, **_rule_fields(schedule.rrule)}
    if schedule.until_local is not None:
        fields["ends"], fields["until"] = "until", schedule.until_local.strftime("%Y-%m-%d")
    elif schedule.count is not None:
        fields["ends"], fields["count"] = "count", str(schedule.count)
    if schedule.unpublish_local is not None:
        fields["unpublish_at"] = schedule.unpublish_local.strftime("%Y-%m-%dT%H:%M")
    return normalized(fields)


def _rule_fields(rule: str | None) -> dict:
    """A stored recurrence as the composer's Repeat inputs show it."""
    fields = {"recurrence": "none"}
    weekly_on = WEEKLY_ON.fullmatch(rule or "")
    monthly_on = MONTHLY_ON.fullmatch(rule or "")
    if rule in ("FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY"):
        fields["recurrence"] = rule[5:].lower()
    elif weekly_on:
        fields["recurrence"], fields["weekdays"] = "weekly", weekly_on.group(1).split(",")
    elif monthly_on:
        fields["recurrence"], fields["monthday"] = "monthly", monthly_on.group(1)
    elif rule:
        fields["recurrence"], fields["rrule"] = "custom", rule
    return fields


def _counter(body: str, channels, chosen: list[int], texts: dict[int, str]) -> dict:
    """The length of the text each chosen channel gets, counted as its platform counts
    (graphemes, code points, UTF-16 units), against that platform's limit, and the length
    of every per-channel text typed (chosen or not)."""
    rows, own = [], {}
    for channel in channels:
        publisher = PUBLISHERS[channel.platform]
        limit = publisher.max_length
        typed = texts.get(channel.id, "")
        typed_length = publisher.text_length(typed)
        own[channel.id] = {"length": typed_length, "limit": limit, "empty": not typed.strip(),
                           "over": limit is not None and typed_length > limit}
        if channel.id in chosen:
            text = typed if typed.strip() else body
            length = publisher.text_length(text)
            rows.append({"channel": channel, "length": length, "limit": limit,
                         "over": limit is not None and length > limit,
                         "override": bool(typed.strip())})
    return {"length": len(body), "rows": rows, "own": own}


def _composer(form: PostForm, post: Post | None, chosen: list[int], texts: dict,
              errors: dict, code: int = 200, template: Template | None = None):
    channels = _channels()
    form.campaign_id.choices = [("", "No campaign")] + [
        (str(c.id), c.name) for c in campaigns.pickable(current_workspace().id,
                                                       post.campaign_id if post else None)]
    return render("posts/post_form.html", form=form, post=post, channels=channels,
                  chosen=chosen, texts=texts, errors=errors, weekdays=WEEKDAYS,
                  approval=approvals.latest_of(post) if post else None,
                  waits=approvals.required(current_workspace().id, current_user.id),
                  counter=_counter(form.body.data or "", channels, chosen, texts),
                  preview=_preview(form, post), zones=zone_names(),
                  publishers=PUBLISHERS, from_template=template,
                  template_name=request.form.get("template_name", "")[:200], code=code)


PREVIEW_LABELS = {"schedule.at": "Date and time", "schedule.timezone": "Timezone",
                  "schedule.recurrence": "Repeat", "schedule.until": "Last date",
                  "schedule.count": "Number of times", "schedule.monthday": "Day of the month",
                  "schedule": "Schedule"}


def _preview(form: PostForm, post: Post | None) -> dict:
    """What the schedule typed in the composer means: its next occurrences in local time
    with their DST warnings, or why it is not a schedule (never an exception)."""
    typed = form.schedule_values()
    live = _live_schedule(post) if post is not None else None
    if live is not None and typed == _schedule_fields(live):
        return {"occurrences": service.occurrences(post, PREVIEW_SHOWN), "unchanged": True}
    if not typed["at"]:
        return {"empty": True}
    errors: dict = {}
    schedule = form.schedule_data(errors)
    spec = None
    if not errors:
        found = Errors()
        spec = schedules.parse(schedule, found)
        errors = found.fields
    if spec is None:
        return {"errors": [(PREVIEW_LABELS.get(k, ""), m) for k, m in errors.items()]
                or [("", "this is not a schedule Herald can keep")]}
    try:
        found = spec.pattern.occurrences(limit=PREVIEW_SHOWN + 1)
    except (ValueError, OverflowError):  # at the far end of the calendar
        found = []
    return {"occurrences": found[:PREVIEW_SHOWN], "more": len(found) > PREVIEW_SHOWN,
            "rule": spec.rrule, "count": spec.count, "until": spec.until_local,
            "zone": spec.timezone}


def _action() -> str:
    action = request.form.get("action", "schedule")
    return action if action in ACTIONS else "schedule"


def _read(form: PostForm, post: Post | None) -> tuple[dict, dict, list[int], dict]:
    """The API's post dict from the submitted composer, and the form-only errors."""
    channels = _channels()
    chosen, texts, errors = channel_input(channels)
    action = _action()
    data = {"title": form.title.data or "", "body": form.body.data or "",
            "priority": (form.priority.data or "").strip(),
            "campaign_id": form.campaign_id.data or None,
            "overrides": {str(i): texts[i] for i in chosen
                          if i in texts and texts[i].strip()}}
    typed = form.schedule_values()
    if post is None and action == "publish":
        # Publish now: a one-off time is moot; a repeating schedule keeps going afterwards.
        if not chosen:
            errors.setdefault("channel_ids", "choose at least one channel to publish to")
        repeating = typed["at"] and typed["recurrence"] != "none"
        data["status"] = "scheduled" if repeating else "draft"
        data["channel_ids"] = chosen
        if repeating:
            data["schedule"] = form.schedule_data(errors)
        return data, errors, chosen, texts
    if post is None or post.status == "draft":
        data["status"] = "draft" if action == "draft" else "scheduled"
    if post is None or sorted(chosen) != sorted(c.id for c in post.channels):
        data["channel_ids"] = chosen
    live = _live_schedule(post) if post else None
    changed = live is None or typed != _schedule_fields(live)
    wants_schedule = data.get("status") == "scheduled" or bool(typed["at"])
    if post is None and wants_schedule:
        data["schedule"] = form.schedule_data(errors)
    elif post is not None and ((changed and (typed["at"] or live is not None))
                               or (data.get("status") == "scheduled" and live is None)):
        data["schedule"] = form.schedule_data(errors)
    return data, errors, chosen, texts


def _show_errors(form: PostForm, fields: dict) -> dict:
    if form.recurrence.data == "custom" and "schedule.recurrence" in fields:
        fields = dict(fields)
        form.rrule.errors = [*form.rrule.errors, fields.pop("schedule.recurrence")]
    return add_errors(form, fields, PostForm.ERRORS)


def _template(raw) -> Template | None:
    """The template the composer starts from (?template= or its hidden field), if any;
    NotFound for one that is not the workspace's."""
    if raw in (None, ""):
        return None
    return templates.get(current_workspace().id, row_id(raw) or 0)


def _from_template(template: Template) -> tuple[PostForm, list[int], dict]:
    """The composer filled from a template: its text, channels, per-channel texts,
    priority, campaign and recurrence (the time is left to choose)."""
    data = templates.post_data(template)
    values = {"title": data["title"], "body": data["body"],
              "priority": str(data["priority"]),
              "campaign_id": str(data["campaign_id"] or ""),
              **normalized({"at": "", "timezone": "", **_rule_fields(template.recurrence)})}
    form = PostForm(data=values, default_zone=current_user.timezone)
    texts = {int(k): v for k, v in data["overrides"].items() if k.isascii() and k.isdigit()}
    return form, data["channel_ids"], texts


@bp.route("/posts/new", methods=["GET", "POST"])
def post_new():
    """The composer. From a template (?template=<id>), it starts filled from it; saving
    makes the post through services.templates.use, which counts the use."""
    if request.method == "GET":
        template = _template(request.args.get("template"))
        if template is not None:
            form, chosen, texts = _from_template(template)
            return _composer(form, None, chosen, texts, {}, template=template)
        form = PostForm(default_zone=current_user.timezone)
        channels = _channels()
        chosen = [c.id for c in channels] if len(channels) == 1 else []
        return _composer(form, None, chosen, {}, {})
    form = PostForm(default_zone=current_user.timezone)
    template = _template(request.form.get("template_id"))
    data, errors, chosen, texts = _read(form, None)
    if errors or not form.validate_on_submit():
        return _composer(form, None, chosen, texts, _show_errors(form, errors), 422, template)
    try:
        if template is not None:
            post = templates.use(template, current_user.id, data)
        else:
            post = service.create(current_workspace().id, current_user.id, data)
    except ValidationError as exc:
        db.session.rollback()
        return _composer(form, None, chosen, texts, _show_errors(form, exc.fields), 422,
                         template)
    if _action() == "publish":
        try:
            service.publish_now(post, current_user.id)
        except (Conflict, Forbidden) as exc:
            db.session.rollback()
            flash(f"The post was saved but not published: {exc.message}.", "error")
        else:
            flash("Publishing now.", "success")
    else:
        flash(SAVED.get(post.status, "Post scheduled."), "success")
    return redirect(url_for("posts.post_detail", post_id=post.id), 303)


@bp.post("/posts/save-as-template")
def post_save_template():
    """"Save as template": what the composer holds (text, channels, per-channel texts,
    priority, campaign, recurrence) becomes a template under the name typed beside the
    button. The composer again, with the errors, when it cannot be saved."""
    post = _template_source_post()
    form = PostForm(default_zone=current_user.timezone)
    chosen, texts, errors = channel_input(_channels())
    rule_errors: dict = {}
    rule = form.schedule_data(rule_errors)["recurrence"]
    data = {"name": request.form.get("template_name", ""), "title": form.title.data or "",
            "body": form.body.data or "", "priority": (form.priority.data or "").strip(),
            "campaign_id": form.campaign_id.data or None, "channel_ids": chosen,
            "overrides": {str(i): texts[i] for i in chosen if texts.get(i, "").strip()},
            "recurrence": None if rule_errors else rule}
    if errors or not form.validate_on_submit():
        return _composer(form, post, chosen, texts, _show_errors(form, errors), 422)
    try:
        template = templates.create(current_workspace().id, current_user.id, data)
    except ValidationError as exc:
        db.session.rollback()
        fields = {("template_name" if k == "name" else k): m for k, m in exc.fields.items()}
        return _composer(form, _template_source_post(), chosen, texts,
                         _show_errors(form, fields), 422)
    flash(f"Saved as template “{template.name}”.", "success")
    return redirect(url_for("templates.templates"), 303)


def _template_source_post() -> Post | None:
    """The post being edited when "Save as template" was pressed in its composer."""
    raw = request.form.get("post_id")
    return _get(row_id(raw) or 0) if raw else None


@bp.route("/posts/<id:post_id>/edit", methods=["GET", "POST"])
def post_edit(post_id):
    post = _get(post_id)
    if post.status == "cancelled":
        flash("This post is cancelled and can no longer be changed; write a new one.", "error")
        return redirect(url_for("posts.post_detail", post_id=post.id), 303)
    if request.method == "GET":
        values = {"title": post.title, "body": post.body, "priority": str(post.priority),
                  "campaign_id": str(post.campaign_id or ""),
                  **_schedule_fields(_live_schedule(post))}
        form = PostForm(data=values, default_zone=current_user.timezone)
        texts = {int(k): v for k, v in post.overrides.items() if k.isascii() and k.isdigit()}
        return _composer(form, post, [c.id for c in post.channels], texts, {})
    form = PostForm(default_zone=current_user.timezone)
    data, errors, chosen, texts = _read(form, post)
    if errors or not form.validate_on_submit():
        return _composer(form, post, chosen, texts, _show_errors(form, errors), 422)
    try:
        service.update_post(post, current_user.id, data)
    except (ValidationError, Conflict) as exc:
        db.session.rollback()
        fields = exc.fields or {"_": exc.message}
        return _composer(form, _get(post_id), chosen, texts, _show_errors(form, fields), 422)
    flash(SAVED["pending_approval"] if post.status == "pending_approval" else "Post saved.",
          "success")
    return redirect(url_for("posts.post_detail", post_id=post_id), 303)


@bp.post("/posts/counter")
def post_counter():
    """The composer's character counter, re-rendered as the text or channels change (the
    per-channel texts' own counts come along as out-of-band swaps)."""
    channels = _channels()
    chosen, texts, _ = channel_input(channels)
    return render("posts/_counter.html", "posts/_counter.html", oob=wants_fragment(),
                  counter=_counter(request.form.get("body", ""), channels, chosen, texts))


@bp.post("/posts/preview")
@bp.post("/posts/<id:post_id>/preview")
def post_preview(post_id=None):
    """The composer's schedule preview: the next occurrences of what is typed, in local
    time with DST warnings, or the schedule's errors. Always 200 (HTMX swaps it)."""
    post = _get(post_id) if post_id is not None else None
    form = PostForm(default_zone=current_user.timezone)
    return render("posts/_preview.html", "posts/_preview.html", preview=_preview(form, post))


# The detail page and actions ---------------------------------------------------------------

@bp.get("/posts/<id:post_id>")
def post_detail(post_id):
    post = _get(post_id)
    upcoming, history = service.deliveries_of(post, history=HISTORY_SHOWN)
    # The post's history is for those who read the audit log.
    events, more_events = (audit.history(post, EVENTS_SHOWN) if allowed("audit.audit_log")
                           else ([], False))
    return render("posts/post_detail.html", post=post, upcoming=upcoming, history=history,
                  approval=approvals.latest_of(post),
                  waits=approvals.required(post.workspace_id, current_user.id),
                  events=events, more_events=more_events,
                  occurrences=service.occurrences(post, OCCURRENCES_SHOWN),
                  has_active=any(s.status == "active" for s in post.schedules),
                  has_paused=any(s.status == "paused" for s in post.schedules),
                  review_links=reviews.of_post(post) if may("approver") else [],
                  now=now_utc())


def _act(post_id: int, action, done: str):
    post = _get(post_id)
    try:
        action(post, current_user.id)
    except (Conflict, Forbidden) as exc:
        db.session.rollback()
        flash(f"Nothing changed: {exc.message}.", "error")
    else:
        flash(done, "success")
    return redirect(url_for("posts.post_detail", post_id=post_id), 303)


@bp.post("/posts/<id:post_id>/pause")
def post_pause(post_id):
    return _act(post_id, service.pause, "Post paused: nothing goes out until you resume it.")


@bp.post("/posts/<id:post_id>/resume")
def post_resume(post_id):
    return _act(post_id, service.resume, "Post resumed.")


@bp.post("/posts/<id:post_id>/publish-now")
def post_publish_now(post_id):
    return _act(post_id, service.publish_now, "Publishing now.")


@bp.route("/posts/<id:post_id>/cancel", methods=["GET", "POST"])
def post_cancel(post_id):
    """GET asks for confirmation; POST cancels everything still to come."""
    post = _get(post_id)
    if request.method == "GET":
        if post.status == "cancelled":
            return redirect(url_for("posts.post_detail", post_id=post.id), 303)
        upcoming, _ = service.deliveries_of(post, history=0)
        return render("posts/post_cancel.html", post=post, pending=len(upcoming))
    return _act(post_id, service.cancel,
                "Post cancelled. What was already published stays published.")
