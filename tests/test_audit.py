"""The audit log page, its CSV export and the post page's history, through the test client
against the real app and database; and that the changes people and Herald make are
recorded."""

import csv
import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import add_channel, add_delivery, make_post, member, workspace_id
from tests.helpers import PASSWORD, page, show, sign_in, submit
from webapp.engine import attempts
from webapp.extensions import db
from webapp.models import AuditEvent, Post
from webapp.models.audit import record
from webapp.services import posts as post_service
from webapp.services.accounts import create_user

# SQLite only: these are pages over the services, whose behaviour on both databases the
# API tests (tests/api/) and the engine's tests check.


def rows(body: str) -> list[str]:
    """The log's rows as text, one string a row."""
    found = re.findall(r"<tr>\s*<td data-label=\"When\">(.*?)</tr>", body, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in found]


def changed_title(admin, post: Post, title: str) -> None:
    post_service.update_post(db.session.get(Post, post.id), admin.id, {"title": title})


def test_who_did_what_when_from_what_to_what(app, signed_in, admin):
    channel = add_channel(admin)
    post = make_post(admin, [channel.id], title="Before")
    changed_title(admin, post, "After")
    body = show(signed_in, "/audit-log")
    log = rows(body)
    assert len(log) == 2
    assert "admin@example.com changed the post" in log[0]
    assert "title: Before → After" in log[0]
    assert "CET" in log[0]  # the admin's zone is Europe/Berlin
    assert f'href="/posts/{post.id}"' in body
    assert "Audit log</a>" in body  # in the navigation
    assert "admin@example.com created the post" in log[1]


def test_herald_s_own_events_and_recovered_deliveries(app, signed_in, admin):
    channel = add_channel(admin)
    post = make_post(admin, [channel.id], schedule=None, status="draft")
    started = datetime.now(UTC) - timedelta(hours=2)
    delivery = add_delivery(post, channel, status="publishing", attempts=1,
                            started_at=started, claimed_by="gone-worker")
    assert attempts.recover_abandoned(datetime.now(UTC), redis_data_age=10_000) == 1
    events = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "delivery", AuditEvent.object_id == delivery.id)
        .order_by(AuditEvent.id)).all()
    assert events == ["delivery.recovered", "delivery.retry_scheduled"]
    log = rows(show(signed_in, "/audit-log?action=delivery.recovered"))
    assert len(log) == 1
    assert "Herald recovered a delivery a stopped worker left" in log[0]
    assert f"delivery {delivery.id} of post {post.id}" in log[0]


def test_filters_by_object_person_action_and_dates(app, client, admin):
    channel = add_channel(admin)
    editor = member("editor")
    first = make_post(admin, [channel.id], title="First")
    second = make_post(editor, [channel.id], title="Second")
    changed_title(admin, second, "Second again")
    sign_in(client, "admin@example.com")
    body = show(client, "/audit-log")
    assert re.search(rf'<option value="{editor.id}"\s*>editor.acme@example.com</option>', body)
    assert len(rows(show(client, f"/audit-log?object_type=post&object_id={first.id}"))) == 1
    assert len(rows(show(client, f"/audit-log?user_id={editor.id}"))) == 1
    assert len(rows(show(client, "/audit-log?action=post."))) == 3
    assert len(rows(show(client, "/audit-log?action=post.updated"))) == 1
    # Dates are whole days in the user's zone (Europe/Berlin, ahead of UTC).
    event = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
    event.created_at = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)  # 10 March in Berlin
    db.session.commit()
    assert len(rows(show(client, "/audit-log?from=2026-03-10&to=2026-03-10"))) == 1
    assert len(rows(show(client, "/audit-log?from=2026-03-09&to=2026-03-09"))) == 0


@pytest.mark.parametrize("query, field, message", [
    ("object_type=planet", "object_type", "must be one of"),
    ("object_type=post&object_id=x1", "object_id", "must be an id"),
    ("user_id=%C2%B2", "user_id", "must be an id"),
    ("action=DROP%00TABLE", "action", "must be an action"),
    ("from=2026-02-30", "from", "must be a date"),
    ("from=2026-03-02&to=2026-03-01", "to", "is before"),
])
def test_bad_filters_say_what_is_wrong(app, signed_in, admin, query, field, message):
    response = signed_in.get(f"/audit-log?{query}")
    assert response.status_code == 422
    assert message in html.unescape(page(response))
    assert "correct the filters" in page(response)
    assert signed_in.get(f"/audit-log.csv?{query}").status_code == 422


def test_pages_keep_the_filters(app, signed_in, admin):
    channel = add_channel(admin)
    post = make_post(admin, [channel.id], title="0")
    for n in range(1, 55):
        changed_title(admin, post, str(n))
    body = show(signed_in, "/audit-log?action=post.updated")
    assert len(rows(body)) == 50 and "Page 1 of 2" in body
    assert "title: 53 → 54" in rows(body)[0]
    assert 'href="/audit-log?page=2&amp;action=post.updated"' in body or \
        'href="/audit-log?action=post.updated&amp;page=2"' in body
    second = show(signed_in, "/audit-log?action=post.updated&page=2")
    assert [r.split("title: ")[1] for r in rows(second)] == ["3 → 4", "2 → 3", "1 → 2", "0 → 1"]


def test_csv_export_with_the_same_filters_safe_for_spreadsheets(app, client, admin):
    creator, _ = create_user("=hyperlink(1)@example.com", PASSWORD, "Acme", "editor")
    channel = add_channel(admin)
    make_post(creator, [channel.id], title="-2+3", body="@SUM(A1)")
    make_post(admin, [channel.id], title="Plain")
    sign_in(client, "admin@example.com")
    assert "/audit-log.csv?action=post.created" in show(client, "/audit-log?action=post.created")
    response = client.get("/audit-log.csv?action=post.created")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    table = list(csv.reader(io.StringIO(response.get_data().decode("utf-8"))))
    assert table[0] == ["at", "who", "action", "object_type", "object_id", "changes", "before",
                        "after"]
    assert [r[2] for r in table[1:]] == ["post.created", "post.created"]
    assert table[1][1] == "admin@example.com"
    assert table[2][1] == "'=hyperlink(1)@example.com"
    assert table[2][0].endswith("+01:00") or table[2][0].endswith("+02:00")  # Berlin
    assert "title: -2+3" in table[2][5]
    for row in table[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_may_not_read_it(app, client, admin, role):
    sign_in(client, member(role).email)
    for path in ("/audit-log", "/audit-log.csv"):
        response = client.get(path)
        assert response.status_code == 403
        assert "Your role (" in page(response)
    assert "Audit log</a>" not in show(client, "/")


def test_an_approver_may_and_sees_only_their_workspace(app, client, admin):
    outsider = member("admin", "Elsewhere")
    make_post(outsider, [add_channel(outsider).id], title="Not yours")
    make_post(admin, [add_channel(admin).id], title="Yours")
    sign_in(client, member("approver").email)
    body = show(client, "/audit-log")
    assert "Yours" in body and "Not yours" not in body
    assert "admin.elsewhere@example.com" not in body


def test_the_post_page_shows_its_history(app, signed_in, admin):
    channel = add_channel(admin)
    post = make_post(admin, [channel.id], title="Mine")
    other = make_post(admin, [channel.id], title="Someone else's")
    changed_title(admin, other, "Changed elsewhere")
    record(workspace_id(admin), "delivery.retried", add_delivery(post, channel), user_id=None)
    db.session.commit()
    body = show(signed_in, f"/posts/{post.id}")
    history = body.split('id="history-h"')[1]
    log = rows(history)
    assert len(log) == 2
    assert "Herald retried the delivery" in log[0]
    assert "admin@example.com created the post" in log[1]
    assert "Changed elsewhere" not in history
    assert f"/audit-log?object_type=post&amp;object_id={post.id}" in history \
        or f"/audit-log?object_id={post.id}&amp;object_type=post" in history
    sign_in(client := app.test_client(), member("editor").email)
    assert 'id="history-h"' not in show(client, f"/posts/{post.id}")


def test_settings_changes_are_recorded(app, signed_in, admin):
    assert submit(signed_in, "/settings", {"timezone": "America/New_York"}).status_code == 303
    log = rows(show(signed_in, "/audit-log?object_type=user"))
    assert len(log) == 1
    assert "changed their settings" in log[0]
    assert "timezone: Europe/Berlin → America/New_York" in log[0]
