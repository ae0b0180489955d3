"""The team page (admins manage it, everyone else reads it), invitation links, and the
header's workspace switcher."""

from flask import flash, redirect, request, url_for
from flask_login import current_user

from ..errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from ..services import team
from ..services.notifications import email_enabled
from ..services.validation import row_id
from ..web.access import current_workspace, switch_workspace
from ..web.forms import add_errors
from ..web.htmx import render
from ..web.redirects import back
from ..web.sessions import sign_in
from . import bp
from .forms import ROLE_CHOICES, InviteForm, JoinForm, NewAccountForm, RoleForm


def _page(invite_form=None, *, new_link=None, code: int = 200):
    people, pending = team.members(current_workspace().id)
    return render("team/team.html", people=people, pending=pending, new_link=new_link,
                  invite_form=invite_form or InviteForm(formdata=None),
                  role_choices=ROLE_CHOICES, email_on=email_enabled(), code=code)


@bp.get("/team")
def team_page():
    return _page()


@bp.post("/team/invite")
def invite():
    """Not a redirect on success: the link must not travel in a URL or sit in the session,
    so this answer is the only place it is shown."""
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(form, code=400)
    try:
        invitation, token = team.invite(current_workspace().id, current_user.id,
                                        form.email.data, form.role.data)
    except ValidationError as exc:
        add_errors(form, exc.fields, {})
        return _page(form, code=422)
    link = url_for("team.invitation", token=token, _external=True)
    return _page(new_link=(invitation, link))


@bp.post("/team/members/<id:membership_id>/role")
def change_role(membership_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        flash("The form expired; nothing was changed. Try again.", "error")
        return redirect(url_for("team.team_page"), 303)
    try:
        membership = team.change_role(current_workspace().id, membership_id, form.role.data,
                                      current_user.id)
    except (ValidationError, Conflict) as exc:
        flash(f"Nothing was changed: {exc.message}", "error")
    else:
        flash(f"{membership.user.email} is now {membership.role}.", "success")
    return redirect(url_for("team.team_page"), 303)


@bp.route("/team/members/<id:membership_id>/remove", methods=["GET", "POST"])
def remove(membership_id: int):
    """GET asks for confirmation; POST takes the member out of the workspace."""
    workspace = current_workspace()
    membership = team.member(workspace.id, membership_id)
    if request.method == "GET":
        return render("team/member_remove.html", member=membership,
                      form=JoinForm(formdata=None))
    if not JoinForm().validate_on_submit():
        return render("team/member_remove.html", member=membership, form=JoinForm(),
                      code=400)
    email, name, themselves = (membership.user.email, workspace.name,
                               membership.user_id == current_user.id)
    try:
        team.remove(workspace.id, membership_id, current_user.id)
    except Conflict as exc:
        flash(f"Nothing was changed: {exc.message}", "error")
        return redirect(url_for("team.team_page"), 303)
    flash(f"{email} no longer belongs to {name}.", "success")
    # Someone who removed themselves has no team page here any more.
    return redirect(url_for("dashboard.dashboard" if themselves else "team.team_page"), 303)


@bp.post("/team/invitations/<id:invitation_id>/revoke")
def revoke(invitation_id: int):
    if not JoinForm().validate_on_submit():
        flash("The form expired; nothing was changed. Try again.", "error")
        return redirect(url_for("team.team_page"), 303)
    invitation = team.revoke_invitation(current_workspace().id, invitation_id, current_user.id)
    flash(f"The invitation of {invitation.email} is revoked: its link opens nothing.",
          "success")
    return redirect(url_for("team.team_page"), 303)


@bp.post("/workspace/switch")
def switch():
    """Work in another of the user's workspaces, in this browser, from the next page on."""
    if not JoinForm().validate_on_submit():
        flash("The form expired; the workspace did not change. Try again.", "error")
        return back("dashboard.dashboard")
    membership = switch_workspace(row_id(request.form.get("workspace_id")))
    if membership is None:
        raise Forbidden("You are not a member of that workspace.")
    flash(f"You are working in {membership.workspace.name}.", "info")
    return back("dashboard.dashboard")


# Tokens are secrets.token_urlsafe(32): 43 characters. Anything else is no link of ours,
# and routing answers 404 before CSRF or a lookup runs.
@bp.route("/invite/<string(length=43):token>", methods=["GET", "POST"])
def invitation(token: str):
    """Open to everyone: make an account (signed out) or join (signed in with the invited
    address). A link that opens nothing is a friendly 404."""
    try:
        invite = team.invitation_for(token)
    except NotFound as exc:
        return render("team/invitation.html", invalid=exc.message, code=404)
    signed_in = current_user.is_authenticated
    form = JoinForm() if signed_in else NewAccountForm()
    has_account = not signed_in and team.has_account(invite.email)
    context = {"invite": invite, "form": form, "has_account": has_account, "token": token}
    if request.method == "GET":
        return render("team/invitation.html", **context)
    if not form.validate_on_submit():
        return render("team/invitation.html", code=400, **context)
    try:
        if signed_in:
            membership = team.accept(token, current_user._get_current_object())
        else:
            membership = team.accept_as_new_user(token, form.password.data,
                                                 form.confirm.data)
            sign_in(membership.user, remember=False)
    except ValidationError as exc:
        add_errors(form, exc.fields, {})
        return render("team/invitation.html", code=422, **context)
    except DomainError as exc:
        return render("team/invitation.html", refused=exc.message, code=exc.status,
                      **context)
    switch_workspace(membership.workspace_id)
    flash(f"Welcome to {membership.workspace.name}: you are {membership.role} here.",
          "success")
    return redirect(url_for("dashboard.dashboard"), 303)
