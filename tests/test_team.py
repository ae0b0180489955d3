"""The team: inviting by one-time link, joining with a new account or an existing one,
roles and removal (never of the last admin), what non-admins may not do, invitation
e-mails through a real SMTP server, and switching between workspaces."""

import html
import re
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from rq.job import Job
from sqlalchemy import select

from tests.factories import member
from tests.helpers import (
    PASSWORD,
    count,
    csrf_token,
    error_for,
    page,
    show,
    sign_in,
    sign_out,
    submit,
)
from tests.servers import free_port
from tests.test_notifications import Inbox
from webapp.engine import jobs
from webapp.errors import Conflict
from webapp.extensions import db
from webapp.models import AuditEvent, Invitation, Membership, User, Workspace
from webapp.services import posts as post_service
from webapp.services import team
from webapp.services.accounts import create_user
from webapp.timeutil import now_utc

# SQLite only: these are pages over the services, whose behaviour on both databases the
# API tests (tests/api/) and the engine's tests check.


def acme() -> Workspace:
    return db.session.scalar(select(Workspace).where(Workspace.name == "Acme"))


def invite(client, email="new@example.com", role="editor") -> str:
    """Invite through the team page; returns the link's path."""
    response = submit(client, "/team/invite", {"email": email, "role": role}, form_page="/team")
    assert response.status_code == 200, page(response)
    found = re.search(r'<input id="invite-link"[^>]*value="([^"]+)"', page(response))
    assert found, "no invitation link shown"
    return re.sub(r"^https?://[^/]+", "", html.unescape(found.group(1)))


def membership_of(email: str) -> Membership | None:
    db.session.expire_all()
    return db.session.scalar(select(Membership).join(User).where(
        User.email == email, Membership.workspace_id == acme().id))


def actions() -> list[str]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


# --- inviting and joining -------------------------------------------------------------------


def test_an_invited_person_makes_an_account_and_joins_with_the_role(app, signed_in):
    link = invite(signed_in, " New@Example.COM ", "approver")
    shown = show(signed_in, "/team")
    assert "new@example.com" in shown and "Pending invitations" in shown
    assert "invite-link" not in shown  # the link is shown once, on the invite's answer
    sign_out(signed_in)

    form = show(signed_in, link)
    assert 'value="new@example.com" readonly' in form and "Create account and join" in form
    # The same password rules as sign-up: nothing is made until they hold.
    short = submit(signed_in, link, {"password": "short", "confirm": "short"})
    assert short.status_code == 422 and error_for(page(short), "password")
    differ = submit(signed_in, link, {"password": PASSWORD, "confirm": PASSWORD + "!"})
    assert differ.status_code == 422 and error_for(page(differ), "confirm")
    assert count(User, User.email == "new@example.com") == 0

    joined = submit(signed_in, link, {"password": PASSWORD, "confirm": PASSWORD})
    assert joined.status_code == 303 and joined.headers["Location"].endswith("/")
    assert membership_of("new@example.com").role == "approver"
    header = show(signed_in, "/team")  # signed in as the new member
    assert "new@example.com (you)" in header and "Acme (approver)" in header
    assert "No invitations waiting." in header
    assert actions()[-2:] == ["member.invited", "member.joined"]


def test_a_member_elsewhere_joins_with_their_account_and_lands_in_the_workspace(
        app, client, signed_in):
    create_user("sam@example.com", PASSWORD, "Beta", "admin")
    link = invite(signed_in, "sam@example.com", "viewer")
    sign_out(signed_in)
    form = show(client, link)
    assert "has an account already" in form and "/login?next=" in form
    assert "Create account" not in form
    sign_in(client, "sam@example.com")
    assert "Join Acme" in show(client, link)
    joined = submit(client, link)
    assert joined.status_code == 303
    assert "Acme (viewer)" in show(client, "/posts")
    assert membership_of("sam@example.com").role == "viewer"


def test_a_link_works_once(app, client, signed_in):
    link = invite(signed_in)
    sign_out(signed_in)
    assert submit(client, link, {"password": PASSWORD, "confirm": PASSWORD}).status_code == 303
    sign_out(client)
    again = client.get(link)
    assert again.status_code == 404 and "used already" in page(again)
    token = link.rsplit("/", 1)[1]
    with pytest.raises(Exception, match="used already"):
        team.accept(token, db.session.scalar(select(User).where(User.email == "admin@example.com")))
    assert count(Membership, Membership.workspace_id == acme().id) == 2


def test_an_expired_link_is_refused(app, client, signed_in):
    link = invite(signed_in)
    row = db.session.scalar(select(Invitation))
    row.expires_at = now_utc() - timedelta(minutes=1)
    db.session.commit()
    sign_out(signed_in)
    shown = client.get(link)
    assert shown.status_code == 404 and "expired" in page(shown)
    # Even with a CSRF token from another page, nothing is made.
    posted = client.post(link, data={"password": PASSWORD, "confirm": PASSWORD,
                                     "csrf_token": csrf_token(client, "/login")})
    assert posted.status_code == 404
    assert count(User, User.email == "new@example.com") == 0


@pytest.mark.parametrize("token", ["x" * 43, "A" * 42 + "\u00e9"])
def test_an_unknown_link_is_a_friendly_404(app, client, admin, token):
    response = client.get(f"/invite/{token}")
    assert response.status_code == 404 and "not valid" in page(response)


def test_someone_signed_in_with_another_address_is_told_and_cannot_join(app, client,
                                                                         signed_in):
    link = invite(signed_in, "new@example.com")
    create_user("other@example.com", PASSWORD, "Beta", "admin")
    sign_out(signed_in)
    sign_in(client, "other@example.com")
    shown = show(client, link)
    assert "This invitation is for new@example.com" in shown and "Join Acme</button>" not in shown
    refused = client.post(link, data={"csrf_token": csrf_token(client, "/team")})
    assert refused.status_code == 403
    assert membership_of("other@example.com") is None


def test_a_member_already_is_not_invited(app, signed_in):
    member("editor")
    response = submit(signed_in, "/team/invite", {"email": "editor.acme@example.com",
                                                  "role": "viewer"}, form_page="/team")
    assert response.status_code == 422
    assert "already a member" in error_for(page(response), "email")
    assert count(Invitation) == 0


def test_a_new_invitation_replaces_the_open_one_and_revoking_closes_it(app, client,
                                                                       signed_in):
    first = invite(signed_in)
    second = invite(signed_in, role="viewer")
    assert client.get(first).status_code == 404  # only the newest link works
    [row] = db.session.scalars(select(Invitation)).all()
    revoked = submit(signed_in, f"/team/invitations/{row.id}/revoke", form_page="/team")
    assert revoked.status_code == 303
    assert client.get(second).status_code == 404 and count(Invitation) == 0
    assert actions().count("invitation.revoked") == 2


# --- roles and removal --------------------------------------------------------------------


def test_an_admin_changes_a_role_and_removes_a_member(app, signed_in):
    editor = member("editor")
    token_holder = membership_of(editor.email)
    changed = submit(signed_in, f"/team/members/{token_holder.id}/role", {"role": "approver"},
                     form_page="/team")
    assert changed.status_code == 303 and membership_of(editor.email).role == "approver"
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "member.role_changed"))
    assert (event.before["role"], event.after["role"]) == ("editor", "approver")
    confirm = show(signed_in, f"/team/members/{token_holder.id}/remove")
    assert f"Remove {editor.email} from Acme?" in confirm
    removed = submit(signed_in, f"/team/members/{token_holder.id}/remove")
    assert removed.status_code == 303 and membership_of(editor.email) is None
    assert "member.removed" in actions()


def test_the_last_admin_can_be_neither_removed_nor_demoted(app, signed_in, admin):
    mine = membership_of("admin@example.com")
    demoted = submit(signed_in, f"/team/members/{mine.id}/role", {"role": "editor"},
                     form_page="/team")
    assert "last admin" in show(signed_in, demoted.headers["Location"])
    removed = submit(signed_in, f"/team/members/{mine.id}/remove")
    assert "last admin" in show(signed_in, removed.headers["Location"])
    assert membership_of("admin@example.com").role == "admin"
    assert "member.role_changed" not in actions() and "member.removed" not in actions()
    with pytest.raises(Conflict) as refused:
        team.change_role(acme().id, mine.id, "viewer", admin.id)
    assert refused.value.reason == team.LAST_ADMIN
    # With a second admin, either may go.
    other = member("admin")
    assert team.change_role(acme().id, mine.id, "editor", other.id).role == "editor"


@pytest.mark.parametrize("role", ["editor", "viewer", "approver"])
def test_non_admins_read_the_team_and_change_nothing(app, client, admin, role):
    user = member(role)
    target = membership_of("admin@example.com")
    row, _ = team.invite(acme().id, admin.id, "x@example.com", "editor")
    sign_in(client, user.email)
    shown = show(client, "/team")
    assert "admin@example.com" in shown and "x@example.com" in shown
    assert "Invite someone" not in shown and 'name="role"' not in shown
    token = csrf_token(client, "/team")
    for path, data in [("/team/invite", {"email": "y@example.com", "role": "admin"}),
                       (f"/team/members/{target.id}/role", {"role": "viewer"}),
                       (f"/team/members/{target.id}/remove", {}),
                       (f"/team/invitations/{row.id}/revoke", {})]:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    assert client.get(f"/team/members/{target.id}/remove").status_code == 403
    assert membership_of("admin@example.com").role == "admin" and count(Invitation) == 1


@pytest.mark.parametrize("data, field, message", [
    ({"email": "not an address", "role": "editor"}, "email", "not an e-mail address"),
    ({"email": "a@" + "b" * 300 + ".example", "role": "editor"}, "email", "not an e-mail"),
    ({"email": "ok@example.com", "role": "owner"}, "role", "must be one of"),
    ({"email": "ok@example.com", "role": "x" * 10_000}, "role", "must be one of"),
], ids=["bad-email", "huge-email", "bad-role", "huge-role"])
def test_bad_invitations_say_why_and_change_nothing(app, signed_in, data, field, message):
    response = submit(signed_in, "/team/invite", data, form_page="/team")
    assert response.status_code == 422
    assert message in error_for(page(response), field)
    assert count(Invitation) == 0 and "member.invited" not in actions()


def test_nul_bytes_and_bad_roles_change_nothing(app, signed_in):
    nul = submit(signed_in, "/team/invite", {"email": "a\x00@example.com", "role": "editor"},
                 form_page="/team")
    assert nul.status_code == 400 and "Nothing was saved" in page(nul)
    assert count(Invitation) == 0
    editor = membership_of(member("editor").email)
    for role in ["owner", "admin\x00", "x" * 5000]:
        response = submit(signed_in, f"/team/members/{editor.id}/role", {"role": role},
                          form_page="/team")
        assert response.status_code in (303, 400)
    assert membership_of("editor.acme@example.com").role == "editor"
    assert "member.role_changed" not in actions()


def test_another_workspaces_member_is_not_found(app, signed_in):
    stranger = member("editor", workspace="Beta")
    theirs = db.session.scalar(select(Membership).where(Membership.user_id == stranger.id))
    response = submit(signed_in, f"/team/members/{theirs.id}/remove", form_page="/team")
    assert response.status_code == 404
    assert db.session.get(Membership, theirs.id) is not None


# --- e-mail ---------------------------------------------------------------------------------


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{controller.port}"
    yield inbox
    controller.stop()


def test_the_invitation_is_emailed_when_smtp_is_set(app, signed_in, smtp, runner):
    app.config["SMTP_URL"] = smtp.url
    link = invite(signed_in, "new@example.com", "editor")
    token = link.rsplit("/", 1)[1]
    # The job carries the invitation's id and the token sealed, never the token itself.
    [job_id] = jobs.queue().job_ids
    assert token not in repr(Job.fetch(job_id, connection=jobs.redis()).args)
    runner.until(lambda: len(smtp.messages) == 1)
    [(_, recipients, message, _)] = smtp.messages
    assert recipients == ["new@example.com"] and "Acme" in message["Subject"]
    assert f"/invite/{token}" in message.get_content()


def test_no_email_for_an_invitation_revoked_before_the_job_ran(app, signed_in, smtp, runner):
    app.config["SMTP_URL"] = smtp.url
    invite(signed_in)
    row = db.session.scalar(select(Invitation))
    submit(signed_in, f"/team/invitations/{row.id}/revoke", form_page="/team")
    runner.step()
    assert smtp.messages == []


def test_without_smtp_nothing_is_queued(app, signed_in):
    invite(signed_in)
    assert jobs.queue().job_ids == []


# --- switching workspace ------------------------------------------------------------------


def two_workspaces(admin):
    """The admin also edits Beta; one post in each workspace."""
    _, beta = create_user("admin@example.com", PASSWORD, "Beta", "editor")
    for workspace, body in [(acme(), "Acme launch note"), (beta, "Beta launch note")]:
        post_service.create(workspace.id, admin.id, {"body": body, "status": "draft"})
    return beta


def test_switching_workspace_changes_what_pages_show_and_lasts(app, signed_in, admin):
    beta = two_workspaces(admin)
    before = show(signed_in, "/posts")
    assert "Acme launch note" in before and "Beta launch note" not in before
    assert 'id="workspace-switch"' in before
    switched = submit(signed_in, "/workspace/switch", {"workspace_id": str(beta.id),
                                                       "next": "/posts"}, form_page="/posts")
    assert switched.status_code == 303 and switched.headers["Location"].endswith("/posts")
    for _ in range(2):  # the choice lasts from request to request
        after = show(signed_in, "/posts")
        assert "Beta launch note" in after and "Acme launch note" not in after
        assert "Beta (editor)" in after


def test_the_switch_refuses_a_workspace_the_user_is_not_in(app, signed_in, admin):
    two_workspaces(admin)
    elsewhere = create_user("someone@example.com", PASSWORD, "Gamma", "admin")[1]
    token = csrf_token(signed_in, "/posts")
    for value in [str(elsewhere.id), "abc", "\uff11", "99999999999", ""]:
        refused = signed_in.post("/workspace/switch", data={"workspace_id": value,
                                                           "csrf_token": token})
        assert refused.status_code == 403, value
    assert "Acme (admin)" in show(signed_in, "/posts")
    away = submit(signed_in, "/workspace/switch", {"workspace_id": str(acme().id),
                                                   "next": "//evil.example/"},
                  form_page="/posts")
    assert away.status_code == 303 and "evil" not in away.headers["Location"]


def test_one_workspace_shows_no_switcher(app, signed_in):
    assert 'id="workspace-switch"' not in show(signed_in, "/posts")


def test_a_choice_the_user_lost_falls_back_to_their_first_workspace(app, signed_in, admin):
    beta = two_workspaces(admin)
    submit(signed_in, "/workspace/switch", {"workspace_id": str(beta.id)}, form_page="/posts")
    db.session.delete(db.session.scalar(select(Membership).where(
        Membership.user_id == admin.id, Membership.workspace_id == beta.id)))
    db.session.commit()
    assert "Acme launch note" in show(signed_in, "/posts")
