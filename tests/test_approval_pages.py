"""Approvals in the pages: the Approvals page (what waits, oldest first, each channel's
text), approving and requesting changes with a comment, the workspace's setting, the
composer's "Submit for approval" and a rejection's comment, and the approval state on the
calendar, the queue and a post's page."""

import html
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_post, member, workspace_id
from tests.helpers import composer, page, show, sign_in, sign_out, submit
from webapp.errors import Forbidden
from webapp.extensions import db
from webapp.models import Approval, Delivery, Post, Workspace
from webapp.services import approvals
from webapp.timeutil import now_utc

# SQLite only: these are pages over the services, whose behaviour on both databases the
# API tests (tests/api/) and the engine's tests check.


@pytest.fixture
def required(admin):
    workspace = db.session.get(Workspace, workspace_id(admin))
    workspace.approval = "required"
    db.session.commit()
    return workspace


@pytest.fixture
def editor(required):
    return member("editor")


@pytest.fixture
def approver(required):
    return member("approver")


def as_user(client, user) -> None:
    """Sign `client` in as `user`, out of whoever it was signed in as."""
    if client.get("/login").status_code == 302:
        sign_out(client)
    assert sign_in(client, user.email).status_code == 302


def waiting_post(editor, channel, channel_ids=None, **fields) -> Post:
    post = make_post(editor, channel_ids or [channel.id], **fields)
    assert post.status == "pending_approval"
    return post


def test_the_approvals_page_shows_what_waits_oldest_first(client, editor, approver, channel):
    from tests.factories import add_channel

    other = add_channel(editor, name="Second hook")
    first = waiting_post(editor, channel, title="First", body="The older one",
                         channel_ids=[channel.id, other.id],
                         overrides={str(other.id): "Own text for the second"})
    second = waiting_post(editor, channel, title="Second", body="The newer one")
    db.session.get(Approval, approvals.pending_of(second).id).requested_at = \
        now_utc() + timedelta(seconds=1)
    db.session.commit()
    as_user(client, approver)
    body = show(client, "/approvals")
    assert body.index("First") < body.index("Second")
    assert "The older one" in body and "Own text for the second" in body
    assert "2 waiting" in body
    assert f'href="/posts/{first.id}"' in body
    # The navigation counts what waits.
    assert 'aria-label="2 waiting"' in body


def test_editors_and_viewers_do_not_see_the_page(client, editor):
    viewer = member("viewer")
    for user in (editor, viewer):
        as_user(client, user)
        assert client.get("/approvals").status_code == 403
        assert "/approvals" not in show(client, "/")


def test_approve_and_request_changes_through_the_page(client, editor, approver, channel):
    first = waiting_post(editor, channel, title="To approve")
    second = waiting_post(editor, channel, title="To change")
    as_user(client, approver)
    answer = submit(client, f"/approvals/{first.id}/approve", form_page="/approvals")
    assert answer.status_code == 303
    db.session.expire_all()
    assert db.session.get(Post, first.id).status == "scheduled"

    # Changes need a comment: without one nothing happens.
    answer = submit(client, f"/approvals/{second.id}/reject", {"comment": "   "},
                    form_page="/approvals", follow_redirects=True)
    assert "the comment is required" in page(answer)
    db.session.expire_all()
    assert db.session.get(Post, second.id).status == "pending_approval"
    submit(client, f"/approvals/{second.id}/reject", {"comment": "Shorter, please"},
           form_page="/approvals")
    db.session.expire_all()
    assert db.session.get(Post, second.id).status == "draft"

    # The author sees the comment in the composer, and can send the post again.
    as_user(client, editor)
    form = show(client, f"/posts/{second.id}/edit")
    assert "Changes requested" in form and "Shorter, please" in form
    assert "Submit for approval" in form
    assert "Shorter, please" in show(client, f"/posts/{second.id}")


def test_an_editor_cannot_approve_through_the_form(client, editor, channel):
    post = waiting_post(editor, channel)
    as_user(client, editor)
    answer = submit(client, f"/approvals/{post.id}/approve", form_page="/")
    assert answer.status_code == 403
    db.session.expire_all()
    assert db.session.get(Post, post.id).status == "pending_approval"


def test_the_composer_submits_for_approval(client, editor, channel):
    as_user(client, editor)
    form = show(client, "/posts/new")
    assert "Submit for approval" in form and 'value="publish"' not in form
    answer = submit(client, "/posts/new", composer([channel.id], title="From the composer"),
                    form_page="/posts/new", follow_redirects=True)
    assert "Sent for approval" in page(answer), page(answer)[:2000]
    post = db.session.scalar(select(Post).where(Post.title == "From the composer"))
    assert post.status == "pending_approval"
    assert "Waiting for approval" in page(answer)


def test_the_state_shows_on_the_calendar_queue_and_post_page(client, editor, approver,
                                                             channel):
    post = waiting_post(editor, channel, title="Awaiting one")
    due = post.schedules[0].next_run_at
    as_user(client, approver)
    calendar = show(client, f"/calendar?view=week&date={due.date()}")
    assert "Awaiting approval" in calendar and "st-awaiting" in calendar
    only = show(client, f"/calendar?view=week&date={due.date()}&status=awaiting")
    assert "Awaiting one" in only
    queue = show(client, "/queue")
    assert "awaiting approval" in queue
    detail = show(client, f"/posts/{post.id}")
    assert "Waiting for approval" in detail and "Request changes" in detail
    assert f"/posts/{post.id}/publish-now" not in detail


def test_only_admins_change_the_setting(client, admin, approver):
    as_user(client, approver)
    assert 'name="approval"' not in show(client, "/approvals")
    answer = submit(client, "/approvals/setting", {"approval": "none"}, form_page="/approvals")
    assert answer.status_code == 403
    as_user(client, admin)
    for wrong in ("sometimes", "", "none\x00"):
        submit(client, "/approvals/setting", {"approval": wrong}, form_page="/approvals")
        db.session.expire_all()
        assert db.session.get(Workspace, workspace_id(admin)).approval == "required"
    submit(client, "/approvals/setting", {"approval": "none"}, form_page="/approvals")
    db.session.expire_all()
    assert db.session.get(Workspace, workspace_id(admin)).approval == "none"
    assert html.unescape(show(client, "/approvals")).count("Approval is not required") == 1


def test_an_editor_moving_an_approved_occurrence_asks_again(editor, approver, channel):
    from webapp.services import deliveries

    post = waiting_post(editor, channel)
    approvals.approve(post, approver.id)
    delivery = db.session.scalars(select(Delivery).where(Delivery.post_id == post.id)).first()
    later = (delivery.due_at + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    deliveries.move(delivery, editor.id, later, "UTC")
    db.session.expire_all()
    assert db.session.get(Post, post.id).status == "pending_approval"
    assert approvals.pending_of(db.session.get(Post, post.id)) is not None
    assert all(d.job_id is None for d in db.session.scalars(
        select(Delivery).where(Delivery.post_id == post.id)))
    with pytest.raises(Forbidden):
        deliveries.publish_now(db.session.get(Delivery, delivery.id), editor.id)
