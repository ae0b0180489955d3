"""A team in a real browser, end to end: an admin invites an editor and an approver, who
join through their links; with approval required, the editor's post is approved from the
Approvals page and goes out at its time, once; a second is sent back with a comment,
changed and approved; a third is never approved and is not published, and the team is told;
a client approves a fourth through a review link, without an account."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.helpers import screenshot
from tests.helpers import PASSWORD
from webapp.extensions import db
from webapp.models import NOT_APPROVED, Delivery, Notification, Post, Workspace

pytestmark = pytest.mark.browser


def invite(page, email: str, role: str) -> str:
    page.goto("/team")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Role", exact=True).select_option(role)
    page.get_by_role("button", name="Invite").click()
    link = page.get_by_label("Invitation link")
    expect(link).to_be_visible()
    return link.input_value()


def join(browser, live_server, link: str):
    """A new person's browser: the invitation opened, an account made; the signed-in page."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(link)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account and join").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return page


def compose(page, title: str, body: str, at: datetime) -> None:
    page.goto("/posts/new")
    page.get_by_label("Title (optional)").fill(title)
    page.get_by_label("Text", exact=True).fill(body)
    page.get_by_label("Date and time").fill(at.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label("Timezone").fill("UTC")
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.get_by_text("Sent for approval")).to_be_visible()


def post_id(title: str) -> int:
    db.session.rollback()
    found = db.session.scalar(select(Post.id).where(Post.title == title))
    db.session.rollback()
    return found


def test_invite_approve_reject_and_never_approved(browser, live_server, signed_in, admin, hook,
                                                  webhook, runner):
    admin_page = signed_in
    workspace = db.session.get(Workspace, admin.memberships[0].workspace_id)
    workspace.approval = "required"
    db.session.commit()
    db.session.rollback()

    editor_link = invite(admin_page, "editor@example.com", "editor")
    approver_link = invite(admin_page, "approver@example.com", "approver")
    expect(admin_page.get_by_role("cell", name="approver@example.com", exact=True)).to_be_visible()
    editor = join(browser, live_server, editor_link)
    approver = join(browser, live_server, approver_link)
    expect(editor.get_by_role("link", name="Approvals")).to_have_count(0)
    expect(approver.get_by_role("link", name=re.compile("^Approvals"))).to_be_visible()

    # Times to the second, far enough ahead to be approved first on a slow machine.
    now = datetime.now(UTC).replace(microsecond=0)
    compose(editor, "Launch", "We launch today", now + timedelta(seconds=40))
    compose(editor, "Teaser", "Something is coming", now + timedelta(days=2))
    compose(editor, "Forgotten", "Nobody looks at this one", now + timedelta(seconds=45))
    compose(editor, "For the client", "Our new logo", now + timedelta(days=3))

    approver.goto("/approvals")
    expect(approver.get_by_role("heading", name="Launch")).to_be_visible()
    screenshot(approver, "approvals")
    launch = approver.get_by_role("article").filter(has_text="We launch today")
    launch.get_by_role("button", name="Approve").click()
    expect(approver.get_by_text("Approved: it goes out at its times.")).to_be_visible()
    teaser = approver.get_by_role("article").filter(has_text="Something is coming")
    teaser.get_by_label("What should change").fill("Say when it is coming")
    teaser.get_by_role("button", name="Request changes").click()
    expect(approver.get_by_text("Sent back to its author")).to_be_visible()

    # The author sees the comment, changes the text and asks again; it is approved.
    editor.goto(f"/posts/{post_id('Teaser')}/edit")
    expect(editor.locator("#rejection")).to_contain_text("Say when it is coming")
    editor.get_by_label("Text", exact=True).fill("Coming on Friday")
    editor.get_by_role("button", name="Submit for approval").click()
    expect(editor.get_by_text("Sent for approval")).to_be_visible()
    approver.goto("/approvals")
    approver.get_by_role("article").filter(has_text="Coming on Friday") \
        .get_by_role("button", name="Approve").click()
    expect(approver.get_by_text("Nothing waits for approval.")).to_have_count(0)

    # The approver shares the fourth with a client, who approves it without an account.
    client_post = approver.get_by_role("article").filter(has_text="Our new logo")
    client_post.get_by_text("Share for client review").click()
    client_post.get_by_label("For whom").fill("Acme Corp — Jane")
    client_post.get_by_role("button", name="Make a review link").click()
    review_link = approver.get_by_label("Review link").input_value()
    outsider_context = browser.new_context(base_url=live_server)
    outsider = outsider_context.new_page()
    outsider.goto(review_link)
    expect(outsider.get_by_text("Our new logo")).to_be_visible()
    expect(outsider.get_by_role("navigation", name="Main")).to_have_count(0)
    screenshot(outsider, "client-review")
    outsider.get_by_role("button", name="Approve").click()
    expect(outsider.get_by_text(re.compile("approved", re.I)).first).to_be_visible()
    outsider_context.close()
    db.session.rollback()
    assert db.session.scalar(select(Post.status).where(Post.id == post_id("For the client"))) \
        == "scheduled"
    db.session.rollback()
    approver.goto(f"/posts/{post_id('For the client')}")
    decided = approver.locator("#content").get_by_text(re.compile("Acme Corp — Jane"))
    expect(decided.first).to_be_visible()

    launch_id, forgotten_id = post_id("Launch"), post_id("Forgotten")

    def settled():
        db.session.rollback()
        rows = db.session.execute(select(Delivery.post_id, Delivery.status)
                                  .where(Delivery.post_id.in_([launch_id, forgotten_id]))).all()
        db.session.rollback()
        return sorted(rows) == [(launch_id, "published"), (forgotten_id, "cancelled")]

    runner.until(settled, timeout=120, plan=True)
    runner.step(plan=True)
    bodies = [p.json()["body"] for p in webhook.posts()]
    assert bodies == ["We launch today"]  # once; the unapproved one never
    db.session.rollback()
    launch = db.session.scalar(select(Delivery).where(Delivery.post_id == launch_id))
    assert launch.finished_at >= launch.due_at  # on time, never early
    forgotten = db.session.scalar(select(Delivery).where(Delivery.post_id == forgotten_id))
    assert forgotten.last_error == NOT_APPROVED
    assert db.session.scalar(select(Post.status).where(Post.id == post_id("Teaser"))) \
        == "scheduled"
    assert db.session.scalar(select(Notification.id).where(Notification.kind == "not_approved"))
    db.session.rollback()

    editor.goto("/notifications")
    expect(editor.locator("#content .note-title").first).to_contain_text(
        "Not published (not approved in time): Forgotten")
    screenshot(editor, "notifications-not-approved")
    editor.context.close()
    approver.context.close()
