"""The queue, the dashboard and the notification bell, through the test client with CSRF on,
against the real app, database and Redis."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from sqlalchemy import select

from tests.factories import (
    add_channel,
    add_delivery,
    add_notification,
    draft,
    make_post,
    member,
    workspace_id,
)
from tests.helpers import PASSWORD, count, csrf_token, page, show, sign_in, submit
from webapp.engine import jobs
from webapp.extensions import db
from webapp.models import Delivery, Notification, Schedule
from webapp.timeutil import now_utc

HX = {"HX-Request": "true"}
ROW = re.compile(r'<tr id="delivery-(\d+)"')


def rows(body: str) -> list[int]:
    return [int(i) for i in ROW.findall(body)]


def status_of(delivery_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Delivery, delivery_id).status


def batch(client, action: str, ids, **extra):
    return submit(client, "/queue/batch", {"action": action, "ids": [str(i) for i in ids],
                                           **extra}, form_page="/queue", headers=HX)


def tab_count(body: str, tab: str) -> int:
    found = re.search(rf'class="tab-{tab}">\w+ <span class="count">(\d+)</span>', body)
    assert found, tab
    return int(found.group(1))


# The page and its fragments --------------------------------------------------------------------

def test_queue_page_fragment_and_old_address(signed_in, admin, channel):
    post = draft(admin, body="First thing")
    add_delivery(post, channel)
    body = show(signed_in, "/queue")
    assert "<html" in body and "First thing" in body
    for label in ("Post text", "Channel", "Due from", "Due until", "Sort by"):
        assert f">{label}</label>" in body, label
    assert 'aria-current="page">Queue</a>' in body

    response = signed_in.get("/queue", headers=HX)
    fragment = page(response)
    assert fragment.lstrip().startswith('<div id="queue-table"') and "<html" not in fragment
    assert "First thing" in fragment and "HX-Request" in response.headers["Vary"]
    # A boosted link or a history restore needs the whole page.
    for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
        assert "<html" in show(signed_in, "/queue", headers={**HX, **extra})

    # The filter form sends every field; the address bar gets the short form.
    response = signed_in.get("/queue?q=first&channel=&from=&to=&status=upcoming&sort=due",
                             headers={**HX, "HX-Trigger": "queue-filters"})
    assert response.headers["HX-Replace-Url"] == "/queue?q=first"
    assert "HX-Replace-Url" not in signed_in.get("/queue", headers=HX).headers

    response = signed_in.get("/deliveries?status=failed&page=2")
    assert response.status_code == 301
    assert response.location == "/queue?status=failed&page=2"


@pytest.mark.postgres
def test_tabs_hold_their_statuses_with_counts(signed_in, admin, channel):
    post = draft(admin)
    made = {status: add_delivery(post, channel, status, last_error=f"error for {status}").id
            for status in ("pending", "queued", "retrying", "publishing", "failed",
                           "published", "cancelled")}
    body = show(signed_in, "/queue")
    assert sorted(rows(body)) == sorted(made[s] for s in ("pending", "queued", "retrying"))
    expected = {"upcoming": 3, "publishing": 1, "failed": 1, "published": 1, "cancelled": 1}
    assert {tab: tab_count(body, tab) for tab in expected} == expected
    assert 'title="1 pending, 1 queued, 1 retrying"' in body
    for tab in ("publishing", "failed", "published", "cancelled"):
        listed = show(signed_in, f"/queue?status={tab}")
        assert rows(listed) == [made[tab]], tab
        assert re.search(rf'class="tab-{tab}"', listed)
        assert re.search(rf'href="/queue\?status={tab}"[^>]*aria-current="page"', listed)
    # The failed tab shows the platform's error and a retry button per row.
    failed = show(signed_in, "/queue?status=failed")
    assert "error for failed" in failed and '<th scope="col">Error</th>' in failed
    assert re.search(rf'action="/deliveries/{made["failed"]}/retry"', failed)
    # One status inside a tab.
    only = show(signed_in, "/queue?status=retrying")
    assert rows(only) == [made["retrying"]] and "Show all upcoming" in only


@pytest.mark.postgres
def test_filters_by_channel_text_and_dates_in_the_users_zone(signed_in, admin, channel):
    other = add_channel(admin, "Other")
    berlin = ZoneInfo("Europe/Berlin")
    day = (datetime.now(berlin) + timedelta(days=3)).date()
    # 23:30 UTC the day before is 00:30 or 01:30 in Berlin: that day for the user.
    just_in = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(minutes=30)
    just_out = datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC)  # next day there
    spring = draft(admin, body="Spring sale: 50% off", title="Sale")
    news = draft(admin, body="Weekly news")
    a = add_delivery(spring, channel, due=just_in)
    b = add_delivery(spring, other, due=just_in)
    c = add_delivery(news, channel, due=just_out)
    assert sorted(rows(show(signed_in, "/queue"))) == sorted([a.id, b.id, c.id])
    assert sorted(rows(show(signed_in, f"/queue?channel={other.id}"))) == [b.id]
    assert sorted(rows(show(signed_in, "/queue?q=SALE"))) == sorted([a.id, b.id])
    assert sorted(rows(show(signed_in, "/queue?q=50%25+off"))) == sorted([a.id, b.id])
    assert rows(show(signed_in, "/queue?q=%25")) == sorted([a.id, b.id])  # a literal %
    assert rows(show(signed_in, "/queue?q=weekly")) == [c.id]
    dated = show(signed_in, f"/queue?from={day}&to={day}")
    assert sorted(rows(dated)) == sorted([a.id, b.id]) and "match the filters" in dated
    assert tab_count(dated, "upcoming") == 2
    assert rows(show(signed_in, f"/queue?from={day + timedelta(days=1)}")) == [c.id]
    combined = show(signed_in, f"/queue?channel={channel.id}&q=sale&from={day}&to={day}")
    assert rows(combined) == [a.id]
    nothing = show(signed_in, "/queue?q=nothing+like+this")
    assert "No upcoming deliveries match these filters" in nothing

    # A date that cannot be read, or an end before the start, is said and left out.
    body = show(signed_in, "/queue?from=31/12/2030")
    assert "Due from: Enter a date like 2026-03-31." in body and len(rows(body)) == 3
    body = show(signed_in, f"/queue?from={day}&to={day - timedelta(days=1)}")
    assert "The end date is before the start date." in body
    assert "Choose a date between" in show(signed_in, "/queue?to=0001-01-01")


@pytest.mark.parametrize("query", ["status=bogus", "channel=abc", "channel=999999",
                                   "sort=random", "sort=%00"])
def test_hand_made_filters_are_refused_clearly(signed_in, channel, query):
    response = signed_in.get(f"/queue?{query}")
    assert response.status_code == 400 and "Unknown" in page(response)


@pytest.mark.postgres
def test_sorting(signed_in, admin, channel):
    zulu = add_channel(admin, "Zulu")
    alpha = add_channel(admin, "Alpha")
    post = draft(admin)
    now = now_utc()
    first = add_delivery(post, zulu, due=now + timedelta(hours=1), priority=2)
    second = add_delivery(post, alpha, due=now + timedelta(hours=2), priority=9)
    third = add_delivery(post, channel, due=now + timedelta(hours=3), priority=5)
    assert rows(show(signed_in, "/queue")) == [first.id, second.id, third.id]
    assert rows(show(signed_in, "/queue?sort=-due")) == [third.id, second.id, first.id]
    assert rows(show(signed_in, "/queue?sort=priority")) == [second.id, third.id, first.id]
    assert rows(show(signed_in, "/queue?sort=channel")) == [second.id, third.id, first.id]
    # What is done reads latest first unless asked otherwise.
    done = [add_delivery(post, channel, "published", due=now - timedelta(hours=h)).id
            for h in (3, 1, 2)]
    assert rows(show(signed_in, "/queue?status=published")) == [done[1], done[2], done[0]]
    assert rows(show(signed_in, "/queue?status=published&sort=due")) == [done[0], done[2],
                                                                            done[1]]
    # The sort is kept by the pager and the tabs reset it to their own default.
    body = show(signed_in, "/queue?sort=priority")
    assert re.search(r'<option value="priority" selected>', body)
    assert 'href="/queue?status=failed"' in body


@pytest.mark.postgres
def test_pagination_keeps_the_filters(signed_in, admin, channel):
    post = draft(admin, body="Paged")
    start = now_utc() + timedelta(hours=1)
    ids = [add_delivery(post, channel, due=start + timedelta(minutes=i)).id for i in range(120)]
    first = show(signed_in, "/queue?q=paged")
    assert rows(first) == ids[:50] and "Page 1 of 3" in first
    assert "120 deliveries match the filters, 1–50 shown" in first
    assert 'href="/queue?q=paged&amp;page=2" rel="next"' in first
    second = show(signed_in, "/queue?q=paged&page=2", headers=HX)
    assert rows(second) == ids[50:100] and "Page 2 of 3" in second
    assert 'href="/queue?q=paged" rel="prev"' in second
    assert rows(show(signed_in, "/queue?q=paged&page=3")) == ids[100:]
    # Past the end: the last page.
    assert rows(show(signed_in, "/queue?q=paged&page=99")) == ids[100:]


def test_empty_states_say_what_to_do(signed_in, admin):
    body = show(signed_in, "/queue")
    assert "Nothing is waiting to go out." in body and "Schedule a post" in body
    assert "Nothing has failed." in show(signed_in, "/queue?status=failed")
    assert "Nothing is being published right now." in show(signed_in, "/queue?status=publishing")
    assert "Nothing has been cancelled." in show(signed_in, "/queue?status=cancelled")


# Batch actions --------------------------------------------------------------------------------

@pytest.mark.postgres
def test_batch_cancel_asks_first_then_says_what_happened(signed_in, admin, channel):
    post = make_post(admin, [channel.id], body="Daily tip")  # a week of daily deliveries
    waiting = list(db.session.scalars(select(Delivery.id).where(Delivery.post_id == post.id)
                                      .order_by(Delivery.due_at)))
    published = add_delivery(draft(admin, body="Old news"), channel, "published",
                             due=now_utc() - timedelta(hours=1))
    chosen = [waiting[0], waiting[1], published.id]

    confirm = batch(signed_in, "cancel", chosen)
    body = page(confirm)
    assert confirm.status_code == 200 and "<html" not in body
    assert "Cancel 2 deliveries?" in body and "skipped: already published" in body
    assert body.count('name="ids"') == 3 and 'name="confirm" value="yes"' in body
    assert all(status_of(i) != "cancelled" for i in chosen)  # nothing happened yet

    done = batch(signed_in, "cancel", chosen, confirm="yes")
    body = page(done)
    assert "2 cancelled, 1 skipped: already published." in body
    assert "“Old news” → Hook: already published" in body
    assert done.headers["HX-Trigger"] == "queue-changed"
    assert [status_of(i) for i in chosen] == ["cancelled", "cancelled", "published"]
    assert count(Delivery, Delivery.post_id == post.id,
                 Delivery.status == "cancelled") == 2


def test_batch_without_htmx_uses_a_confirmation_page_and_a_flash(signed_in, admin, channel):
    post = draft(admin, body="Plain form")
    one, two = add_delivery(post, channel), add_delivery(post, channel)
    token = csrf_token(signed_in, "/queue")
    data = {"action": "cancel", "ids": [str(one.id), str(two.id)], "csrf_token": token,
            "next": "/queue?q=plain"}
    confirm = signed_in.post("/queue/batch", data=data)
    assert confirm.status_code == 200 and "<html" in page(confirm)
    assert "Cancel 2 deliveries?" in page(confirm) and "Keep them" in page(confirm)
    done = signed_in.post("/queue/batch", data={**data, "confirm": "yes"})
    assert done.status_code == 303 and done.location == "/queue?q=plain"
    assert "2 cancelled." in show(signed_in, "/queue?q=plain")
    # `next` only ever leads back to the queue.
    evil = signed_in.post("/queue/batch", data={**data, "confirm": "yes",
                                                "next": "//evil.example/"})
    assert evil.location == "/queue"


def test_retry_and_publish_now_skip_what_does_not_apply(signed_in, admin, channel):
    post = draft(admin, body="Mixed")
    failed = add_delivery(post, channel, "failed", last_error="HTTP 400: rejected", attempts=1)
    published = add_delivery(post, channel, "published")
    waiting = add_delivery(post, channel, "pending")
    response = batch(signed_in, "retry", [failed.id, published.id, waiting.id])
    assert "1 sent to retry, 1 skipped: already published, 1 skipped: not failed." in \
        page(response)
    assert status_of(failed.id) in ("pending", "queued")

    scheduled = make_post(admin, [channel.id], body="Scheduled")
    later = add_delivery(scheduled, channel, "pending", due=now_utc() + timedelta(days=2))
    cancelled = add_delivery(scheduled, channel, "cancelled")
    unscheduled = add_delivery(draft(admin, body="Still a draft"), channel)
    response = batch(signed_in, "publish_now", [later.id, cancelled.id, unscheduled.id])
    assert ("1 sent to publish now, 1 skipped: already cancelled, "
            "1 skipped: its post is a draft (schedule it first).") in page(response)
    db.session.expire_all()
    assert db.session.get(Delivery, later.id).due_at <= now_utc()


def test_pause_and_resume_act_on_the_posts(signed_in, admin, channel):
    post = make_post(admin, [channel.id], body="Recurring")
    first, second = db.session.scalars(select(Delivery.id).where(Delivery.post_id == post.id)
                                       .order_by(Delivery.due_at).limit(2)).all()
    response = batch(signed_in, "pause", [first, second])
    assert "2 paused." in page(response) and "act on whole posts" in page(response)
    db.session.expire_all()
    assert db.session.get(Schedule, post.schedules[0].id).status == "paused"
    body = show(signed_in, "/queue")
    assert 'status-paused">paused</span>' in body

    again = batch(signed_in, "pause", [first])
    assert "0 paused, 1 skipped: its post is not active" in page(again)
    # Publishing a paused post's delivery now would only wait: it is skipped and says why.
    waiting = batch(signed_in, "publish_now", [first])
    assert "1 skipped: its post is paused (resume it first)" in page(waiting)

    response = batch(signed_in, "resume", [second])
    assert "1 resumed." in page(response)
    db.session.expire_all()
    assert db.session.get(Schedule, post.schedules[0].id).status == "active"


def test_one_failing_row_never_stops_the_others_nor_gives_a_500(app, signed_in, admin,
                                                                  channel):
    post = draft(admin, body="Redis trouble")
    one, two = add_delivery(post, channel), add_delivery(post, channel)
    jobs.enqueue([one, two])  # they have jobs, which cancelling must remove
    working = app.extensions["herald.redis"] if "herald.redis" in app.extensions else None
    # A Redis that does not answer: cancelling must remove the job first, so it fails.
    app.extensions["herald.redis"] = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        token = csrf_token(signed_in, "/queue")
        response = signed_in.post("/queue/batch", headers=HX, data={
            "action": "cancel", "confirm": "yes", "ids": [str(one.id), str(two.id)],
            "csrf_token": token})
    finally:
        if working is None:
            app.extensions.pop("herald.redis")
        else:
            app.extensions["herald.redis"] = working
    assert response.status_code == 200
    assert "0 cancelled, 2 skipped: could not be changed (an unexpected error" in page(response)
    assert status_of(one.id) == status_of(two.id) == "pending"
    # The next batch works again, and a deleted row is only "not found".
    gone = add_delivery(post, channel)
    db.session.delete(gone)
    db.session.commit()
    response = batch(signed_in, "cancel", [one.id, gone.id, 987654], confirm="yes")
    assert "1 cancelled, 2 skipped: not found." in page(response)


def test_empty_and_oversized_selections_are_explained(signed_in, admin, channel):
    response = batch(signed_in, "pause", [])
    assert response.status_code == 200 and "Select at least one delivery first" in page(response)
    response = batch(signed_in, "pause", range(1, 102))
    assert "Select at most 100 deliveries at a time." in page(response)
    response = batch(signed_in, "explode", [1])
    assert response.status_code == 400
    # Without HTMX: a flash on the queue.
    token = csrf_token(signed_in, "/queue")
    response = signed_in.post("/queue/batch", data={"action": "pause", "csrf_token": token},
                              follow_redirects=True)
    assert "Select at least one delivery first" in page(response)


def test_batch_without_the_csrf_token_is_refused(signed_in, admin, channel):
    post = draft(admin)
    delivery = add_delivery(post, channel)
    for data in ({"action": "cancel", "confirm": "yes", "ids": [str(delivery.id)]},
                 {"action": "cancel", "confirm": "yes", "ids": [str(delivery.id)],
                  "csrf_token": "forged"}):
        response = signed_in.post("/queue/batch", data=data)
        assert response.status_code == 400 and "CSRF" in page(response)
    assert signed_in.post("/notifications/read").status_code == 400
    assert status_of(delivery.id) == "pending"


def test_viewers_see_the_queue_but_cannot_act(app, admin, channel):
    post = draft(admin, body="Look only")
    delivery = add_delivery(post, channel)
    failed = add_delivery(post, channel, "failed", last_error="boom")
    viewer = app.test_client()
    sign_in(viewer, member("viewer").email)
    body = show(viewer, "/queue")
    assert "Look only" in body and 'name="ids"' not in body and "queue-batch" not in body
    assert ">Retry" not in show(viewer, "/queue?status=failed")
    for path, data in (("/queue/batch", {"action": "cancel", "confirm": "yes",
                                         "ids": [str(delivery.id)]}),
                       (f"/deliveries/{failed.id}/retry", {}),
                       ("/notifications/read", {})):
        response = submit(viewer, path, data, form_page="/queue")
        assert response.status_code == 403, path
        assert "Your role (viewer)" in page(response)
    assert status_of(delivery.id) == "pending" and status_of(failed.id) == "failed"


def test_another_workspaces_deliveries_stay_out_of_reach(signed_in, admin, channel):
    outsider = member("admin", "Elsewhere")
    theirs = add_channel(outsider, "Theirs")
    secret = draft(outsider, body="Secret plans")
    delivery = add_delivery(secret, theirs)
    failed = add_delivery(secret, theirs, "failed")
    note = Notification(workspace_id=workspace_id(outsider), kind="delivery_failed",
                        title="Their problem")
    db.session.add(note)
    db.session.commit()

    for path in ("/queue", "/queue?status=failed", "/", "/notifications"):
        body = show(signed_in, path)
        assert "Secret plans" not in body and "Their problem" not in body, path
    assert signed_in.get(f"/queue?channel={theirs.id}").status_code == 400
    assert signed_in.get(f"/queue/rows/{delivery.id}").status_code == 404
    # A row that polls for it is simply removed, as for a deleted delivery.
    response = signed_in.get(f"/queue/rows/{delivery.id}", headers=HX)
    assert response.status_code == 286 and page(response) == ""
    for path in (f"/deliveries/{failed.id}/retry", f"/deliveries/{delivery.id}/cancel",
                 f"/notifications/{note.id}/read"):
        assert submit(signed_in, path, form_page="/queue").status_code == 404, path
    response = batch(signed_in, "cancel", [delivery.id], confirm="yes")
    assert "0 cancelled, 1 skipped: not found." in page(response)
    assert status_of(delivery.id) == "pending" and status_of(failed.id) == "failed"
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read_at is None


# Rows that follow their delivery ----------------------------------------------------------------

def test_rows_poll_until_final_then_answer_286(signed_in, admin, channel):
    post = draft(admin)
    soon = add_delivery(post, channel, "queued", due=now_utc() + timedelta(minutes=1))
    later = add_delivery(post, channel, "pending", due=now_utc() + timedelta(days=2))
    body = show(signed_in, "/queue")
    assert re.search(rf'<tr id="delivery-{soon.id}"[^>]*hx-trigger="every 3s"', body)
    assert re.search(rf'<tr id="delivery-{later.id}"[^>]*hx-trigger="every 60s"', body)

    response = signed_in.get(f"/queue/rows/{soon.id}", headers=HX)
    assert response.status_code == 200 and 'hx-trigger="every 3s"' in page(response)
    assert page(response).lstrip().startswith(f'<tr id="delivery-{soon.id}"')
    assert "hx-preserve" in page(response)  # a ticked box stays ticked

    db.session.get(Delivery, soon.id).status = "publishing"
    db.session.commit()
    assert signed_in.get(f"/queue/rows/{soon.id}", headers=HX).status_code == 200

    row = db.session.get(Delivery, soon.id)
    row.status, row.external_url = "published", "https://example.com/p/1"
    db.session.commit()
    response = signed_in.get(f"/queue/rows/{soon.id}", headers=HX)
    assert response.status_code == 286 and "hx-trigger" not in page(response)
    assert "status-published" in page(response) and "https://example.com/p/1" in page(response)
    assert response.headers["HX-Trigger"] == "queue-counts-changed"

    row = db.session.get(Delivery, later.id)
    row.status, row.last_error = "failed", "HTTP 400: no"
    db.session.commit()
    response = signed_in.get(f"/queue/rows/{later.id}", headers=HX)
    assert response.status_code == 286 and "HTTP 400: no" in page(response)
    assert response.headers["HX-Trigger"] == "queue-counts-changed, notifications-changed"
    # Rows that are final from the start do not poll at all.
    assert not re.search(r'<tr id="delivery-\d+"[^>]*hx-trigger',
                         show(signed_in, "/queue?status=failed"))


def test_retry_one_row_in_place(signed_in, admin, channel):
    post = draft(admin, body="Retry me")
    failed = add_delivery(post, channel, "failed", last_error="HTTP 400", attempts=1)
    response = submit(signed_in, f"/deliveries/{failed.id}/retry", form_page="/queue",
                      headers=HX)
    body = page(response)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="delivery-{failed.id}"')
    assert 'hx-trigger="every 3s"' in body and "queue-counts-changed" in response.headers[
        "HX-Trigger"]
    assert status_of(failed.id) in ("pending", "queued")
    # Again: nothing changes, and the row says why.
    response = submit(signed_in, f"/deliveries/{failed.id}/retry", form_page="/queue",
                      headers=HX)
    assert "Nothing changed: delivery" in page(response)
    assert "only failed or unknown ones retry" in page(response)


def test_tab_counts_refresh_alone(signed_in, admin, channel):
    post = draft(admin)
    add_delivery(post, channel, "failed")
    response = signed_in.get("/queue/tabs?status=failed", headers=HX)
    body = page(response)
    assert body.lstrip().startswith('<nav id="queue-tabs"') and tab_count(body, "failed") == 1
    assert 'hx-trigger="queue-counts-changed from:body delay:500ms"' in body


# The bell ----------------------------------------------------------------------------------------

def test_bell_counts_unread_and_refreshes_itself(signed_in, admin):
    body = show(signed_in, "/queue")
    assert 'id="bell"' in body and "No unread notifications" in body
    assert 'class="badge"' not in body
    assert 'hx-trigger="every 10s, notifications-changed from:body"' in body
    add_notification(admin, "Not published to Hook: Hello")
    add_notification(admin, "Not published to Hook: Again")
    add_notification(admin, "Old", read_at=now_utc())
    body = show(signed_in, "/posts")
    assert '<span class="badge">2</span><span class="visually-hidden"> unread</span>' in body
    assert "2 unread" in body and "Not published to Hook: Again" in body

    badge = signed_in.get("/notifications/count", headers=HX)
    assert badge.status_code == 200 and page(badge).startswith('<span id="bell-count"')
    assert '<span class="badge">2</span>' in page(badge)
    panel = show(signed_in, "/notifications/panel", headers=HX)
    assert panel.lstrip().startswith('<div id="bell-panel"') and panel.count('class="unread"') == 2
    assert panel.count('class="read"') == 1


def test_mark_one_and_all_read(signed_in, admin):
    first = add_notification(admin, "First problem")
    add_notification(admin, "Second problem")
    response = submit(signed_in, f"/notifications/{first.id}/read", form_page="/", headers=HX)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "notifications-changed"
    assert "1 unread" in page(response) and "<html" not in page(response)
    assert count(Notification, Notification.read_at.is_(None)) == 1

    # Without HTMX: back to the page the form was on.
    response = submit(signed_in, "/notifications/read", {"next": "/queue?status=failed"},
                      form_page="/")
    assert response.status_code == 303 and response.location == "/queue?status=failed"
    assert count(Notification, Notification.read_at.is_(None)) == 0
    body = show(signed_in, "/")
    assert 'class="badge"' not in body and "No unread notifications" in body
    assert '<span class="badge">' not in show(signed_in, "/notifications/count", headers=HX)
    notifications = show(signed_in, "/notifications")
    assert "First problem" in notifications and "Second problem" in notifications
    assert submit(signed_in, "/notifications/999999/read", form_page="/").status_code == 404


# The dashboard -----------------------------------------------------------------------------------

def test_dashboard_empty_states(signed_in):
    body = show(signed_in, "/")
    assert "Connect a channel" in body and "Nothing is due in the next 24 hours" in body
    assert "Nothing is planned for the coming week." in body
    assert "Nothing has failed." in body
    assert "No figures yet" in body and "Nothing was published in the last 14 days yet" in body


@pytest.mark.postgres
def test_dashboard_figures_chart_and_what_comes(signed_in, admin, channel):
    post = draft(admin, body="Figures")
    now = now_utc()
    # Two on yesterday's calendar day and one three days back, whatever the time of day.
    noon = datetime.combine(datetime.now(ZoneInfo("Europe/Berlin")).date(), time(12),
                            tzinfo=ZoneInfo("Europe/Berlin"))
    for days_ago, hour, wait in ((1, 0, 1.0), (1, 1, 3.0), (3, 0, 2.0)):
        due = noon - timedelta(days=days_ago) + timedelta(hours=hour)
        add_delivery(post, channel, "published", due=due,
                     started_at=due + timedelta(seconds=wait),
                     finished_at=due + timedelta(seconds=wait + 1))
    add_delivery(post, channel, "failed", due=now - timedelta(hours=5),
                 finished_at=now - timedelta(hours=5),
                 last_error="HTTP 400: rejected by the platform")
    add_delivery(post, channel, "pending", due=now + timedelta(hours=2))
    add_delivery(post, channel, "pending", due=now + timedelta(days=3))
    add_delivery(post, channel, "cancelled", due=now + timedelta(hours=1))

    body = show(signed_in, "/")
    assert '<span class="num">1</span> due in the next 24 hours' in body
    assert '<span class="num">2</span> due in the next 7 days' in body
    assert '<span class="num">1</span> failed delivery needs attention' in body
    assert "HTTP 400: rejected by the platform" in body and ">Retry</button>" in body
    assert "<dt>Success rate</dt><dd>75.0%</dd>" in body
    assert "<dt>Average lateness</dt><dd>2.0 s</dd>" in body
    assert "<dt>Average time to publish</dt><dd>1.0 s</dd>" in body
    assert "<dt>Published</dt><dd>3</dd>" in body and "<dt>Cancelled</dt><dd>1</dd>" in body
    assert '<svg class="chart"' in body and "3 published, 1 failed." in body
    assert body.count('class="bar-published"') == 2
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    assert f'href="/queue?from={today}&amp;to={today}"' in body
    assert "Write your first post" not in body and "Connect a channel" not in body


def test_dashboard_for_a_viewer_has_no_buttons(app, admin, channel):
    add_delivery(draft(admin), channel, "failed", last_error="boom")
    viewer = app.test_client()
    sign_in(viewer, member("viewer").email, PASSWORD)
    body = show(viewer, "/")
    assert "boom" in body and ">Retry</button>" not in body and "Mark all read" not in body


def test_channel_and_date_filters_stay_folded_until_used(signed_in, channel):
    folded = re.search(r"<details class=\"more-filters\"[^>]*>", show(signed_in, "/queue"))
    assert folded and " open" not in folded.group(0)
    used = re.search(r"<details class=\"more-filters\"[^>]*>",
                     show(signed_in, f"/queue?channel={channel.id}"))
    assert used and " open" in used.group(0)
