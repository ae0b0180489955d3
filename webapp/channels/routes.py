"""Channels: list, connect, change, check, pause/resume and remove (admins change them)."""

from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..errors import ValidationError
from ..extensions import db
from ..models import Channel
from ..services import channels as service
from ..services.channels import PUBLISHERS
from ..web.access import current_workspace, may
from ..web.forms import add_errors
from ..web.htmx import render, wants_fragment
from . import bp
from .forms import ChannelForm


def _get(channel_id: int) -> Channel:
    return service.get(current_workspace().id, channel_id)


def _listing(form: ChannelForm, errors: dict | None = None, code: int = 200):
    rows = service.of_workspace(current_workspace().id)
    return render("channels/channels.html", channels=[(c, service.public_config(c, may("admin")))
                                                        for c in rows],
                  form=form, errors=errors or {}, publishers=PUBLISHERS, code=code)


@bp.get("/channels")
def channels():
    return _listing(ChannelForm())


@bp.post("/channels")
def channel_create():
    form = ChannelForm()
    if not form.validate_on_submit():
        return _listing(form, code=400)
    platform = form.platform.data
    try:
        channel = service.create(current_workspace().id, current_user.id,
                                 form.data_for(platform, editing=False))
    except ValidationError as exc:
        db.session.rollback()
        rest = add_errors(form, exc.fields, ChannelForm.error_fields(platform))
        return _listing(form, rest, code=422)
    flash(f"Channel “{channel.name}” connected. Use “Check connection” to test it.", "success")
    return redirect(url_for("channels.channels"), 303)


@bp.route("/channels/<id:channel_id>/edit", methods=["GET", "POST"])
def channel_edit(channel_id):
    channel = _get(channel_id)
    shown = service.public_config(channel, full=True)  # admins only (the permission table)
    if request.method == "GET":
        form = ChannelForm(data={"name": channel.name, "color": channel.color,
                                 **ChannelForm.initial(channel.platform, shown),
                                 "rate_limit_per_hour": channel.rate_limit_per_hour or ""})
        return render("channels/channel_edit.html", channel=channel, config=shown, form=form,
                      errors={})
    form = ChannelForm()
    errors, code = {}, 400
    if form.validate_on_submit():
        try:
            service.update(channel, current_user.id,
                           form.data_for(channel.platform, editing=True))
        except ValidationError as exc:
            db.session.rollback()
            errors, code = add_errors(form, exc.fields,
                                      ChannelForm.error_fields(channel.platform)), 422
        else:
            flash(f"Channel “{channel.name}” saved.", "success")
            return redirect(url_for("channels.channels"), 303)
    channel = _get(channel_id)
    return render("channels/channel_edit.html", channel=channel,
                  config=service.public_config(channel, full=True), form=form, errors=errors,
                  code=code)


@bp.post("/channels/<id:channel_id>/check")
def channel_check(channel_id):
    """Check the credentials and destination without publishing anything."""
    channel = _get(channel_id)
    result = service.check(channel)
    if wants_fragment():
        return render("channels/channels.html", "channels/_check_result.html", channel=channel,
                      result=result)
    if result.ok:
        flash(f"“{channel.name}”: the connection works"
              + (f", as {result.account}." if result.account else "."), "success")
    else:
        flash(f"“{channel.name}”: the connection failed — {result.error}", "error")
    return redirect(url_for("channels.channels"), 303)


def _set_paused(channel_id: int, paused: bool):
    channel = _get(channel_id)
    service.update(channel, current_user.id, {"paused": paused})
    flash(f"Channel “{channel.name}” " + ("paused: nothing is published to it until you "
                                          "resume it." if paused else "resumed."), "success")
    return redirect(url_for("channels.channels"), 303)


@bp.post("/channels/<id:channel_id>/pause")
def channel_pause(channel_id):
    return _set_paused(channel_id, True)


@bp.post("/channels/<id:channel_id>/resume")
def channel_resume(channel_id):
    return _set_paused(channel_id, False)


@bp.route("/channels/<id:channel_id>/delete", methods=["GET", "POST"])
def channel_delete(channel_id):
    """GET asks for confirmation; POST removes the channel and its waiting deliveries."""
    channel = _get(channel_id)
    if request.method == "GET":
        return render("channels/channel_delete.html", channel=channel)
    name = channel.name
    service.delete(channel, current_user.id)
    flash(f"Channel “{name}” removed.", "success")
    return redirect(url_for("channels.channels"), 303)


@bp.get("/channels/webhook-format")
def webhook_format():
    """docs/webhooks.md as it is in the source, linked from the channel form. Served as
    plain text: the Markdown reads well as it is, and the form links to the one document
    the tests check against real requests, so page and doc cannot differ."""
    doc = Path(current_app.root_path).parent / "docs" / "webhooks.md"
    if not doc.is_file():  # an install without the docs folder
        abort(404, description="The webhook format is described in docs/webhooks.md in "
                               "Herald's source.")
    return Response(doc.read_text(encoding="utf-8"), mimetype="text/plain")
