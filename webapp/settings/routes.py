"""The signed-in person's own settings: their timezone, where notifications go, their
password, their API tokens (admins only: tokens are an admin's right, as in the API) and their
sign-ins; and, for admins, the workspace's lifecycle webhooks with their delivery log."""

from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from ..errors import ValidationError
from ..extensions import limiter
from ..services import accounts, campaigns, hooks
from ..services.notifications import email_enabled
from ..web.access import allowed, current_workspace
from ..web.forms import add_errors, zone_names
from ..web.htmx import int_arg, render
from ..web.sessions import end_all_sessions, sign_in, sign_out
from . import bp
from .forms import FeedForm, HookForm, PasswordForm, SettingsForm, TokenForm

# Calls of the delivery log per page.
CALLS_PER_PAGE = 20


def _page(form=None, *, code: int = 200, token_form=None, new_token=None, feed_form=None,
          new_feed=None):
    """The settings page, with the user's tokens for this workspace: API tokens (admins) and
    calendar feeds (every member)."""
    if form is None:
        form = SettingsForm(data={"timezone": current_user.timezone,
                                  "notify_email": current_user.notify_email or ""})
    mine = accounts.tokens_of(current_user, current_workspace())
    return render("settings/settings.html", form=form, zones=zone_names(), email=email_enabled(),
                  token_form=token_form or TokenForm(formdata=None), new_token=new_token,
                  tokens=[t for t in mine if t.kind == "api"]
                  if allowed("settings.create_token") else None,
                  feeds=[t for t in mine if t.kind == "feed"],
                  feed_form=feed_form or _feed_form(formdata=None), new_feed=new_feed,
                  code=code)


def _feed_form(**kwargs) -> FeedForm:
    form = FeedForm(**kwargs)
    form.campaign_id.choices = [(0, "the whole workspace")] + [
        (c.id, f"campaign “{c.name}”") for c in campaigns.of_workspace(current_workspace().id)]
    return form


def _feed_urls(token: str, campaign_id: int) -> tuple[str, str]:
    """The feed's https:// (or http://) address and its webcal:// form, which calendar apps
    open as a subscription."""
    base = current_app.config["HERALD_BASE_URL"].rstrip("/")
    query = {"token": token} | ({"campaign_id": campaign_id} if campaign_id else {})
    url = base + url_for("api.calendar_feed") + "?" + urlencode(query)
    parts = urlsplit(url)
    return url, urlunsplit(("webcal",) + tuple(parts[1:]))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """Personal settings: every member may change their own, whatever their role."""
    if request.method == "GET":
        return _page()
    form = SettingsForm()
    if not form.validate_on_submit():
        return _page(form, code=400)
    form.timezone.data = (form.timezone.data or "").strip()
    try:
        accounts.update_settings(current_user, form.timezone.data, form.notify_email.data)
    except ValidationError as exc:
        add_errors(form, exc.fields, {})
        return _page(form, code=422)
    flash("Settings saved.", "success")
    return redirect(url_for("settings.settings"), 303)


@bp.route("/settings/password", methods=["GET", "POST"])
# Guessing the current password from a session left open counts like failed sign-ins.
@limiter.limit(lambda: current_app.config["HERALD_SIGNIN_LIMIT_PER_ACCOUNT"],
               key_func=lambda: f"password-change:{getattr(current_user, 'id', None)}",
               methods=["POST"], deduct_when=lambda response: response.status_code == 422,
               error_message="Too many wrong current passwords. Nothing was changed: wait a "
                             "few minutes and try again.")
def change_password():
    """A new password ends every other sign-in of the account; this browser stays in."""
    form = PasswordForm()
    if request.method == "GET":
        return render("settings/password.html", form=form)
    if not form.validate_on_submit():
        return render("settings/password.html", form=form, code=400)
    # Every problem at once; nothing changes unless there is none.
    problems = accounts.password_change_problems(current_user, form.current.data,
                                                 form.password.data)
    if form.password.data != form.confirm.data:
        problems["confirm"] = "Passwords differ"
    if problems:
        for name, message in problems.items():
            getattr(form, name).errors = [message]
        return render("settings/password.html", form=form, code=422)
    accounts.change_password(current_user, form.current.data, form.password.data)
    user = current_user._get_current_object()
    end_all_sessions(user)
    sign_in(user, remember="remember_token" in request.cookies)
    flash("Password changed. Every other browser signed in to your account is signed out.",
          "success")
    return redirect(url_for("settings.settings"), 303)


@bp.post("/settings/tokens")
def create_token():
    """A new API token for this workspace; its secret is shown on this answer only."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(token_form=form, code=400)
    try:
        row, plain = accounts.create_token(current_user, current_workspace(), form.name.data,
                                           form.kind.data)
    except ValidationError as exc:
        add_errors(form, exc.fields, {})
        return _page(token_form=form, code=422)
    # Not a redirect: the secret must not travel in a URL or sit in the session.
    return _page(new_token=(row, plain))


@bp.post("/settings/tokens/<id:token_id>/revoke")
def revoke_token(token_id: int):
    row = accounts.revoke_token(current_user, current_workspace(), token_id)
    flash(f"Token “{row.name}” revoked: it opens nothing any more.", "success")
    return redirect(url_for("settings.settings"), 303)


@bp.post("/settings/feeds")
def create_feed():
    """A new calendar feed token; its subscription address is shown on this answer only."""
    form = _feed_form()
    if not form.validate_on_submit():
        return _page(feed_form=form, code=400)
    try:
        row, plain = accounts.create_token(current_user, current_workspace(), form.name.data,
                                           "feed")
    except ValidationError as exc:
        add_errors(form, exc.fields, {})
        return _page(feed_form=form, code=422)
    # Not a redirect: the token must not travel in a redirect's URL or sit in the session.
    return _page(new_feed=(row, *_feed_urls(plain, form.campaign_id.data)))


@bp.post("/settings/feeds/<id:token_id>/revoke")
def revoke_feed(token_id: int):
    row = accounts.revoke_token(current_user, current_workspace(), token_id, kind="feed")
    flash(f"Calendar feed “{row.name}” revoked: calendars subscribed to it get nothing more.",
          "success")
    return redirect(url_for("settings.settings") + "#feeds", 303)


@bp.post("/settings/sign-out-everywhere")
def sign_out_everywhere():
    """End every sign-in of the account, this one too (a lost laptop, a shared computer)."""
    end_all_sessions(current_user._get_current_object())
    sign_out()  # and this browser's cookies
    flash("Signed out everywhere, this browser included.", "info")
    return redirect(url_for("auth.login"), 303)


def _hooks_page(form=None, code: int = 200):
    workspace_id = current_workspace().id
    page = int_arg("page")
    calls, total = hooks.calls(workspace_id, page=page, per_page=CALLS_PER_PAGE)
    return render("settings/hooks.html", form=form or HookForm(formdata=None),
                  hooks=hooks.of_workspace(workspace_id), calls=calls, page=page,
                  more=page * CALLS_PER_PAGE < total, code=code)


@bp.get("/settings/hooks")
def hook_list():
    """The workspace's lifecycle webhooks and the log of what was sent to them."""
    return _hooks_page()


@bp.post("/settings/hooks")
def hook_create():
    form = HookForm()
    if not form.validate_on_submit():
        return _hooks_page(form, code=400)
    try:
        hook = hooks.create(current_workspace().id, current_user.id, {
            "url": (form.url.data or "").strip(), "events": form.events.data or [],
            "secret": form.secret.data or None})
    except ValidationError as exc:
        add_errors(form, exc.fields, {})
        return _hooks_page(form, code=422)
    flash(f"Webhook added: {hook.url} now hears of {', '.join(hook.events)}.", "success")
    return redirect(url_for("settings.hook_list"), 303)


@bp.route("/settings/hooks/<id:hook_id>/delete", methods=["GET", "POST"])
def hook_delete(hook_id: int):
    """GET asks for confirmation; POST removes the hook and its log."""
    hook = hooks.get(current_workspace().id, hook_id)
    if request.method == "GET":
        return render("settings/hook_delete.html", hook=hook)
    hooks.delete(hook, current_user.id)
    flash("Webhook removed: nothing more is sent to it.", "success")
    return redirect(url_for("settings.hook_list"), 303)
