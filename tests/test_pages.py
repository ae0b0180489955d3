"""The server-rendered pages, through the test client with CSRF on, against the real app,
database, Redis, worker and local platform servers."""

import re
from datetime import datetime

import pytest
from flask import url_for
from sqlalchemy import select

from tests.factories import add_channel, make_post, member, workspace_id
from tests.helpers import (
    PASSWORD,
    composer,
    count,
    csrf_token,
    error_for,
    input_value,
    page,
    selected,
    show,
    sign_in,
    submit,
    textarea_value,
    tomorrow_at,
)
from tests.platforms import Reply
from webapp.extensions import db
from webapp.models import Channel, Delivery, Notification, Post, User
from webapp.services import posts as post_service

# Signing in ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/channels", "/posts", "/posts/new", "/posts/1",
                                  "/posts/1/edit", "/deliveries", "/queue", "/settings"])
def test_signed_out_pages_redirect_to_sign_in(client, admin, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


def test_first_user_signs_up_and_later_visitors_cannot(app, client):
    assert client.get("/login").location == "/signup"
    response = submit(client, "/signup", {
        "email": "Founder@Example.com", "password": PASSWORD, "confirm": PASSWORD,
        "workspace": "Founders", "timezone": "America/New_York"})
    assert response.status_code == 302 and response.location == "/channels"
    founder = db.session.scalar(select(User))
    assert founder.email == "founder@example.com" and founder.timezone == "America/New_York"
    assert founder.memberships[0].role == "admin"
    assert "Connect a channel" in show(client, "/")

    other = app.test_client()
    response = other.get("/signup")
    assert response.status_code == 302 and response.location == "/login"
    # Posting the sign-up form directly does not make a second account either.
    response = submit(other, "/signup", {"email": "late@example.com", "password": PASSWORD,
                                         "confirm": PASSWORD, "workspace": "Late",
                                         "timezone": "UTC"}, form_page="/login")
    assert response.status_code == 302 and count(User) == 1


def test_sign_in_rejects_a_wrong_password_then_signs_in_and_out(client, auth, admin):
    response = auth.login(password="wrong password")
    assert response.status_code == 200
    assert "Wrong e-mail or password." in page(response)
    assert input_value(page(response), "email") == "admin@example.com"

    response = submit(client, "/login?next=/deliveries", {"email": "admin@example.com",
                                                          "password": PASSWORD})
    assert response.status_code == 302 and response.location == "/deliveries"
    assert "admin@example.com" in show(client, "/")

    assert auth.logout().location == "/login"
    assert client.get("/").status_code == 302


def test_sign_in_never_redirects_to_another_site(client, auth, admin):
    for target in ("//evil.example", "/\\evil.example", "https://evil.example/"):
        response = submit(client, f"/login?next={target}", {"email": "admin@example.com",
                                                             "password": PASSWORD})
        assert response.location == "/", target
        auth.logout()


# Dashboard -----------------------------------------------------------------------------------

def test_dashboard_tells_a_new_workspace_what_to_do(signed_in):
    body = show(signed_in, "/")
    assert "Connect a channel" in body
    assert "Nothing is due in the next 24 hours" in body
    assert "No unread notifications" in body


def test_dashboard_suggests_a_first_post_once_a_channel_exists(signed_in, channel):
    body = show(signed_in, "/")
    assert "Write your first post" in body and "Connect a channel" not in body


# Channels ------------------------------------------------------------------------------------

def test_add_a_webhook_channel_and_check_it(signed_in, webhook):
    response = submit(signed_in, "/channels", {
        "name": "Site hook", "platform": "webhook", "color": "#ff8800",
        "url": webhook.url + "/hook", "secret": "s3cret-value", "instance_url": "",
        "access_token": "", "rate_limit_per_hour": ""})
    assert response.status_code == 303
    channel = db.session.scalar(select(Channel))
    assert (channel.name, channel.platform, channel.color) == ("Site hook", "webhook", "#ff8800")

    body = show(signed_in, "/channels")
    assert "Site hook" in body and webhook.url + "/hook" in body.replace("<wbr>", "")
    assert "Signing secret</dt><dd>set" in body
    assert "s3cret-value" not in body

    response = submit(signed_in, f"/channels/{channel.id}/check", form_page="/channels",
                      follow_redirects=True)
    assert "the connection works" in page(response)
    assert [r.method for r in webhook.received] == ["HEAD"]

    # The same button through HTMX answers with the result alone.
    response = submit(signed_in, f"/channels/{channel.id}/check", form_page="/channels",
                      headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in page(response) and "works" in page(response)


def test_a_failing_connection_check_says_why(signed_in, webhook, channel):
    webhook.script.append(Reply(503, {"error": "down"}))
    response = submit(signed_in, f"/channels/{channel.id}/check", form_page="/channels",
                      follow_redirects=True)
    assert "the connection failed" in page(response) and "HTTP 503" in page(response)


def test_adding_a_channel_with_bad_input_shows_errors_and_keeps_the_input(signed_in):
    response = submit(signed_in, "/channels", {
        "name": "", "platform": "mastodon", "color": "#123456", "url": "",
        "instance_url": "not a url", "access_token": "tok"})
    assert response.status_code == 422
    body = page(response)
    assert error_for(body, "name") == "is required"
    assert error_for(body, "instance_url")
    assert input_value(body, "instance_url") == "not a url"
    assert selected(body, "platform") == "mastodon"
    assert count(Channel) == 0

    response = submit(signed_in, "/channels", {"name": "X", "platform": "carrier-pigeon",
                                                "url": ""})
    assert response.status_code == 422 and "must be one of" in page(response)
    assert count(Channel) == 0


def test_edit_keeps_credentials_that_are_left_empty(signed_in, webhook, channel):
    body = show(signed_in, f"/channels/{channel.id}/edit")
    assert "hook-secret" not in body and "A secret is set" in body
    response = submit(signed_in, f"/channels/{channel.id}/edit", {
        "name": "Renamed", "color": "#00aa00", "url": webhook.url + "/other", "secret": "",
        "rate_limit_per_hour": "30"})
    assert response.status_code == 303
    db.session.expire_all()
    from webapp.services.channels import public_config

    assert channel.name == "Renamed" and channel.rate_limit_per_hour == 30
    assert public_config(channel, full=True) == {"url": webhook.url + "/other",
                                                 "secret_set": True}

    response = submit(signed_in, f"/channels/{channel.id}/edit", {
        "name": "Renamed", "color": "#00aa00", "url": webhook.url + "/other",
        "clear_secret": "y"})
    assert response.status_code == 303
    db.session.expire_all()
    assert public_config(channel)["secret_set"] is False


def test_pause_resume_and_delete_a_channel(signed_in, channel):
    assert submit(signed_in, f"/channels/{channel.id}/pause",
                  form_page="/channels").status_code == 303
    db.session.expire_all()
    assert channel.paused is True
    assert ">Resume</button>" in show(signed_in, "/channels")
    submit(signed_in, f"/channels/{channel.id}/resume", form_page="/channels")
    db.session.expire_all()
    assert channel.paused is False

    confirm = show(signed_in, f"/channels/{channel.id}/delete")
    assert "Delete channel “Hook”?" in confirm
    response = submit(signed_in, f"/channels/{channel.id}/delete")
    assert response.status_code == 303 and count(Channel) == 0


# The composer ----------------------------------------------------------------------------------

def test_schedule_a_recurring_post_and_see_its_occurrences(signed_in, channel):
    form = show(signed_in, "/posts/new")
    assert input_value(form, "timezone") == "Europe/Berlin"  # the user's zone by default
    response = submit(signed_in, "/posts/new", composer(
        [channel.id], title="Morning", body="Good morning!", at=tomorrow_at(9),
        recurrence="daily", ends="count", count="5", priority="7"))
    assert response.status_code == 303
    post = db.session.scalar(select(Post))
    assert response.location == f"/posts/{post.id}"
    assert post.status == "scheduled" and post.priority == 7
    schedule = post.schedules[0]
    assert (schedule.timezone, schedule.rrule, schedule.count) == ("Europe/Berlin",
                                                                  "FREQ=DAILY", 5)

    body = show(signed_in, response.location)
    assert "Every day" in body and "after 5 times" in body
    # Five occurrences, each at 09:00 Berlin time with the zone's abbreviation.
    occurrences = re.findall(r'<ol class="occurrences">(.*?)</ol>', body, re.S)[0]
    assert len(re.findall(r", 09:00 CES?T</time>", occurrences)) == 5
    # Deliveries are written a week ahead: all five, waiting.
    assert count(Delivery, Delivery.post_id == post.id) == 5
    upcoming = body.split("Still to come")[1].split("<h3>Done</h3>")[0]
    assert upcoming.count('data-label="Status"') == 5 and "status-pending" in upcoming


def test_weekly_on_days_and_a_custom_rule(signed_in, channel):
    submit(signed_in, "/posts/new", composer([channel.id], recurrence="weekly",
                                             weekdays=["MO", "FR"], ends="until",
                                             until="2099-12-31"))
    submit(signed_in, "/posts/new", composer([channel.id], recurrence="custom",
                                             rrule="FREQ=MONTHLY;BYDAY=1MO"))
    first, second = db.session.scalars(select(Post).order_by(Post.id)).all()
    assert first.schedules[0].rrule == "FREQ=WEEKLY;BYDAY=MO,FR"
    assert first.schedules[0].until_local == datetime(2099, 12, 31, 23, 59, 59, 999999)
    assert second.schedules[0].rrule == "FREQ=MONTHLY;BYDAY=1MO"
    assert "Every week on Mon, Fri" in show(signed_in, f"/posts/{first.id}")


def test_save_a_draft_without_channels_or_time(signed_in):
    response = submit(signed_in, "/posts/new", composer(body="An idea", at="", action="draft"))
    assert response.status_code == 303
    post = db.session.scalar(select(Post))
    assert post.status == "draft" and post.schedules == []
    assert "Not scheduled." in show(signed_in, f"/posts/{post.id}")


@pytest.mark.parametrize("field, fields, field_id, message", [
    ("timezone", {"timezone": "Mars/Olympus_Mons"}, "timezone",
     "unknown timezone “Mars/Olympus_Mons”"),
    ("at", {"at": "2020-01-06T09:00"}, "at", "is in the past"),
    ("at", {"at": "next tuesday"}, "at", "is not a valid date and time"),
    ("recurrence", {"recurrence": "custom", "rrule": "FREQ=SOMETIMES"}, "rrule",
     "invalid recurrence rule"),
    ("recurrence", {"recurrence": "custom", "rrule": ""}, "rrule", "enter a rule"),
    ("count", {"recurrence": "daily", "ends": "count", "count": "-3"}, "count",
     "must be between 1 and 10000"),
    ("until", {"recurrence": "daily", "ends": "until", "until": "2020-01-01"}, "until",
     "is before the first occurrence"),
    ("priority", {"priority": "11"}, "priority", "must be between 1 and 10"),
    ("priority", {"priority": "high"}, "priority", "must be a whole number"),
    ("body", {"body": "   "}, "body", "is required"),
])
def test_composer_errors_are_shown_next_to_their_input(signed_in, channel, field, fields,
                                                       field_id, message):
    data = composer([channel.id], **{"title": "Keep me", "body": "Typed text", **fields})
    response = submit(signed_in, "/posts/new", data)
    assert response.status_code == 422
    body = page(response)
    assert message in (error_for(body, field_id) or ""), body
    # Nothing typed is lost, and nothing was saved.
    assert input_value(body, "title") == "Keep me"
    assert textarea_value(body, "body") == data["body"]
    assert input_value(body, "timezone") == data["timezone"]
    assert f'name="channel_ids" value="{channel.id}" checked' in body
    assert count(Post) == 0


def test_unknown_timezone_keeps_every_other_input(signed_in, channel):
    response = submit(signed_in, "/posts/new", composer(
        [channel.id], body="Typed", timezone="Nowhere/Land", at=tomorrow_at(11),
        recurrence="weekly", weekdays=["TU"], ends="count", count="4", priority="9"))
    body = page(response)
    assert error_for(body, "timezone") == "unknown timezone “Nowhere/Land”"
    assert input_value(body, "timezone") == "Nowhere/Land"
    assert input_value(body, "at") == tomorrow_at(11)
    assert selected(body, "recurrence") == "weekly"
    assert re.search(r'<input checked id="weekdays-\d" name="weekdays" type="checkbox" '
                     r'value="TU">', body)
    assert re.search(r'<input checked id="ends-2" name="ends" type="radio" value="count">', body)
    assert input_value(body, "count") == "4" and input_value(body, "priority") == "9"


def test_text_too_long_for_mastodon_is_shown_at_the_text(signed_in, masto_channel, channel):
    long_text = "x" * 501
    response = submit(signed_in, "/posts/new", composer([masto_channel.id, channel.id],
                                                        body=long_text))
    assert response.status_code == 422
    body = page(response)
    assert error_for(body, "body") == "too long for Masto: 501 characters; mastodon allows 500"
    assert textarea_value(body, "body") == long_text
    assert "501 / 500" in body and "1 too many" in body  # the counter agrees
    assert count(Post) == 0

    # A shorter text just for Mastodon fixes it; its error would sit at that text.
    response = submit(signed_in, "/posts/new", composer(
        [masto_channel.id, channel.id], body=long_text,
        **{f"override_{masto_channel.id}": "y" * 600}))
    assert error_for(page(response), f"override_{masto_channel.id}").startswith("too long")
    response = submit(signed_in, "/posts/new", composer(
        [masto_channel.id, channel.id], body=long_text,
        **{f"override_{masto_channel.id}": "Short for Mastodon"}))
    assert response.status_code == 303
    post = db.session.scalar(select(Post))
    assert post.overrides == {str(masto_channel.id): "Short for Mastodon"}


def test_scheduling_needs_a_channel(signed_in, channel):
    response = submit(signed_in, "/posts/new", composer([]))
    assert response.status_code == 422
    assert "choose at least one channel" in page(response)


def test_the_character_counter_follows_the_chosen_channels(signed_in, masto_channel, channel):
    token = csrf_token(signed_in, "/posts/new")
    response = signed_in.post("/posts/counter", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "body": "a" * 520,
        "channel_ids": [str(masto_channel.id), str(channel.id)]})
    body = page(response)
    assert "<html" not in body
    assert "520 characters" in body and "Masto:\n  520 / 500 — 20 too many" in body
    assert "Hook:\n  520</span>" in body


def test_channels_of_another_workspace_cannot_be_chosen(signed_in, channel):
    outsider = member("admin", "Elsewhere")
    theirs = add_channel(outsider, "Theirs")
    response = submit(signed_in, "/posts/new", composer([theirs.id]))
    assert response.status_code == 422
    assert f"unknown channel {theirs.id}" in page(response)
    assert "Theirs" not in show(signed_in, "/posts/new")


# Editing ---------------------------------------------------------------------------------------

def test_editing_the_text_keeps_the_schedule_and_its_deliveries(signed_in, admin, channel):
    post = make_post(admin, [channel.id])
    before = set(db.session.scalars(select(Delivery.id).where(Delivery.post_id == post.id)))
    form = show(signed_in, f"/posts/{post.id}/edit")
    assert input_value(form, "at") == tomorrow_at(9)
    assert selected(form, "recurrence") == "daily"
    response = submit(signed_in, f"/posts/{post.id}/edit", composer(
        [channel.id], body="New words", recurrence="daily", action="save"))
    assert response.status_code == 303
    db.session.expire_all()
    assert post.body == "New words" and len(post.schedules) == 1
    assert set(db.session.scalars(select(Delivery.id).where(
        Delivery.post_id == post.id))) == before


def test_editing_the_time_reschedules(signed_in, admin, channel):
    post = make_post(admin, [channel.id])
    response = submit(signed_in, f"/posts/{post.id}/edit", composer(
        [channel.id], body="Hello", at=tomorrow_at(18), recurrence="daily", action="save"))
    assert response.status_code == 303
    db.session.expire_all()
    live = [s for s in post.schedules if s.status == "active"]
    assert len(live) == 1 and live[0].start_local.hour == 18
    assert "18:00" in show(signed_in, f"/posts/{post.id}")


def test_editing_with_a_past_time_shows_the_error_and_changes_nothing(signed_in, admin,
                                                                     channel):
    post = make_post(admin, [channel.id])
    response = submit(signed_in, f"/posts/{post.id}/edit", composer(
        [channel.id], body="Changed", at="2020-01-01T10:00", recurrence="daily",
        action="save"))
    assert response.status_code == 422
    assert "is in the past" in error_for(page(response), "at")
    assert textarea_value(page(response), "body") == "Changed"
    db.session.expire_all()
    assert post.body == "Hello" and len(post.schedules) == 1


def test_a_draft_is_scheduled_from_the_edit_page(signed_in, admin, channel):
    post = post_service.create(workspace_id(admin), admin.id, {
        "body": "Later", "channel_ids": [channel.id], "status": "draft"})
    response = submit(signed_in, f"/posts/{post.id}/edit", composer(
        [channel.id], body="Later", at=tomorrow_at(10), action="schedule"))
    assert response.status_code == 303
    db.session.expire_all()
    assert post.status == "scheduled" and post.schedules[0].start_local.hour == 10


# The detail page's actions --------------------------------------------------------------------

def test_pause_and_resume_a_post(signed_in, admin, channel):
    post = make_post(admin, [channel.id])
    response = submit(signed_in, f"/posts/{post.id}/pause", form_page=f"/posts/{post.id}")
    assert response.status_code == 303 and response.location == f"/posts/{post.id}"
    db.session.expire_all()
    assert post.schedules[0].status == "paused"
    body = show(signed_in, f"/posts/{post.id}")
    assert "Post paused" in body and ">Resume</button>" in body and ">Pause</button>" not in body

    # Pausing twice is refused politely.
    response = submit(signed_in, f"/posts/{post.id}/pause", form_page=f"/posts/{post.id}",
                      follow_redirects=True)
    assert "Nothing changed: the post has no active schedule to pause" in page(response)

    submit(signed_in, f"/posts/{post.id}/resume", form_page=f"/posts/{post.id}")
    db.session.expire_all()
    assert post.schedules[0].status == "active"


def test_publish_now_sends_the_post(signed_in, admin, channel, webhook, runner):
    post_id = make_post(admin, [channel.id], schedule=None, status="draft").id
    response = submit(signed_in, f"/posts/{post_id}/publish-now", form_page=f"/posts/{post_id}")
    assert response.status_code == 303
    ids = list(db.session.scalars(select(Delivery.id).where(Delivery.post_id == post_id)))
    assert len(ids) == 1
    runner.until_settled(ids)
    assert [r.json()["body"] for r in webhook.posts()] == ["Hello"]
    body = show(signed_in, f"/posts/{post_id}")
    assert "status-published" in body and f'href="{webhook.url}/items/' in body


def test_a_failed_delivery_is_reported_and_retried(signed_in, admin, channel, webhook, runner):
    webhook.script.append(Reply(400, {"error": "rejected"}))
    post_id = make_post(admin, [channel.id], schedule=None, status="draft").id
    submit(signed_in, f"/posts/{post_id}/publish-now", form_page=f"/posts/{post_id}")
    (delivery_id,) = db.session.scalars(select(Delivery.id).where(Delivery.post_id == post_id))
    (delivery,) = runner.until_settled([delivery_id])
    assert delivery.status == "failed"

    dashboard = show(signed_in, "/")
    assert '<span class="num">1</span> failed delivery' in dashboard
    assert "Not published to Hook" in dashboard and "HTTP 400" in dashboard
    assert ">Retry</button>" in dashboard
    detail = show(signed_in, f"/posts/{post_id}")
    assert "status-failed" in detail and ">Retry</button>" in detail

    response = submit(signed_in, f"/deliveries/{delivery_id}/retry",
                      {"next": f"/posts/{post_id}"}, form_page=f"/posts/{post_id}")
    assert response.status_code == 303 and response.location == f"/posts/{post_id}"
    (delivery,) = runner.until_settled([delivery_id])
    assert delivery.status == "published" and delivery.attempts == 2

    # Retrying what is not failed changes nothing and says why.
    response = submit(signed_in, f"/deliveries/{delivery_id}/retry", form_page="/queue",
                      follow_redirects=True)
    assert "only failed or unknown ones retry" in page(response)


def test_mark_notifications_read(signed_in, admin):
    workspace = workspace_id(admin)
    db.session.add_all([Notification(workspace_id=workspace, kind="delivery_failed",
                                     title=f"Problem {i}") for i in range(2)])
    db.session.commit()
    assert "2 unread" in show(signed_in, "/")
    response = submit(signed_in, "/notifications/read", form_page="/",
                      headers={"HX-Request": "true"})
    assert "<html" not in page(response) and "No unread notifications" in page(response)
    assert count(Notification, Notification.read_at.is_(None)) == 0


def test_cancel_a_post_after_confirming(signed_in, admin, channel):
    post = make_post(admin, [channel.id])
    waiting = count(Delivery, Delivery.post_id == post.id)  # a week's worth: 6 or 7
    confirm = show(signed_in, f"/posts/{post.id}/cancel")
    assert f"{waiting} waiting deliveries are cancelled" in confirm
    response = submit(signed_in, f"/posts/{post.id}/cancel")
    assert response.status_code == 303
    db.session.expire_all()
    assert post.status == "cancelled"
    assert count(Delivery, Delivery.post_id == post.id, Delivery.status != "cancelled") == 0
    body = show(signed_in, f"/posts/{post.id}")
    assert "Post cancelled" in body and ">Publish now</button>" not in body
    assert signed_in.get(f"/posts/{post.id}/edit").status_code == 303


def test_cancel_one_delivery_from_the_queue(signed_in, admin, channel):
    post = make_post(admin, [channel.id])
    waiting = count(Delivery, Delivery.post_id == post.id)
    first = db.session.scalar(select(Delivery).where(Delivery.post_id == post.id)
                              .order_by(Delivery.due_at))
    response = submit(signed_in, f"/deliveries/{first.id}/cancel",
                      {"next": "/queue?status=pending"}, form_page="/queue")
    assert response.location == "/queue?status=pending"
    db.session.expire_all()
    assert first.status == "cancelled"
    assert count(Delivery, Delivery.post_id == post.id,
                 Delivery.status == "pending") == waiting - 1


# Deliveries ------------------------------------------------------------------------------------

def test_deliveries_are_filtered_and_paged_in_the_users_zone(signed_in, admin, channel):
    make_post(admin, [channel.id], schedule={"at": tomorrow_at(9, "UTC"), "timezone": "UTC",
                                             "recurrence": "FREQ=HOURLY"})
    total = count(Delivery)
    assert total > 50  # hourly occurrences (at most 100 waiting, see planner): two pages
    # The old address of the queue still works.
    assert signed_in.get("/deliveries?status=pending").location == "/queue?status=pending"
    body = show(signed_in, "/queue?status=pending")
    assert body.count('data-label="Status"') == 50
    assert re.search(r'href="/queue"[^>]*aria-current="page"', body)
    pages = -(-total // 50)
    assert f"Page 1 of {pages}" in body
    # The admin's zone is Europe/Berlin: 09:00 UTC reads 10:00 or 11:00 local.
    assert re.search(r", 1[01]:00 CES?T</time>", body)

    last = show(signed_in, f"/queue?status=pending&page={pages}")
    assert last.count('data-label="Status"') == total - 50 * (pages - 1)
    assert "Nothing has been published yet." in show(signed_in, "/queue?status=published")

    # HTMX gets the table alone; a boosted request or a history restore gets the page.
    fragment = show(signed_in, "/queue?status=pending&page=2",
                    headers={"HX-Request": "true"})
    assert fragment.lstrip().startswith('<div id="queue-table"')
    assert fragment.count('data-label="Status"') == total - 50 and "Page 2 of" in fragment
    whole = signed_in.get("/queue?page=2", headers={"HX-Request": "true",
                                                    "HX-Boosted": "true"})
    assert "<html" in page(whole) and "HX-Request" in whole.headers["Vary"]


def test_posts_list_filters_by_status(signed_in, admin, channel):
    make_post(admin, [channel.id], body="Scheduled one")
    make_post(admin, [channel.id], body="Draft one", schedule=None, status="draft")
    body = show(signed_in, "/posts?status=draft")
    assert "Draft one" in body and "Scheduled one" not in body
    assert re.search(r'href="/posts\?status=draft" aria-current="page"', body)
    assert "Scheduled one" in show(signed_in, "/posts") and "Draft one" in show(signed_in, "/posts")
    fragment = show(signed_in, "/posts?status=scheduled", headers={"HX-Request": "true"})
    assert fragment.lstrip().startswith('<div id="posts-table">') and "Scheduled one" in fragment


# Settings ----------------------------------------------------------------------------------------

def test_settings_change_the_zone_pages_use(app, signed_in, admin, channel):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:2525"  # the address field is shown with SMTP
    make_post(admin, [channel.id], schedule={"at": tomorrow_at(9, "UTC"), "timezone": "UTC"})
    response = submit(signed_in, "/settings", {"timezone": "Asia/Tokyo",
                                               "notify_email": "Alerts@Example.com"})
    assert response.status_code == 303
    db.session.expire_all()
    assert (admin.timezone, admin.notify_email) == ("Asia/Tokyo", "alerts@example.com")
    assert ", 18:00 JST</time>" in show(signed_in, "/queue")


def test_settings_refuse_bad_values(app, signed_in, admin):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:2525"
    response = submit(signed_in, "/settings", {"timezone": "Atlantis/Capital",
                                               "notify_email": "not-an-address"})
    assert response.status_code == 422
    body = page(response)
    assert error_for(body, "timezone") == "unknown timezone “Atlantis/Capital”"
    assert error_for(body, "notify_email") == "is not an e-mail address"
    assert input_value(body, "notify_email") == "not-an-address"
    db.session.expire_all()
    assert admin.timezone == "Europe/Berlin"


# CSRF, roles and workspaces ----------------------------------------------------------------------

def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(signed_in, admin,
                                                                      channel):
    post = make_post(admin, [channel.id])
    for path, data in ((f"/posts/{post.id}/cancel", {}), ("/channels", {
            "name": "Sneaky", "platform": "webhook", "url": "http://127.0.0.1:9/"}),
            ("/posts/new", composer([channel.id], body="Sneaky")),
            ("/settings", {"timezone": "UTC"})):
        response = signed_in.post(path, data=data)
        assert response.status_code == 400, path
        assert "CSRF" in page(response)
        response = signed_in.post(path, data={**data, "csrf_token": "forged"})
        assert response.status_code == 400, path
    db.session.expire_all()
    assert post.status == "scheduled" and count(Channel) == 1 and count(Post) == 1
    assert admin.timezone == "Europe/Berlin"


ROLE_GRID = [
    # (method, path template, allowed roles)
    ("GET", "/posts/new", {"editor", "approver", "admin"}),
    ("GET", "/posts/{post}/edit", {"editor", "approver", "admin"}),
    ("POST", "/posts/new", {"editor", "approver", "admin"}),
    ("POST", "/posts/{post}/pause", {"editor", "approver", "admin"}),
    ("POST", "/posts/{post}/publish-now", {"editor", "approver", "admin"}),
    ("POST", "/posts/{post}/cancel", {"editor", "approver", "admin"}),
    ("POST", "/deliveries/{delivery}/cancel", {"editor", "approver", "admin"}),
    ("POST", "/channels/{channel}/check", {"admin"}),
    ("POST", "/notifications/read", {"editor", "approver", "admin"}),
    ("POST", "/channels", {"admin"}),
    ("GET", "/channels/{channel}/edit", {"admin"}),
    ("POST", "/channels/{channel}/pause", {"admin"}),
    ("GET", "/channels/{channel}/delete", {"admin"}),
    ("POST", "/channels/{channel}/delete", {"admin"}),
]


@pytest.mark.parametrize("role", ["viewer", "editor", "approver", "admin"])
@pytest.mark.parametrize("method, template, allowed", ROLE_GRID)
def test_role_grid(app, admin, channel, role, method, template, allowed):
    post = make_post(admin, [channel.id])
    delivery = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post.id))
    path = template.format(post=post.id, delivery=delivery, channel=channel.id)
    client = app.test_client()
    email = "admin@example.com" if role == "admin" else member(role).email
    sign_in(client, email)
    if method == "GET":
        response = client.get(path)
    else:
        data = composer([channel.id]) if path == "/posts/new" else {
            "name": "New", "platform": "webhook", "url": "http://127.0.0.1:9/"}
        response = submit(client, path, data, form_page="/")
    if role in allowed:
        assert response.status_code in (200, 303), (role, path, response.status_code)
    else:
        assert response.status_code == 403, (role, path)
        assert "Your role (" in page(response)


def test_viewers_can_look_at_everything(app, admin, channel):
    post = make_post(admin, [channel.id])
    client = app.test_client()
    sign_in(client, member("viewer").email)
    for path in ("/", "/channels", "/posts", f"/posts/{post.id}", "/queue", "/settings"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Pause</button>" not in page(response) and "Retry</button>" not in page(response)
    assert "Write a post" not in show(client, "/posts")
    # Their own settings are theirs to change.
    assert submit(client, "/settings", {"timezone": "UTC"}).status_code == 303


def test_another_workspaces_things_are_not_found(signed_in, admin, channel):
    outsider = member("admin", "Elsewhere")
    theirs = add_channel(outsider, "Theirs")
    post = make_post(outsider, [theirs.id], body="Secret plans")
    delivery = db.session.scalar(select(Delivery.id).where(Delivery.post_id == post.id))
    for path in (f"/posts/{post.id}", f"/posts/{post.id}/edit", f"/posts/{post.id}/cancel",
                 f"/channels/{theirs.id}/edit", f"/channels/{theirs.id}/delete"):
        assert signed_in.get(path).status_code == 404, path
    for path in (f"/posts/{post.id}/pause", f"/posts/{post.id}/cancel",
                 f"/posts/{post.id}/publish-now", f"/deliveries/{delivery}/cancel",
                 f"/channels/{theirs.id}/delete", f"/channels/{theirs.id}/check"):
        assert submit(signed_in, path, form_page="/").status_code == 404, path
    for path in ("/", "/posts", "/queue", "/channels"):
        body = show(signed_in, path)
        assert "Secret plans" not in body and "Theirs" not in body, path
    db.session.expire_all()
    assert post.status == "scheduled" and theirs.paused is False


@pytest.mark.parametrize("method, path, expected", [
    ("GET", "/posts/99999", 404),
    ("GET", "/posts/99999999999999999999999", 404),
    ("GET", "/posts/abc", 404),
    ("GET", "/posts/0", 404),
    ("GET", "/queue?status=bogus", 400),
    ("GET", "/queue?page=abc", 200),
    ("GET", "/queue?page=-4", 200),
    ("GET", "/queue?page=999999999999999999999", 200),
    ("GET", "/posts?status=%00", 400),
    ("POST", "/deliveries/99999/retry", 404),
    ("POST", "/channels/99999/check", 404),
])
def test_bad_addresses_get_clear_answers(signed_in, method, path, expected):
    if method == "GET":
        response = signed_in.get(path)
    else:
        response = submit(signed_in, path, form_page="/")
    assert response.status_code == expected


@pytest.mark.parametrize("fields", [
    {"channel_ids": ["abc"]},
    {"channel_ids": ["99999999999999999999"]},
    {"recurrence": "hourly-ish"},
    {"ends": "sometime", "recurrence": "daily"},
    {"at": "2026-13-45T25:61"},
    {"timezone": "../../etc/passwd"},
    {"until": "31/12/2099", "ends": "until", "recurrence": "daily"},
    {"count": "99999999999999999999", "ends": "count", "recurrence": "daily"},
    {"weekdays": ["XX"], "recurrence": "weekly"},
    {"priority": ""},
    {"at": "9999-12-31T23:59", "timezone": "Pacific/Kiritimati"},
    {"at": "2030-01-01T00:00+99:00"},
    {"at": "2030-01-01T00:00Z"},
    {"at": "2030-01-01"},
    {"recurrence": "custom", "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"},
    {"recurrence": "custom", "rrule": "FREQ=DAILY;UNTIL=20200101T000000Z"},
    {"recurrence": "custom", "rrule": "FREQ=DAILY;BYHOUR=25"},
    {"recurrence": "custom", "rrule": "FREQ=SECONDLY"},
    {"recurrence": "custom", "rrule": "FREQ=DAILY\nFREQ=WEEKLY"},
    {"recurrence": "custom", "rrule": "X" * 600},
    {"title": "t" * 300},
])
def test_odd_composer_input_never_breaks_the_page(signed_in, channel, fields):
    response = submit(signed_in, "/posts/new", {**composer([channel.id]), **fields})
    assert response.status_code in (303, 422), page(response)[:500]


@pytest.mark.parametrize("fields, field_id, message", [
    # Each of these would crash or hang a request in the domain layer (see schedules.parse).
    ({"at": "0001-01-01T00:00"}, "at", "choose a year between 1900 and 9998"),
    ({"at": "9999-12-31T23:59", "timezone": "America/Los_Angeles"}, "at",
     "choose a year between 1900 and 9998"),
    ({"recurrence": "custom", "rrule": "FREQ=DAILY;INTERVAL=0"}, "rrule",
     "INTERVAL must be 1 or more"),
    ({"recurrence": "custom", "rrule": "FREQ=MINUTELY"}, "rrule",
     "repeats more than 1000 times in 7 days"),
])
def test_schedules_the_domain_layer_cannot_handle_are_refused(signed_in, channel, fields,
                                                               field_id, message):
    response = submit(signed_in, "/posts/new", {**composer([channel.id]), **fields})
    assert response.status_code == 422
    assert message in error_for(page(response), field_id)
    assert count(Post) == 0


def test_a_quarter_hourly_rule_is_fine(signed_in, channel):
    response = submit(signed_in, "/posts/new", {**composer([channel.id]), "recurrence": "custom",
                                                "rrule": "FREQ=MINUTELY;INTERVAL=15"})
    assert response.status_code == 303


def test_a_fragment_request_after_the_session_ended_reloads_the_page(client, admin):
    response = client.get("/queue?page=2", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Refresh"] == "true"


def test_a_schedule_ending_at_the_end_of_the_calendar_still_shows(signed_in, admin, channel):
    post = make_post(admin, [channel.id], schedule={
        "at": tomorrow_at(9, "America/Los_Angeles"), "timezone": "America/Los_Angeles",
        "recurrence": "daily", "until": "9998-12-31"})
    body = show(signed_in, f"/posts/{post.id}")
    assert "after Thu 31 Dec 9998" in body


@pytest.mark.parametrize("role, shown", [
    ("viewer", ["Team", "Settings"]),
    ("editor", ["Team", "Settings"]),
    ("approver", ["Team", "Audit log", "Settings"]),
    ("admin", ["Team", "Audit log", "Operations", "Settings"]),
])
def test_the_workspace_menu_holds_the_pages_the_role_may_open(app, admin, role, shown):
    client = app.test_client()
    user = admin if role == "admin" else member(role)
    sign_in(client, user.email, PASSWORD)
    body = show(client, "/")
    menu = re.search(r'<details class="nav-menu" id="nav-menu" data-menu>(.*?)</details>',
                     body, re.S)
    assert menu, "no workspace menu in the header"
    assert re.findall(r"<a [^>]*>([^<]+)</a>", menu.group(1)) == shown
    with app.test_request_context():
        paths = {"Audit log": url_for("audit.audit_log"),
                 "Operations": url_for("operations.operations")}
    for label, path in paths.items():
        if label not in shown:  # what the menu leaves out is refused anyway
            assert client.get(path).status_code == 403, (label, path)
    # The page one is on is marked, in the menu and on its button.
    settings = show(client, "/settings")
    assert re.search(r'<summary class="current">Workspace', settings)
    assert re.search(r'<a href="/settings" aria-current="page">Settings</a>', settings)
