"""Approvals through the JSON API (API.md, "Approvals"): the workspace setting, what an
editor schedules waiting as pending_approval, approve and reject, an approved post edited,
what is still unapproved at its time, reminders — with the real planner and worker
publishing to a local webhook."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.api.helpers import assert_error, later, make_post
from tests.factories import member
from tests.helpers import Api, soon, token_for
from webapp.engine import planner
from webapp.extensions import db
from webapp.models import NOT_APPROVED, Approval, Delivery, Notification, Post
from webapp.timeutil import now_utc

pytestmark = pytest.mark.postgres


@pytest.fixture
def team(client, api, admin):
    """Api clients of an editor and an approver of the admin's workspace, with approval
    required."""
    workspace_id = admin.memberships[0].workspace_id
    editor, approver = member("editor"), member("approver")
    assert api.patch("/workspace", json={"approval": "required"}).status_code == 200
    return (Api(client, token_for(editor, workspace_id)),
            Api(client, token_for(approver, workspace_id)))


def deliveries(post_id: int) -> list[Delivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(Delivery).where(Delivery.post_id == post_id)
                                   .order_by(Delivery.id)))


def notices(kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == kind)))


def test_the_workspace_setting(api, client, admin):
    assert api.get("/workspace").json["approval"] == "none"
    editor = Api(client, token_for(member("editor"), admin.memberships[0].workspace_id))
    assert_error(editor.patch("/workspace", json={"approval": "required"}), 403, "forbidden")
    assert editor.get("/workspace").json["approval"] == "none"
    for wrong in ("sometimes", None, 1, ["required"], "required\x00"):
        assert_error(api.patch("/workspace", json={"approval": wrong}), 422, field="approval")
    assert api.get("/workspace").json["approval"] == "none"
    answer = api.patch("/workspace", json={"approval": "required"})
    assert answer.status_code == 200 and answer.json["approval"] == "required"
    assert set(answer.json) == {"id", "name", "approval", "created_at"}


def test_an_editors_post_waits_and_goes_out_once_approved(team, hook_channel, webhook, runner):
    editor, approver = team
    # Time enough to approve it before it falls due, however slow the machine.
    post = make_post(editor, [hook_channel["id"]], at=soon(8))
    assert post["status"] == "pending_approval"
    assert post["approval"]["status"] == "pending"
    # Its deliveries exist (the queue shows what waits) but get no job.
    assert [d["status"] for d in post["deliveries"]] == ["pending"]
    runner.step(plan=True)
    assert [d.job_id for d in deliveries(post["id"])] == [None]

    waiting = editor.get("/approvals")
    assert_error(waiting, 403, "forbidden")
    waiting = approver.get("/approvals").json
    assert [a["post_id"] for a in waiting["items"]] == [post["id"]]
    assert waiting["items"][0]["status"] == "pending"
    assert_error(editor.post(f"/posts/{post['id']}/approve"), 403, "forbidden")

    approved = approver.post(f"/posts/{post['id']}/approve")
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "scheduled"
    assert approved.json["approval"]["status"] == "approved"
    assert approver.get("/approvals").json["items"] == []
    assert [a["post_id"] for a in approver.get("/approvals?status=approved").json["items"]] \
        == [post["id"]]
    assert_error(approver.post(f"/posts/{post['id']}/approve"), 409, "conflict")

    rows = runner.until_settled([d["id"] for d in post["deliveries"]], timeout=20)
    assert [r.status for r in rows] == ["published"]
    assert rows[0].finished_at >= rows[0].due_at  # never early
    runner.step(plan=True)
    assert len(webhook.posts()) == 1
    assert [n.title for n in notices("post_approved")] == ["Approved: Title"]


def test_a_rejected_post_returns_to_draft_with_the_comment_and_can_be_resubmitted(team,
                                                                                 hook_channel):
    editor, approver = team
    post = make_post(editor, [hook_channel["id"]], at=later(days=3))
    for empty in ({}, {"comment": "  "}, {"comment": 5}, {"comment": "x" * 5001},
                  {"comment": "no\x00"}):
        assert_error(approver.post(f"/posts/{post['id']}/reject", json=empty), 422,
                     field="comment")
    assert approver.get(f"/posts/{post['id']}").json["status"] == "pending_approval"

    rejected = approver.post(f"/posts/{post['id']}/reject",
                             json={"comment": "Mention the launch date"})
    assert rejected.status_code == 200, rejected.json
    assert rejected.json["status"] == "draft"
    assert rejected.json["approval"] == {"status": "rejected",
                                         "comment": "Mention the launch date",
                                         "decided_at": rejected.json["approval"]["decided_at"]}
    assert deliveries(post["id"]) == []
    assert [n.title for n in notices("post_rejected")] == ["Changes requested: Title"]
    assert "Mention the launch date" in notices("post_rejected")[0].body
    assert_error(approver.post(f"/posts/{post['id']}/approve"), 409, "conflict")

    resubmitted = editor.patch(f"/posts/{post['id']}", json={
        "body": "Launching on Monday", "status": "scheduled"})
    assert resubmitted.status_code == 200, resubmitted.json
    assert resubmitted.json["status"] == "pending_approval"
    assert resubmitted.json["approval"]["status"] == "pending"
    assert approver.post(f"/posts/{post['id']}/approve").json["status"] == "scheduled"
    history = approver.get("/approvals?status=rejected").json["items"]
    assert [(a["post_id"], a["comment"]) for a in history] == [
        (post["id"], "Mention the launch date")]


def test_editing_an_approved_post_sends_it_back(team, hook_channel, runner):
    editor, approver = team
    post = make_post(editor, [hook_channel["id"]], at=soon(20))
    approver.post(f"/posts/{post['id']}/approve")
    runner.step(plan=True)
    assert [d.job_id is not None for d in deliveries(post["id"])] == [True]

    changed = editor.patch(f"/posts/{post['id']}", json={"body": "A new text"})
    assert changed.json["status"] == "pending_approval"
    runner.step(plan=True)
    assert [(d.status, d.job_id) for d in deliveries(post["id"])] == [("pending", None)]
    # An approver's own change needs nobody else.
    approver.post(f"/posts/{post['id']}/approve")
    again = approver.patch(f"/posts/{post['id']}", json={"body": "Final text"})
    assert again.json["status"] == "scheduled"


def test_approvers_and_admins_schedule_directly(team, api, hook_channel):
    _, approver = team
    assert make_post(approver, [hook_channel["id"]])["status"] == "scheduled"
    assert make_post(api, [hook_channel["id"]])["status"] == "scheduled"


def test_an_editor_cannot_publish_at_once_where_approval_is_required(team, hook_channel):
    editor, approver = team
    draft = editor.post("/posts", json={"body": "Draft", "status": "draft",
                                        "channel_ids": [hook_channel["id"]]}).json
    assert_error(editor.post(f"/posts/{draft['id']}/publish-now"), 403, "forbidden")
    waiting = make_post(editor, [hook_channel["id"]])
    assert_error(approver.post(f"/posts/{waiting['id']}/publish-now"), 409, "conflict")
    assert deliveries(draft["id"]) == []


def test_unapproved_at_its_time_is_not_published(team, hook_channel, webhook, runner):
    editor, approver = team
    post = make_post(editor, [hook_channel["id"]], at=soon(1))
    due = deliveries(post["id"])[0].due_at
    while now_utc() <= due:
        time.sleep(0.05)
    runner.step(plan=True)
    rows = deliveries(post["id"])
    assert [(r.status, r.last_error) for r in rows] == [("cancelled", NOT_APPROVED)]
    assert webhook.posts() == []
    assert len(notices("not_approved")) == 1
    after = approver.get(f"/posts/{post['id']}").json
    assert after["status"] == "draft" and after["approval"]["status"] == "expired"
    assert_error(approver.post(f"/posts/{post['id']}/approve"), 409, "conflict")
    runner.step(plan=True)
    assert len(notices("not_approved")) == 1  # once


def test_an_approval_after_the_time_lets_out_only_what_is_still_ahead(team, hook_channel,
                                                                      runner):
    """A recurring post: the occurrence whose time passed before the approval is
    cancelled (not sent late), the later ones wait no more."""
    editor, approver = team
    post = make_post(editor, [hook_channel["id"]], at=soon(1), recurrence="FREQ=HOURLY")
    first = deliveries(post["id"])[0]
    while now_utc() <= first.due_at:
        time.sleep(0.05)
    approved = approver.post(f"/posts/{post['id']}/approve")
    assert approved.status_code == 200, approved.json
    rows = deliveries(post["id"])
    assert (rows[0].status, rows[0].last_error) == ("cancelled", NOT_APPROVED)
    assert all(r.status in ("pending", "queued") for r in rows[1:]) and rows[1:]


def test_no_worker_sends_a_post_that_waits_whatever_job_names_it(api, hook_channel, webhook,
                                                                 runner):
    post = make_post(api, [hook_channel["id"]], at=soon(3))
    planner.plan()  # its job, and no worker yet
    assert deliveries(post["id"])[0].job_id is not None
    # As if the post had been sent back for approval while its job ran.
    db.session.get(Post, post["id"]).status = "pending_approval"
    db.session.commit()
    due = deliveries(post["id"])[0].due_at
    while now_utc() <= due + timedelta(seconds=0.5):
        time.sleep(0.05)
    runner.step()
    assert [d.status for d in deliveries(post["id"])] != ["published"]
    assert webhook.posts() == []


def test_approvers_are_reminded_once_a_day_ahead(team, hook_channel):
    editor, _ = team
    soon_post = make_post(editor, [hook_channel["id"]], at=later(days=0, hours=3))
    make_post(editor, [hook_channel["id"]], at=later(days=3))
    planner.plan()
    reminders = notices("approval_reminder")
    assert len(reminders) == 1 and f"Post {soon_post['id']}" in reminders[0].body
    planner.plan()
    assert len(notices("approval_reminder")) == 1
    assert db.session.scalar(select(Approval.reminded_at).where(
        Approval.post_id == soon_post["id"])) is not None


def test_another_workspaces_posts_are_not_found(team, client, hook_channel):
    editor, approver = team
    post = make_post(editor, [hook_channel["id"]])
    outsider = member("admin", workspace="Other")
    other = Api(client, token_for(outsider, outsider.memberships[0].workspace_id))
    assert_error(other.post(f"/posts/{post['id']}/approve"), 404, "not_found")
    assert_error(other.post(f"/posts/{post['id']}/reject", json={"comment": "no"}), 404)
    assert other.get("/approvals").json["items"] == []
    for wrong in ("later", "", "pending\x00"):
        assert_error(approver.get(f"/approvals?status={wrong}"), 422, field="status")
