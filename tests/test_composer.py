"""The composer's live parts, through the test client with CSRF on: the schedule preview,
the character counter, monthly-on-day-N, Publish now, and the searchable zone inputs."""

import re

import pytest
from sqlalchemy import select

from tests.factories import add_channel, make_post, member
from tests.helpers import (
    composer,
    count,
    csrf_token,
    error_for,
    input_value,
    page,
    show,
    sign_in,
    submit,
    tomorrow_at,
)
from webapp.extensions import db
from webapp.models import Delivery, Post

HX = {"HX-Request": "true"}


def preview(client, fields: dict, path: str = "/posts/preview", headers=HX):
    """POST the composer's fields to the preview, as HTMX does (token from the page)."""
    token = csrf_token(client, "/posts/new")
    return client.post(path, data={**composer(), **fields, "csrf_token": token},
                       headers=headers)


def items(body: str) -> list[str]:
    """The preview's occurrences as text, one per entry."""
    found = re.findall(r"<li>(.*?)</li>", body, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", f).split()) for f in found]


# The preview ------------------------------------------------------------------------------

def test_the_composer_page_carries_the_preview_counter_and_zone_list(signed_in, channel):
    body = show(signed_in, "/posts/new")
    assert '<div id="preview"' in body and 'hx-post="/posts/preview"' in body
    assert '<div id="counter"' in body and 'hx-post="/posts/counter"' in body
    assert 'list="zone-list"' in body and '<option value="America/New_York">' in body
    assert "Choose a date and time to see when the post goes out." in body
    assert "composer.css" in body
    for button in ("Schedule", "Save draft", "Publish now"):
        assert f">{button}</button>" in body


def test_the_preview_lists_the_next_five_local_times_with_dst_warnings(signed_in):
    # New York springs forward on 14 March 2027: 02:30 does not exist that day.
    response = preview(signed_in, {"at": "2027-03-14T02:30", "timezone": "America/New_York",
                                   "recurrence": "daily"})
    assert response.status_code == 200
    body = page(response)
    assert "<html" not in body and "<form" not in body  # the fragment alone
    shown = items(body)
    assert len(shown) == 5
    assert shown[0].startswith("Sun 14 Mar 2027, 03:30 EDT (Sun 08:30 CET your time)")
    assert ("⚠ 2027-03-14 02:30 does not exist in America/New_York (clocks spring forward); "
            "it is published at 03:30 EDT instead") in shown[0]
    assert shown[1] == "Mon 15 Mar 2027, 02:30 EDT (Mon 07:30 CET your time)"
    assert "Every day" in body and "…and more." in body


def test_the_preview_follows_weekdays_and_the_end(signed_in):
    body = page(preview(signed_in, {
        "at": "2027-03-14T09:00", "timezone": "Europe/Berlin", "recurrence": "weekly",
        "weekdays": ["SU", "WE"], "ends": "count", "count": "3"}))
    assert "Every week on Wed, Sun, 3 times" in body
    assert [s.split(",")[0] for s in items(body)] == ["Sun 14 Mar 2027", "Wed 17 Mar 2027",
                                                     "Sun 21 Mar 2027"]
    assert "your time" not in body  # the schedule is in the reader's own zone
    assert "…and more." not in body


def test_a_one_off_preview_and_a_fall_back_warning(signed_in):
    body = page(preview(signed_in, {"at": "2027-11-07T01:30", "timezone": "America/New_York"}))
    assert "Does not repeat" in body
    (only,) = items(body)
    assert "Sun 07 Nov 2027, 01:30 EDT" in only and "happens twice" in only


def test_monthly_on_day_n(signed_in, channel):
    body = page(preview(signed_in, {"at": "2027-01-05T09:00", "recurrence": "monthly",
                                    "monthday": "31"}))
    assert "Every month on day 31" in body
    # Months without a 31st are skipped, as RFC 5545 says.
    assert [s.split(",")[0] for s in items(body)] == [
        "Sun 31 Jan 2027", "Wed 31 Mar 2027", "Mon 31 May 2027", "Sat 31 Jul 2027",
        "Tue 31 Aug 2027"]
    response = submit(signed_in, "/posts/new", composer(
        [channel.id], at="2027-01-05T09:00", recurrence="monthly", monthday="31"))
    assert response.status_code == 303
    post = db.session.scalar(select(Post))
    assert post.schedules[0].rrule == "FREQ=MONTHLY;BYMONTHDAY=31"
    assert "Every month on day 31" in show(signed_in, f"/posts/{post.id}")
    form = show(signed_in, f"/posts/{post.id}/edit")
    assert input_value(form, "monthday") == "31"
    # Unchanged, the edit page's preview shows the saved schedule's next occurrences.
    assert "As saved" in form

    response = submit(signed_in, "/posts/new", composer(
        [channel.id], recurrence="monthly", monthday="32"))
    assert response.status_code == 422
    assert error_for(page(response), "monthday") == "choose a day between 1 and 31"


def test_a_custom_rule_takes_the_weekly_monthly_and_cron_inputs(signed_in, channel):
    body = page(preview(signed_in, {"at": "2032-01-31T09:00", "timezone": "UTC",
                                    "recurrence": "custom", "rrule": "monthly:31"}))
    assert "Every month on day 31 (or the month&#39;s last day)" in body
    # Months without a 31st fall on their last day; 2032 is a leap year.
    assert [s.split(",")[0] for s in items(body)] == [
        "Sat 31 Jan 2032", "Sun 29 Feb 2032", "Wed 31 Mar 2032", "Fri 30 Apr 2032",
        "Mon 31 May 2032"]
    body = page(preview(signed_in, {"at": "2031-01-03T00:00", "timezone": "America/New_York",
                                    "recurrence": "custom", "rrule": "cron:0 9 * * 1-5"}))
    assert "At 09:00, Monday to Friday" in body
    assert [s.split(",")[0] for s in items(body)][:3] == [
        "Fri 03 Jan 2031", "Mon 06 Jan 2031", "Tue 07 Jan 2031"]

    response = submit(signed_in, "/posts/new", composer(
        [channel.id], at="2031-01-01T09:00", recurrence="custom", rrule="weekly:Mon,thu"))
    assert response.status_code == 303
    post = db.session.scalar(select(Post))
    assert post.schedules[0].rrule == "weekly:monday,thursday"
    assert "Every week on Monday and Thursday" in show(signed_in, f"/posts/{post.id}")
    form = show(signed_in, f"/posts/{post.id}/edit")
    assert input_value(form, "rrule") == "weekly:monday,thursday"
    assert "As saved" in form

    response = submit(signed_in, "/posts/new", composer(
        [channel.id], recurrence="custom", rrule="weekly:mondy"))
    assert response.status_code == 422
    assert "did you mean monday?" in error_for(page(response), "rrule")
    assert count(Post) == 1


def test_the_edit_pages_preview_shows_the_saved_schedule_until_it_changes(signed_in, admin,
                                                                          channel):
    post = make_post(admin, [channel.id])  # daily at 09:00 Berlin from tomorrow
    path = f"/posts/{post.id}/preview"
    token = csrf_token(signed_in, f"/posts/{post.id}/edit")
    same = {**composer([channel.id]), "recurrence": "daily", "csrf_token": token}
    body = page(signed_in.post(path, data=same, headers=HX))
    assert "As saved" in body and len(items(body)) == 5
    body = page(signed_in.post(path, data={**same, "at": tomorrow_at(10)}, headers=HX))
    assert "As saved" not in body and "Every day" in body and ", 10:00 CE" in body


@pytest.mark.parametrize("fields, message", [
    ({"at": ""}, "Choose a date and time"),
    ({"at": "next tuesday"}, "Date and time: “next tuesday” is not a valid date"),
    ({"at": "2020-01-06T09:00"}, "Date and time: 2020-01-06 09:00 CET is in the past"),
    ({"timezone": "Mars/Olympus_Mons"}, "Timezone: unknown timezone “Mars/Olympus_Mons”"),
    ({"timezone": ""}, "Timezone: a timezone is required"),
    ({"timezone": "../../etc/passwd"}, "Timezone: unknown timezone"),
    ({"recurrence": "custom", "rrule": "FREQ=SOMETIMES"}, "Repeat: invalid recurrence rule"),
    ({"recurrence": "custom", "rrule": ""}, "Repeat: enter a rule"),
    ({"recurrence": "custom", "rrule": "FREQ=DAILY;INTERVAL=0"}, "INTERVAL must be 1 or more"),
    ({"recurrence": "custom", "rrule": "FREQ=MINUTELY"}, "repeats more than 1000 times"),
    ({"recurrence": "custom", "rrule": "FREQ=SECONDLY"}, "Repeat: "),
    ({"recurrence": "daily", "ends": "until", "until": "9999-12-31"},
     "Last date: choose a year between 1900 and 9998"),
    ({"recurrence": "custom", "rrule": "FREQ=DAILY\nFREQ=WEEKLY"}, "give a single RRULE"),
    ({"recurrence": "custom", "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"},
     "no month has the days this rule asks for"),
    ({"recurrence": "custom", "rrule": "X" * 600}, "is 600 characters; at most 500"),
    ({"recurrence": "hourly-ish"}, "choose how often the post repeats"),
    ({"recurrence": "daily", "ends": "sometime"}, "choose when the repetition ends"),
    ({"recurrence": "daily", "ends": "count", "count": "-3"}, "must be between 1 and 10000"),
    ({"recurrence": "daily", "ends": "count", "count": "99999999999999999999"},
     "must be between 1 and 10000"),
    ({"recurrence": "daily", "ends": "count", "count": ""}, "say how many times"),
    ({"recurrence": "daily", "ends": "until", "until": "31/12/2099"}, "is not a valid date"),
    ({"recurrence": "daily", "ends": "until", "until": "2020-01-01"},
     "is before the first occurrence"),
    ({"recurrence": "monthly", "monthday": "0"}, "Day of the month: choose a day between"),
    ({"recurrence": "monthly", "monthday": "abc"}, "Day of the month: choose a day between"),
    ({"at": "0001-01-01T00:00"}, "choose a year between 1900 and 9998"),
    ({"at": "9999-12-31T23:59", "timezone": "Pacific/Kiritimati"}, "choose a year between"),
    ({"at": "2030-01-01T00:00+99:00"}, "is not a valid date and time"),
])
def test_garbage_gets_a_message_never_an_error_page(signed_in, fields, message):
    response = preview(signed_in, fields)
    assert response.status_code == 200
    body = page(response)
    assert message in body, body
    assert "<li>" not in body or "preview-errors" in body


@pytest.mark.parametrize("fields", [
    {"weekdays": ["XX"], "recurrence": "weekly"},
    {"at": "2030-01-01T00:00Z"},
    {"at": "2030-01-01"},
    {"recurrence": "custom", "rrule": "RRULE:FREQ=WEEKLY;BYDAY=1MO"},
    {"title": "t" * 300, "body": "", "channel_ids": ["abc"], "priority": "high"},
])
def test_odd_but_schedulable_input_is_previewed(signed_in, fields):
    response = preview(signed_in, fields)
    assert response.status_code == 200
    assert "preview-errors" not in page(response) and items(page(response))


def test_the_preview_answers_a_request_without_htmx_too(signed_in):
    response = preview(signed_in, {"at": "2027-03-14T09:00"}, headers={})
    assert response.status_code == 200
    assert "<html" not in page(response) and "Sun 14 Mar 2027, 09:00 CET" in page(response)


def test_the_preview_of_another_workspaces_post_is_not_found(signed_in, channel):
    outsider = member("admin", "Elsewhere")
    theirs = add_channel(outsider, "Theirs")
    post = make_post(outsider, [theirs.id])
    assert preview(signed_in, {}, f"/posts/{post.id}/preview").status_code == 404
    assert preview(signed_in, {}, "/posts/99999/preview").status_code == 404


# The counter ------------------------------------------------------------------------------

def test_the_counter_counts_each_channels_text_against_its_limit(signed_in, masto_channel,
                                                                 channel):
    token = csrf_token(signed_in, "/posts/new")
    data = {"csrf_token": token, "body": "a" * 520,
            "channel_ids": [str(masto_channel.id), str(channel.id)],
            f"override_{channel.id}": "own text for the hook"}
    response = signed_in.post("/posts/counter", data=data, headers=HX)
    assert response.status_code == 200
    body = page(response)
    assert "<html" not in body
    assert re.search(r'class="limit over"[^>]*>Masto:\s+520 / 500 — 20 too many', body)
    assert re.search(r'class="limit"[^>]*>Hook \(own text\):\s+21</span>', body)
    # Each channel's own text has its own count, swapped in beside it.
    assert (f'<small class="own-count" id="own-count-{channel.id}" hx-swap-oob="true">'
            "21 characters</small>") in body
    assert (f'id="own-count-{masto_channel.id}" hx-swap-oob="true">Empty: the main text is '
            "used.</small>") in body

    data[f"override_{masto_channel.id}"] = "b" * 501
    body = page(signed_in.post("/posts/counter", data=data, headers=HX))
    assert (f'<small class="own-count over" id="own-count-{masto_channel.id}" '
            'hx-swap-oob="true">501 / 500 characters — 1 too many</small>') in body

    # Without HTMX (no out-of-band swaps to make), the counter alone.
    body = page(signed_in.post("/posts/counter", data=data))
    assert "hx-swap-oob" not in body and "520 characters" in body


def test_the_counter_shrugs_off_garbage(signed_in, channel):
    token = csrf_token(signed_in, "/posts/new")
    response = signed_in.post("/posts/counter", headers=HX, data={
        "csrf_token": token, "channel_ids": ["abc", "99999999999999", str(channel.id)]})
    assert response.status_code == 200
    assert "0 characters" in page(response) and "Hook:" in page(response)


def test_the_composer_page_shows_the_own_text_counts(signed_in, masto_channel, admin):
    post = make_post(admin, [masto_channel.id], body="Main",
                     overrides={str(masto_channel.id): "Only for Mastodon"})
    body = show(signed_in, f"/posts/{post.id}/edit")
    assert (f'<small class="own-count" id="own-count-{masto_channel.id}">17 / 500 '
            "characters</small>") in body
    assert "Masto (own text):\n  17 / 500" in body


# Publish now --------------------------------------------------------------------------------

def test_publish_now_creates_the_post_and_sends_it(signed_in, channel, webhook, runner):
    response = submit(signed_in, "/posts/new", composer([channel.id], body="Right now",
                                                        at="", action="publish"))
    assert response.status_code == 303
    post = db.session.scalar(select(Post))
    assert post.schedules == [] and post.status == "scheduled"
    ids = db.session.scalars(select(Delivery.id).where(Delivery.post_id == post.id)).all()
    assert len(ids) == 1
    (delivery,) = runner.until_settled(ids)
    assert delivery.status == "published"
    assert webhook.posts("/hook")[0].json()["body"] == "Right now"
    assert "Publishing now." in show(signed_in, response.location)


def test_publish_now_keeps_a_repeating_schedule_but_not_a_one_off_time(signed_in, channel):
    submit(signed_in, "/posts/new", composer([channel.id], body="One-off", action="publish"))
    submit(signed_in, "/posts/new", composer([channel.id], body="Weekly", action="publish",
                                             recurrence="weekly"))
    one_off, weekly = db.session.scalars(select(Post).order_by(Post.id)).all()
    assert one_off.schedules == []
    assert weekly.schedules[0].rrule == "FREQ=WEEKLY"
    # Now, plus the next weekly occurrence.
    assert count(Delivery, Delivery.post_id == weekly.id) == 2


def test_publish_now_needs_a_channel_and_saves_nothing_without_one(signed_in, channel):
    response = submit(signed_in, "/posts/new", composer([], body="Kept", action="publish"))
    assert response.status_code == 422
    body = page(response)
    assert "choose at least one channel to publish to" in body
    assert "Kept</textarea>" in body
    assert count(Post) == 0


# Zones, CSRF and roles ------------------------------------------------------------------------

def test_zone_inputs_are_searchable_and_checked_on_the_server(signed_in, admin):
    body = show(signed_in, "/settings")
    assert 'list="zone-list"' in body and '<datalist id="zone-list">' in body
    assert '<option value="Asia/Tokyo">' in body
    response = submit(signed_in, "/settings", {"timezone": "Asia/Tokio", "notify_email": ""})
    assert response.status_code == 422
    assert input_value(page(response), "timezone") == "Asia/Tokio"
    response = submit(signed_in, "/settings", {"timezone": " Asia/Tokyo ", "notify_email": ""})
    assert response.status_code == 303
    db.session.expire_all()
    assert admin.timezone == "Asia/Tokyo"


def test_sign_up_takes_a_typed_zone_and_refuses_an_unknown_one(client):
    form = show(client, "/signup")
    assert 'list="zone-list"' in form and input_value(form, "timezone") == "UTC"
    data = {"email": "first@example.com", "password": "long enough", "confirm": "long enough",
            "workspace": "First"}
    response = submit(client, "/signup", {**data, "timezone": "Moon/Base"})
    assert response.status_code == 200
    assert error_for(page(response), "timezone") == "unknown timezone “Moon/Base”"
    assert input_value(page(response), "timezone") == "Moon/Base"
    response = submit(client, "/signup", {**data, "timezone": "America/New_York"})
    assert response.status_code == 302
    assert show(client, "/settings").count('value="America/New_York"') >= 1


@pytest.mark.parametrize("path", ["/posts/preview", "/posts/counter"])
def test_the_live_endpoints_refuse_a_request_without_the_token(signed_in, path):
    response = signed_in.post(path, data=composer(), headers=HX)
    assert response.status_code == 400 and "CSRF" in page(response)
    response = signed_in.post(path, data={**composer(), "csrf_token": "forged"}, headers=HX)
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/posts/preview", "/posts/counter"])
def test_viewers_cannot_use_the_composers_endpoints(app, admin, path):
    client = app.test_client()
    sign_in(client, member("viewer").email)
    response = submit(client, path, composer(), form_page="/settings", headers=HX)
    assert response.status_code == 403


def test_the_channel_text_hint_names_the_channels_own_checkbox(signed_in, channel):
    body = show(signed_in, "/posts/new")
    hint = re.search(rf'<label for="override_{channel.id}">.*?<small class="hint">(.*?)</small>',
                     body, re.S).group(1)
    assert hint == (f"Sent to {channel.name} instead of the main text while {channel.name} is "
                    "ticked above; leave it empty to send the main text.")


def test_the_counter_counts_as_the_platform_does(signed_in, masto_channel):
    """Mastodon counts what a person sees: 300 thumbs with a skin tone (two code points
    each) are 300 characters, within its 500, as the server's own check says."""
    token = csrf_token(signed_in, "/posts/new")
    data = {"csrf_token": token, "body": "👍🏽" * 300, "channel_ids": [str(masto_channel.id)]}
    body = page(signed_in.post("/posts/counter", data=data, headers=HX))
    assert re.search(r'class="limit"[^>]*>Masto:\s+300 / 500', body), body
