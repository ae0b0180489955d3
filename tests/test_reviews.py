"""Client review links: an approver shares a waiting post with someone outside the
workspace, who opens /review/<token> without signing in (a second browser with no
session), sees each channel's text and its times, and approves or requests changes once;
the decision is recorded under the link's name. Expired, revoked, used and unknown links
refuse; only approvers and admins of the post's workspace make and revoke links."""

import hashlib
import html
import json
import logging
import re
import secrets
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from tests.api.helpers import later, make_post
from tests.factories import add_channel, member
from tests.helpers import Api, count, page, show, sign_in, submit, token_for
from tests.stack import Stack
from webapp.extensions import db
from webapp.models import Approval, AuditEvent, Notification, Post, ReviewLink
from webapp.timeutil import now_utc

pytestmark = pytest.mark.postgres

NAME = "Acme Corp — Jane"
LINK = re.compile(r'<input id="review-link" class="token-secret" value="([^"]+)" readonly>')


@pytest.fixture
def waiting(app, client, api, admin, hook_channel):
    """A post an editor scheduled in a workspace that requires approval (two channels, one
    with its own text), and `client` signed in as an approver."""
    workspace_id = admin.memberships[0].workspace_id
    assert api.patch("/workspace", json={"approval": "required"}).status_code == 200
    blog = add_channel(admin, "Blog hook")
    editor = Api(client, token_for(member("editor"), workspace_id))
    post = make_post(editor, [hook_channel["id"], blog.id], at=later(days=3),
                     timezone="America/New_York", body="Launch day is here",
                     overrides={str(blog.id): "The long blog version of launch day"})
    assert post["status"] == "pending_approval"
    member("approver")
    assert sign_in(client, "approver.acme@example.com").status_code == 302
    return post


def share(client, post_id: int, name: str = NAME, days: str = "7"):
    return submit(client, f"/approvals/{post_id}/review-links", {"name": name, "days": days},
                  form_page=f"/posts/{post_id}")


def new_link(client, post_id: int, name: str = NAME) -> str:
    """Make a link through the page and return the URL it shows once."""
    response = share(client, post_id, name)
    assert response.status_code == 200, page(response)
    found = LINK.search(page(response))
    assert found, page(response)
    return html.unescape(found.group(1))


def decide(outsider, url: str, decision: str, comment: str = ""):
    """POST a decision with the outsider's CSRF token (from the sign-in page: a refused
    link's page has no form)."""
    return submit(outsider, url, {"decision": decision, "comment": comment},
                  form_page="/login")


def link_of(url: str) -> ReviewLink:
    db.session.expire_all()
    token = url.rsplit("/", 1)[1]
    return db.session.scalar(select(ReviewLink).where(
        ReviewLink.token_hash == hashlib.sha256(token.encode()).hexdigest()))


def post_row(post_id: int) -> Post:
    db.session.expire_all()
    return db.session.get(Post, post_id)


def approvals_of(post_id: int) -> list[Approval]:
    db.session.expire_all()
    return list(db.session.scalars(select(Approval).where(Approval.post_id == post_id)
                                   .order_by(Approval.id)))


def actions(name: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == name)))


def test_the_outsider_sees_each_channel_and_approves_under_the_links_name(
        app, client, waiting, caplog):
    caplog.set_level(logging.DEBUG)
    url = new_link(client, waiting["id"])
    token = url.rsplit("/", 1)[1]
    assert url.startswith("http://localhost/review/") and len(token) == 43
    link = link_of(url)
    assert link.name == NAME and link.used_at is None and link.revoked_at is None
    assert timedelta(days=6, hours=23) < link.expires_at - now_utc() <= timedelta(days=7)
    assert [e.after["name"] for e in actions("review_link.created")] == [NAME]
    listed = show(client, f"/posts/{waiting['id']}")
    assert NAME in listed and "status-active" in listed and "Revoke" in listed
    assert token not in listed  # shown once, on the answer that made it
    queue = show(client, "/approvals")
    assert "Share for client review (1 link)" in queue and NAME in html.unescape(queue)

    outsider = app.test_client()
    response = outsider.get(url)
    assert response.status_code == 200
    assert "noindex" in response.headers["X-Robots-Tag"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    body = html.unescape(page(response))
    assert "Acme" in body and "Title" in body
    assert "Launch day is here" in body and "The long blog version of launch day" in body
    assert "Hook" in body and "Blog hook" in body and "webhook" in body
    assert f"{len('The long blog version of launch day')} characters" in body
    assert "America/New_York" in body
    assert 'name="robots" content="noindex' in body
    assert "mainnav" not in body and "Sign out" not in body and "<script" not in body

    approved = decide(outsider, url, "approve", "Looks great")
    assert approved.status_code == 200, page(approved)
    assert f"Approved by {NAME}" in html.unescape(page(approved))
    assert post_row(waiting["id"]).status == "scheduled"
    [approval] = approvals_of(waiting["id"])
    assert (approval.status, approval.decided_via, approval.decided_by, approval.comment) \
        == ("approved", NAME, None, "Looks great")
    [event] = actions("post.approved")
    assert event.user_id is None and event.after["review_link"] == NAME
    assert link_of(url).used_at is not None and link_of(url).approval_id == approval.id
    notices = db.session.scalars(select(Notification).where(
        Notification.kind == "post_approved")).all()
    assert [f"by {NAME} (review link)" in n.body for n in notices] == [True]

    log_page = html.unescape(show(client, "/audit-log"))
    assert f"via review link '{NAME}'" in log_page
    assert f"Approved by {NAME} (review link)" in html.unescape(
        show(client, f"/posts/{waiting['id']}"))

    # Used: the outcome, read-only; a second decision changes nothing.
    again = outsider.get(url)
    assert again.status_code == 410
    assert f"Approved by {NAME}" in html.unescape(page(again))
    assert 'name="decision"' not in page(again)
    assert decide(outsider, url, "changes", "Too late").status_code == 410
    assert post_row(waiting["id"]).status == "scheduled"
    assert len(actions("post.approved")) == 1 and actions("post.rejected") == []

    # The token is nowhere but in the link: not in the logs, the audit log or notices.
    assert token not in caplog.text
    for e in db.session.scalars(select(AuditEvent)):
        assert token not in json.dumps([e.before, e.after])
    for n in db.session.scalars(select(Notification)):
        assert token not in n.title + n.body


def test_a_second_link_requests_changes_and_the_first_then_refuses(app, client, waiting):
    first = new_link(client, waiting["id"], "Acme Corp — Bob")
    second = new_link(client, waiting["id"])
    outsider = app.test_client()
    for comment in ("", "   "):
        refused = decide(outsider, second, "changes", comment)
        assert refused.status_code == 422
        assert "What should change: is required" in html.unescape(page(refused))
    # Text no database can store is refused before any view sees it (web/__init__.py).
    assert decide(outsider, second, "changes", "bad\x00").status_code == 400
    assert decide(outsider, second, "maybe").status_code == 422
    assert post_row(waiting["id"]).status == "pending_approval"
    assert link_of(second).used_at is None

    changes = decide(outsider, second, "changes", "Mention the price")
    assert changes.status_code == 200, page(changes)
    assert f"Changes requested by {NAME}" in html.unescape(page(changes))
    assert post_row(waiting["id"]).status == "draft"
    [approval] = approvals_of(waiting["id"])
    assert (approval.status, approval.decided_via, approval.comment) \
        == ("rejected", NAME, "Mention the price")
    assert actions("post.rejected")[0].after["review_link"] == NAME
    post_page = html.unescape(show(client, f"/posts/{waiting['id']}"))
    assert f"<strong>Changes requested</strong> by {NAME} (review link): Mention the price" \
        in post_page

    # The first link has nothing left to decide.
    stale = outsider.get(first)
    assert stale.status_code == 410 and "no longer waits" in page(stale)
    assert decide(outsider, first, "approve").status_code == 410
    assert post_row(waiting["id"]).status == "draft" and link_of(first).used_at is None


def test_expired_revoked_and_unknown_links_refuse_and_change_nothing(app, client, waiting):
    expired, revoked = new_link(client, waiting["id"]), new_link(client, waiting["id"], "B")
    row = link_of(expired)
    row.expires_at = now_utc() - timedelta(minutes=1)
    db.session.commit()
    outsider = app.test_client()
    answer = outsider.get(expired)
    assert answer.status_code == 410 and "expired" in page(answer)
    assert 'name="decision"' not in page(answer)
    assert decide(outsider, expired, "approve").status_code == 410

    link_id = link_of(revoked).id
    done = submit(client, f"/approvals/review-links/{link_id}/revoke",
                  {"next": f"/posts/{waiting['id']}"}, form_page=f"/posts/{waiting['id']}")
    assert done.status_code == 303 and done.headers["Location"] == f"/posts/{waiting['id']}"
    assert link_of(revoked).revoked_at is not None
    assert [e.before["name"] for e in actions("review_link.revoked")] == ["B"]
    assert "status-revoked" in show(client, f"/posts/{waiting['id']}")
    answer = outsider.get(revoked)
    assert answer.status_code == 410 and "withdrawn" in page(answer)
    assert decide(outsider, revoked, "approve").status_code == 410

    assert post_row(waiting["id"]).status == "pending_approval"
    assert approvals_of(waiting["id"])[0].status == "pending"
    assert actions("post.approved") == [] and actions("post.rejected") == []
    assert link_of(expired).used_at is None and link_of(revoked).used_at is None

    unknown = outsider.get("/review/" + "x" * 43)
    assert unknown.status_code == 404 and "opens nothing" in page(unknown)
    assert outsider.get("/review/short").status_code == 404


def test_a_used_link_cannot_be_revoked(app, client, waiting):
    url = new_link(client, waiting["id"])
    assert decide(app.test_client(), url, "approve").status_code == 200
    link_id = link_of(url).id
    refused = submit(client, f"/approvals/review-links/{link_id}/revoke",
                     form_page=f"/approvals/{waiting['id']}/review-links",
                     follow_redirects=True)
    assert "was used already" in html.unescape(page(refused))
    assert link_of(url).revoked_at is None and actions("review_link.revoked") == []


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_neither_make_nor_revoke_links(app, client, waiting, role):
    url = new_link(client, waiting["id"])
    link_id = link_of(url).id
    member(role)
    other = app.test_client()
    assert sign_in(other, f"{role}.acme@example.com").status_code == 302
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      show(other, f"/posts/{waiting['id']}")).group(1)
    assert other.post(f"/approvals/{waiting['id']}/review-links",
                      data={"csrf_token": token, "name": "X", "days": "7"}).status_code == 403
    assert other.post(f"/approvals/review-links/{link_id}/revoke",
                      data={"csrf_token": token}).status_code == 403
    assert other.get(f"/approvals/{waiting['id']}/review-links").status_code == 403
    assert "Share for client review" not in show(other, f"/posts/{waiting['id']}")
    assert count(ReviewLink) == 1 and link_of(url).revoked_at is None


def test_another_workspaces_links_cannot_be_managed(app, client, waiting):
    url = new_link(client, waiting["id"])
    link_id = link_of(url).id
    member("admin", "Other")
    other = app.test_client()
    assert sign_in(other, "admin.other@example.com").status_code == 302
    token = re.search(r'name="csrf_token" value="([^"]+)"', show(other, "/")).group(1)
    assert other.post(f"/approvals/{waiting['id']}/review-links",
                      data={"csrf_token": token, "name": "X", "days": "7"}).status_code == 404
    assert other.post(f"/approvals/review-links/{link_id}/revoke",
                      data={"csrf_token": token}).status_code == 404
    assert other.get(f"/approvals/{waiting['id']}/review-links").status_code == 404
    assert count(ReviewLink) == 1 and link_of(url).revoked_at is None


@pytest.mark.parametrize(("name", "days", "code", "message"), [
    ("", "7", 422, "For whom: is required"),
    ("  ", "7", 422, "For whom: is required"),
    ("Jane\x00", "7", 400, "“name” must not contain NUL"),
    ("x" * 121, "7", 422, "For whom: is 121 characters; at most 120"),
    ("Jane", "0", 422, "from 1 to 30"),
    ("Jane", "31", 422, "from 1 to 30"),
    ("Jane", "x", 422, "from 1 to 30"),
    ("Jane", "", 422, "from 1 to 30"),
])
def test_bad_input_says_why_and_makes_nothing(app, client, waiting, name, days, code,
                                              message):
    response = share(client, waiting["id"], name, days)
    assert response.status_code == code
    assert message in html.unescape(page(response))
    assert not LINK.search(page(response))
    assert count(ReviewLink) == 0 and actions("review_link.created") == []


def test_only_a_waiting_post_is_shared(app, client, api, waiting, hook_channel):
    draft = api.post("/posts", json={"body": "Draft", "channel_ids": [hook_channel["id"]]})
    assert draft.status_code == 201, draft.json
    answer = submit(client, f"/approvals/{draft.json['id']}/review-links",
                    {"name": NAME, "days": "7"},
                    form_page=f"/approvals/{draft.json['id']}/review-links",
                    follow_redirects=True)
    assert "No link was made" in page(answer) and "not waiting for approval" in page(answer)
    assert count(ReviewLink) == 0


def test_decisions_from_one_address_are_throttled(app, client, waiting):
    url = new_link(client, waiting["id"])
    app.config["HERALD_REVIEW_LIMIT_PER_ADDRESS"] = "2 per minute"
    outsider = app.test_client()
    assert decide(outsider, url, "maybe").status_code == 422
    assert decide(outsider, url, "maybe").status_code == 422
    throttled = decide(outsider, url, "approve")
    assert throttled.status_code == 429 and "Too many decisions" in page(throttled)
    assert post_row(waiting["id"]).status == "pending_approval"
    assert outsider.get(url).status_code == 200  # reading is not counted


@pytest.mark.slow
def test_gunicorns_access_log_hides_the_tokens_of_links(tmp_path, redis_server):
    """The Procfile's web process (real gunicorn, access log on): a link's path and a page's
    Referer naming it are logged without the token."""
    stack = Stack(tmp_path, redis_server.url)
    token = secrets.token_urlsafe(32)
    log = tmp_path / "web-0.log"
    try:
        stack.flask("db", "upgrade")
        stack.start("web")
        _wait_answering(stack)
        answer = requests.get(f"{stack.base}/review/{token}", timeout=10)
        assert answer.status_code == 404 and "opens nothing" in answer.text
        assert requests.get(f"{stack.base}/invite/{token}", timeout=10).status_code == 404
        # A calendar feed's token is in its query string.
        assert requests.get(f"{stack.base}/api/v1/calendar.ics?token={token}",
                            timeout=10).status_code == 401
        requests.get(f"{stack.base}/static/herald.css", timeout=10,
                     headers={"Referer": f"{stack.base}/review/{token}"})
        deadline = time.monotonic() + 15
        while log.read_text().count("[token]") < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stack.down()
    written = log.read_text()
    assert "GET /review/[token] HTTP/1.1" in written and "/invite/[token]" in written
    assert "GET /api/v1/calendar.ics?token=[token] HTTP/1.1" in written
    assert written.count("[token]") == 4, written[-2000:]
    assert token not in written


def _wait_answering(stack: Stack, timeout: float = 60) -> None:
    """Until the web process answers at all (/healthz is 503 with no worker running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"{stack.base}/healthz", timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer:\n{stack.logs()}")
