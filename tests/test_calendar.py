"""The calendar (issue 3), server side: pages and fragments, occurrences (materialised and
expanded from recurring rules), filters, zones, the side panel and moves — with undo, DST
warnings, refusals, roles, CSRF and workspaces. Real app, database and Redis."""

import html
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import add_channel, make_post, member, workspace_id
from tests.helpers import csrf_token, show, sign_in
from tests.helpers import page as text
from webapp.extensions import db
from webapp.models import Campaign, Delivery, Post, Schedule, User
from webapp.services import posts as post_service

BERLIN = ZoneInfo("Europe/Berlin")
REF = re.compile(r'<li class="cal-item[^"]*"[^>]*data-ref="([^"]+)"')


# Helpers ------------------------------------------------------------------------------------

def local_day(days: int) -> date:
    return datetime.now(BERLIN).date() + timedelta(days=days)


def at(days: int, clock: str = "09:00") -> str:
    return f"{local_day(days).isoformat()}T{clock}"


def calendar_post(user: User, channel_ids, at_local: str, recurrence=None, **fields) -> Post:
    """A post at a Berlin wall time (once, or recurring by `recurrence`)."""
    return make_post(user, channel_ids, **{
        "body": "Hello from the calendar",
        "schedule": {"at": at_local, "timezone": "Europe/Berlin", "recurrence": recurrence},
        **fields})


def deliveries(post_id: int) -> list[Delivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(Delivery).where(Delivery.post_id == post_id)
                                   .order_by(Delivery.due_at, Delivery.channel_id)))


def berlin(instant: datetime) -> str:
    return instant.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


def refs(body: str) -> list[str]:
    return REF.findall(body)


def week_of(day: date) -> str:
    return f"/calendar?view=week&date={day.isoformat()}&tz=Europe/Berlin"


def move(client, ref: str, to: str, tz: str = "Europe/Berlin", *, hx: bool = True, **extra):
    headers = {"X-CSRFToken": csrf_token(client, "/calendar")}
    if hx:
        headers["HX-Request"] = "true"
    return client.post("/calendar/move", data={"ref": ref, "to": to, "tz": tz, **extra},
                       headers=headers)


def undo_fields(body: str) -> dict:
    form = re.search(r'<form[^>]*action="/calendar/move"[^>]*class="inline">(.*?)</form>', body,
                     re.S)
    assert form, body
    return {name: html.unescape(value) for name, value in
            re.findall(r'name="(\w+)" value="([^"]*)"', form.group(1)) if name != "csrf_token"}


@pytest.fixture
def second(admin, channel):
    return add_channel(admin, "Newsletter", color="#10b981",
                       config={"url": channel.config["url"]})


# Page and fragment ----------------------------------------------------------------------------

def test_the_page_and_its_fragment_come_from_one_template(signed_in, admin, channel):
    calendar_post(admin, [channel.id], at(1), title="Launch")
    page = signed_in.get("/calendar")
    assert page.status_code == 200 and "HX-Request" in page.headers["Vary"]
    body = text(page)
    assert body.startswith("<!doctype html>") and 'id="calendar"' in body
    assert "Launch" in body and "calendar.js" in body and "calendar.css" in body

    fragment = signed_in.get("/calendar", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    part = text(fragment).strip()
    assert part.startswith('<section id="calendar"') and "<html" not in part
    assert "Launch" in part

    boosted = signed_in.get("/calendar", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert text(boosted).startswith("<!doctype html>")


def test_the_address_says_view_date_zone_and_filters(signed_in, admin, channel):
    body = show(signed_in, "/calendar?view=week&date=2026-12-07&tz=America/New_York&status=failed")
    assert "Week 50: 07 Dec – 13 Dec 2026" in body
    # Navigation keeps the zone and filters, pushes the address, and targets the calendar.
    prev = re.search(r'<a id="cal-prev"[^>]*href="([^"]+)"[^>]*hx-push-url="true"', body)
    assert prev and html.unescape(prev.group(1)) == (
        "/calendar?view=week&date=2026-11-30&tz=America/New_York&status=failed")
    nxt = re.search(r'<a id="cal-next"[^>]*href="([^"]+)"', body).group(1)
    assert "date=2026-12-14" in nxt
    month = re.search(r'<a id="cal-view-month"[^>]*href="([^"]+)"', body).group(1)
    assert "view=month" in month and "status=failed" in month
    # The filter form's answer pushes the tidy address, without empty fields.
    response = signed_in.get(
        "/calendar?view=week&date=2026-12-07&tz=UTC&channel=&status=&campaign=",
        headers={"HX-Request": "true", "HX-Trigger": "cal-filters"})
    assert response.headers["HX-Push-Url"] == "/calendar?view=week&date=2026-12-07&tz=UTC"


@pytest.mark.parametrize("view, title", [
    ("month", "December 2026"), ("week", "Week 49"), ("day", "Wednesday 02 December 2026")])
def test_month_week_and_day_views(signed_in, view, title):
    body = show(signed_in, f"/calendar?view={view}&date=2026-12-02&tz=Europe/Berlin")
    assert title in body
    assert 'aria-current="page">' + view.capitalize() in body
    if view == "month":
        assert body.count('class="cal-day') == 42 and 'data-date="2026-11-30"' in body
    else:
        assert body.count('class="cal-slot') == 24 * (7 if view == "week" else 1)


# What shows -----------------------------------------------------------------------------------

def test_one_item_per_occurrence_lists_its_channels(signed_in, admin, channel, second):
    post = calendar_post(admin, [channel.id, second.id], at(1, "09:30"), title="Two channels")
    assert len(deliveries(post.id)) == 2
    body = show(signed_in, week_of(local_day(1)))
    items = [r for r in refs(body) if r.startswith(f"d-{post.id}-")]
    assert len(items) == 1
    item = re.search(rf'<li class="cal-item st-scheduled" data-ref="{items[0]}".*?</li>', body,
                     re.S).group(0)
    assert re.search(r'<svg class="cal-tint"[^>]*><rect [^>]*fill="#[0-9a-f]{6}"', item)
    assert ">09:30</time>" in item and "Two channels" in item
    assert "Hook</span>" in item and "Newsletter</span>" in item
    assert '<span class="visually-hidden">Scheduled: </span>' in item  # not colour only


def test_recurring_occurrences_are_expanded_beyond_the_materialised_ones(signed_in, admin,
                                                                         channel):
    post = calendar_post(admin, [channel.id], at(1, "10:00"), "daily", title="Daily tip")
    materialised = {d.due_at for d in deliveries(post.id)}
    # The planner writes a week ahead of now; the first is tomorrow in Berlin.
    assert 6 <= len(materialised) <= 8
    # Far ahead: only expanded occurrences, one a day at 10:00 Berlin.
    later = local_day(22)
    body = show(signed_in, week_of(later))
    items = [r for r in refs(body) if r.startswith("s-")]
    assert len(items) == 7 and all(r.split("-")[1] == str(post.schedules[0].id) for r in items)
    assert body.count(">10:00</time>") == 7
    # Across the boundary: each day exactly once, whether materialised or not.
    body = show(signed_in, f"/calendar?view=month&date={local_day(5)}&tz=Europe/Berlin")
    days = re.findall(r'data-date="([\d-]+)"[^>]*>\s*<h3.*?</h3>\s*'
                      r'(?:<ul class="cal-items">(.*?)</ul>)?', body, re.S)
    first = max(local_day(1), date.fromisoformat(days[0][0]))
    last = date.fromisoformat(days[-1][0])
    occurrences = refs(body)
    assert len(occurrences) == (last - first).days + 1 == len(set(occurrences))
    for day, items_html in days:
        if first <= date.fromisoformat(day):
            assert items_html.count('class="cal-item') == 1, day
    d_refs = [r for r in occurrences if r.startswith("d-")]
    assert {datetime.fromtimestamp(int(r.rsplit("-", 1)[1]), UTC) for r in d_refs} \
        == {m for m in materialised if first <= m.astimezone(BERLIN).date() <= last}


def test_a_paused_recurring_post_shows_paused(signed_in, admin, channel):
    post = calendar_post(admin, [channel.id], at(1, "08:00"), "daily", title="Paused one")
    post_service.pause(post, admin.id)
    body = show(signed_in, week_of(local_day(15)))
    assert body.count('class="cal-item st-paused"') == 7
    assert 'draggable="true"' not in re.search(r'<li class="cal-item st-paused".*?</li>', body,
                                        re.S).group(0)


def test_statuses_and_filters(signed_in, admin, channel, second):
    campaign = Campaign(workspace_id=workspace_id(admin), name="Winter sale", color="#f59e0b")
    db.session.add(campaign)
    db.session.commit()
    sale = calendar_post(admin, [channel.id], at(2, "11:00"), title="Sale post",
                         campaign_id=campaign.id)
    news = calendar_post(admin, [second.id], at(2, "12:00"), title="News post")
    failed = calendar_post(admin, [channel.id], at(2, "13:00"), title="Broken post")
    row = deliveries(failed.id)[0]
    row.status, row.attempts, row.last_error = "failed", 3, "HTTP 500"
    db.session.commit()
    base = week_of(local_day(2))

    body = show(signed_in, base)
    assert all(t in body for t in ("Sale post", "News post", "Broken post"))
    assert '<li class="cal-item st-failed"' in body and "✕" in body

    body = show(signed_in, f"{base}&channel={second.id}")
    assert "News post" in body and "Sale post" not in body and "Broken post" not in body
    assert f'<option value="{second.id}" selected>' in body

    body = show(signed_in, f"{base}&status=failed")
    assert "Broken post" in body and "Sale post" not in body and "News post" not in body

    body = show(signed_in, f"{base}&campaign={campaign.id}")
    assert "Sale post" in body and "News post" not in body

    # Colours follow the campaign when asked.
    body = show(signed_in, f"{base}&color=campaign")
    item = re.search(rf'<li class="cal-item[^"]*" data-ref="d-{sale.id}-[^>]*>'
                     r'<svg class="cal-tint"[^>]*><rect [^>]*fill="([^"]+)"', body)
    assert item.group(1) == "#f59e0b"
    assert news.id


def test_times_follow_the_zone_switch(signed_in, admin, channel):
    calendar_post(admin, [channel.id], at(3, "09:00"), title="Morning in Berlin")
    berlin_body = show(signed_in, week_of(local_day(3)))
    assert ">09:00</time>" in berlin_body and "times in Europe/Berlin" in berlin_body
    ny = show(signed_in, f"/calendar?view=week&date={local_day(3).isoformat()}"
                         "&tz=America/New_York")
    offset = (datetime.fromisoformat(at(3)).replace(tzinfo=BERLIN)
              .astimezone(ZoneInfo("America/New_York")))
    assert f">{offset:%H:%M}</time>" in ny and "times in America/New_York" in ny
    assert '<option value="America/New_York" selected>' in ny


@pytest.mark.parametrize("query, message", [
    ("tz=Mars/Olympus_Mons", "Unknown time zone “Mars/Olympus_Mons”"),
    ("tz=../../etc/passwd", "Unknown time zone"),
    ("tz=%00", "Unknown time zone"),
    ("date=2026-02-30", "is not a date the calendar shows"),
    ("date=99999-01-01", "is not a date the calendar shows"),
    ("view=year", "Unknown view"),
    ("status=lost", "Unknown status"),
    ("channel=abc", "Unknown channel"),
    ("channel=99999", "Unknown channel 99999"),
    ("campaign=-1", "Unknown campaign"),
    ("color=red", "Colours follow"),
])
def test_bad_addresses_get_a_clear_message(signed_in, query, message):
    body = show(signed_in, f"/calendar?{query}", code=400)
    assert message in html.unescape(body)
    assert 'id="calendar"' in body  # the calendar still shows, with the defaults
    if query.startswith("tz="):
        assert "times in Europe/Berlin" in body


def test_another_workspaces_items_never_show_or_move(signed_in, admin, channel):
    outsider = member("admin", "Elsewhere", timezone="Europe/Berlin")
    theirs = add_channel(outsider, "Theirs")
    secret = calendar_post(outsider, [theirs.id], at(2, "09:00"), title="Secret plans")
    series = calendar_post(outsider, [theirs.id], at(1, "07:00"), "daily", title="Secret series")
    due = deliveries(secret.id)[0].due_at
    d_ref = f"d-{secret.id}-{secret.schedules[0].id}-{int(due.timestamp())}"
    later = datetime.fromisoformat(at(20, "07:00")).replace(tzinfo=BERLIN)
    s_ref = f"s-{series.schedules[0].id}-{int(later.timestamp())}"
    for view in ("month", "week", "day"):
        body = show(signed_in, f"/calendar?view={view}&date={local_day(2).isoformat()}")
        assert "Secret" not in body and "Theirs" not in body
    assert "Secret" not in show(signed_in, week_of(local_day(20)))
    for ref in (d_ref, s_ref, "d-1-0-0", "nonsense", "d-99999999999-0-1", "s-1-999999999999"):
        assert signed_in.get(f"/calendar/item?ref={ref}").status_code == 404
        assert move(signed_in, ref, at(4)).status_code == 404
        assert move(signed_in, ref, at(4), hx=False).status_code == 404
    assert [d.due_at for d in deliveries(secret.id)] == [
        datetime.fromisoformat(at(2)).replace(tzinfo=BERLIN).astimezone(UTC)]
    db.session.expire_all()
    assert [s.status for s in db.session.get(Post, series.id).schedules] == ["active"]


# The side panel --------------------------------------------------------------------------------

def test_an_item_opens_in_the_side_panel(signed_in, admin, channel):
    post = calendar_post(admin, [channel.id], at(2, "14:15"), title="Panel post",
                         body="The whole text of the post.")
    ref = refs(show(signed_in, week_of(local_day(2))))[0]
    panel = signed_in.get(f"/calendar/item?ref={ref}&tz=Europe/Berlin",
                          headers={"HX-Request": "true"})
    assert panel.status_code == 200
    body = text(panel)
    assert "<html" not in body and f'data-ref="{ref}"' in body
    assert "The whole text of the post." in body and "Hook" in body and "pending" in body
    assert f'href="/posts/{post.id}/edit"' in body and f'href="/posts/{post.id}"' in body
    assert 'type="datetime-local" name="to"' in body and 'value="' + at(2, "14:15") + '"' in body
    assert '<label for="cal-move-to">' in body
    assert "The post happens once" in body
    # "Move to…" focuses the time input; without HTMX the panel is a page of its own.
    assert "autofocus" in re.search(r'<input id="cal-move-to"[^>]*>',
                                    show(signed_in, f"/calendar/item?ref={ref}&move=1",
                                         headers={"HX-Request": "true"})).group(0)
    full = show(signed_in, f"/calendar/item?ref={ref}")
    assert full.startswith("<!doctype html>") and "Panel post" in full


def test_an_occurrence_not_yet_planned_says_the_series_moves(signed_in, admin, channel):
    calendar_post(admin, [channel.id], at(1, "10:00"), "weekly", title="Weekly")
    ref = next(r for r in refs(show(signed_in, week_of(local_day(29)))) if r.startswith("s-"))
    body = show(signed_in, f"/calendar/item?ref={ref}", headers={"HX-Request": "true"})
    assert "moving it moves the whole series" in body and "every week" in body
    assert "Not planned in detail yet" in body


# Moving -----------------------------------------------------------------------------------------

def test_move_a_one_off_post_and_undo(signed_in, admin, channel):
    post = calendar_post(admin, [channel.id], at(2, "09:00"), title="Movable")
    ref = refs(show(signed_in, week_of(local_day(2))))[0]
    response = move(signed_in, ref, at(4, "16:30"))
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "calendar-changed"
    body = html.unescape(text(response))
    assert "Moved “Movable” to" in body and "16:30" in body and ">Undo</button>" in body
    (delivery,) = [d for d in deliveries(post.id) if d.status == "pending"]
    assert berlin(delivery.due_at) == at(4, "16:30")
    live = [s for s in db.session.get(Post, post.id).schedules if s.status == "active"]
    assert len(live) == 1 and live[0].start_local.isoformat().startswith(at(4, "16:30"))
    # The calendar shows it at its new place only.
    assert "Movable" not in show(signed_in, f"/calendar?view=day&date={local_day(2)}")
    assert "Movable" in show(signed_in, f"/calendar?view=day&date={local_day(4)}")

    fields = undo_fields(text(response))
    assert fields["undo"] == "1" and fields["to"].startswith(at(2, "09:00"))
    again = signed_in.post("/calendar/move", data=fields,
                           headers={"HX-Request": "true",
                                    "X-CSRFToken": csrf_token(signed_in, "/calendar")})
    assert again.status_code == 200 and "Undone." in text(again) and ">Redo</button>" in text(again)
    (delivery,) = [d for d in deliveries(post.id) if d.status == "pending"]
    assert berlin(delivery.due_at) == at(2, "09:00")


def test_a_time_in_the_past_is_refused_and_nothing_changes(signed_in, admin, channel):
    post = calendar_post(admin, [channel.id], at(2, "09:00"), title="Stays")
    ref = refs(show(signed_in, week_of(local_day(2))))[0]
    for to in (at(-1, "09:00"), (datetime.now(BERLIN) - timedelta(minutes=1))
               .strftime("%Y-%m-%dT%H:%M")):
        response = move(signed_in, ref, to)
        assert response.status_code == 422
        body = html.unescape(text(response))
        assert "Not moved:" in body and "is in the past" in body
        assert "HX-Trigger" not in response.headers
    for to in ("", "tomorrow", "2026-13-45T99:00", "9999-12-31T23:59", "0001-01-01T00:00"):
        response = move(signed_in, ref, to)
        assert response.status_code == 422 and "Not moved:" in text(response)
    response = move(signed_in, ref, at(3), tz="Nowhere/City")
    assert response.status_code == 422 and "unknown timezone" in text(response)
    assert [berlin(d.due_at) for d in deliveries(post.id)] == [at(2, "09:00")]
    # Without HTMX the answer is the calendar page with the message.
    page = move(signed_in, ref, at(-1), hx=False)
    assert page.status_code == 422 and page.get_data(as_text=True).startswith("<!doctype html>")
    assert "is in the past" in html.unescape(text(page))


def test_move_one_occurrence_of_a_recurring_post(signed_in, admin, channel, second):
    post = calendar_post(admin, [channel.id, second.id], at(1, "10:00"), "daily", title="Daily")
    schedule = post.schedules[0]
    before = {d.id: d.due_at for d in deliveries(post.id)}
    third = datetime.fromisoformat(at(3, "10:00")).replace(tzinfo=BERLIN).astimezone(UTC)
    ref = f"d-{post.id}-{schedule.id}-{int(third.timestamp())}"
    assert ref in refs(show(signed_in, week_of(local_day(3))))
    response = move(signed_in, ref, at(3, "18:45"))
    assert response.status_code == 200, text(response)
    assert "this occurrence of “Daily”" in html.unescape(text(response))
    assert "the rest of the series stays" in text(response)
    after = {d.id: d.due_at for d in deliveries(post.id)}
    changed = {i for i in before if before[i] != after[i]}
    assert len(changed) == 2 and all(berlin(after[i]) == at(3, "18:45") for i in changed)
    db.session.expire_all()
    assert db.session.get(Schedule, schedule.id).status == "active"  # the series is intact
    day = show(signed_in, f"/calendar?view=day&date={local_day(3).isoformat()}")
    assert ">18:45</time>" in day and ">10:00</time>" not in day
    # Moving it onto another occurrence of the series is refused.
    moved_ref = f"d-{post.id}-{schedule.id}-{int(after[next(iter(changed))].timestamp())}"
    response = move(signed_in, moved_ref, at(4, "10:00"))
    assert response.status_code == 409 and "another occurrence" in text(response)
    later = move(signed_in, moved_ref, at(30, "10:00"))
    assert later.status_code == 409 and "another occurrence" in text(later)


def test_an_occurrence_not_yet_materialised_moves_the_whole_series(signed_in, admin, channel):
    post = calendar_post(admin, [channel.id], at(1, "10:00"), "daily", title="Series")
    old = post.schedules[0]
    far = datetime.fromisoformat(at(20, "10:00")).replace(tzinfo=BERLIN)
    ref = f"s-{old.id}-{int(far.timestamp())}"
    assert ref in refs(show(signed_in, week_of(local_day(20))))
    response = move(signed_in, ref, at(20, "11:30"))
    assert response.status_code == 200, text(response)
    message = html.unescape(text(response))
    assert "Moved the whole series “Series” (every day), 1 hour 30 minutes later" in message
    db.session.expire_all()
    schedules = db.session.get(Post, post.id).schedules
    assert [s.status for s in schedules] == ["cancelled", "active"]
    assert schedules[1].start_local == datetime.fromisoformat(at(1, "11:30"))
    assert schedules[1].rrule == "FREQ=DAILY"
    assert all(berlin(d.due_at).endswith("T11:30") for d in deliveries(post.id)
               if d.status == "pending")
    assert show(signed_in, week_of(local_day(20))).count(">11:30</time>") == 7
    # Undo puts the series back at 10:00.
    again = signed_in.post("/calendar/move", data=undo_fields(text(response)),
                           headers={"HX-Request": "true",
                                    "X-CSRFToken": csrf_token(signed_in, "/calendar")})
    assert again.status_code == 200 and "Undone." in text(again)
    db.session.expire_all()
    live = [s for s in db.session.get(Post, post.id).schedules if s.status == "active"]
    assert len(live) == 1 and live[0].start_local == datetime.fromisoformat(at(1, "10:00"))
    assert show(signed_in, week_of(local_day(20))).count(">10:00</time>") == 7


def test_a_series_keeps_its_count(signed_in, admin, channel):
    post = calendar_post(admin, [channel.id], at(1, "10:00"), "weekly", title="Five weeks",
                         schedule={"at": at(1, "10:00"), "timezone": "Europe/Berlin",
                                   "recurrence": "weekly", "count": 5})
    old = post.schedules[0]
    fourth = datetime.fromisoformat(at(22, "10:00")).replace(tzinfo=BERLIN)
    assert move(signed_in, f"s-{old.id}-{int(fourth.timestamp())}",
                at(23, "10:00")).status_code == 200
    db.session.expire_all()
    live = [s for s in db.session.get(Post, post.id).schedules if s.status == "active"]
    assert live[0].count == 5 and live[0].start_local == datetime.fromisoformat(at(2, "10:00"))


@pytest.mark.parametrize("to, warning", [
    ("2027-03-28T02:30", "does not exist in Europe/Berlin"),
    ("2027-10-31T02:30", "happens twice in Europe/Berlin"),
])
def test_dst_gaps_and_folds_are_reported(signed_in, admin, channel, to, warning):
    post = calendar_post(admin, [channel.id], at(2, "09:00"), "daily", title="Across DST")
    schedule = post.schedules[0]
    second_day = datetime.fromisoformat(at(3, "09:00")).replace(tzinfo=BERLIN)
    response = move(signed_in, f"d-{post.id}-{schedule.id}-{int(second_day.timestamp())}", to)
    assert response.status_code == 200, text(response)
    assert warning in text(response) and '<li class="warning">⚠' in text(response)
    (moved,) = [d for d in deliveries(post.id) if warning in " ".join(d.warnings)]
    expected = "03:30" if "exist" in warning else "02:30"
    assert moved.due_at.astimezone(BERLIN).strftime("%H:%M") == expected
    # The item on the calendar carries the warning too.
    body = show(signed_in, f"/calendar?view=day&date={to[:10]}")
    assert "cal-warn" in body and warning in html.unescape(body)


def test_what_has_been_published_or_is_paused_does_not_move(signed_in, admin, channel):
    done = calendar_post(admin, [channel.id], at(2, "09:00"), title="Done already")
    row = deliveries(done.id)[0]
    row.status, row.attempts = "published", 1
    db.session.commit()
    paused = calendar_post(admin, [channel.id], at(2, "10:00"), title="On hold")
    post_service.pause(paused, admin.id)
    body = show(signed_in, week_of(local_day(2)))
    for title in ("Done already", "On hold"):
        item = re.search(rf'<li class="cal-item[^>]*>(?:(?!</li>).)*{title}.*?</li>', body, re.S)
        assert 'draggable="true"' not in item.group(0) and "Move to…" not in item.group(0)
    done_ref = next(r for r in refs(body) if r.startswith(f"d-{done.id}-"))
    paused_ref = next(r for r in refs(body) if r.startswith(f"d-{paused.id}-"))
    response = move(signed_in, done_ref, at(3))
    assert response.status_code == 409 and "only posts still waiting" in text(response)
    response = move(signed_in, paused_ref, at(3))
    assert response.status_code == 409 and "resume it" in text(response)


def test_the_panel_follows_a_move_made_from_it(signed_in, admin, channel):
    calendar_post(admin, [channel.id], at(2, "09:00"), title="From the panel")
    ref = refs(show(signed_in, week_of(local_day(2))))[0]
    response = move(signed_in, ref, at(2, "20:00"), panel="1")
    body = text(response)
    assert '<div id="cal-panel" hx-swap-oob="innerHTML">' in body
    assert re.search(r'id="cal-move-to"[^>]*value="' + at(2, "20:00"), body)
    assert 'name="panel" value="1"' in body  # Undo refreshes the panel too


# Roles, CSRF -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role, can_move", [
    ("viewer", False), ("editor", True), ("approver", True), ("admin", True)])
def test_role_grid(app, admin, channel, role, can_move):
    post = calendar_post(admin, [channel.id], at(2, "09:00"), title="Team post")
    client = app.test_client()
    sign_in(client, "admin@example.com" if role == "admin"
            else member(role, timezone="Europe/Berlin").email)
    body = show(client, week_of(local_day(2)))
    assert "Team post" in body
    assert ('draggable="true"' in body) is can_move
    assert ("Move to…" in body) is can_move
    assert ("data-drop" in body) is can_move
    ref = refs(body)[0]
    panel = show(client, f"/calendar/item?ref={ref}", headers={"HX-Request": "true"})
    assert ('name="to"' in panel) is can_move
    response = move(client, ref, at(3, "09:00"))
    assert response.status_code == (200 if can_move else 403)
    due = [berlin(d.due_at) for d in deliveries(post.id) if d.status == "pending"]
    assert due == [at(3, "09:00") if can_move else at(2, "09:00")]


def test_a_move_without_the_csrf_token_is_refused(signed_in, admin, channel):
    post = calendar_post(admin, [channel.id], at(2, "09:00"))
    ref = refs(show(signed_in, week_of(local_day(2))))[0]
    for headers, data in (({"HX-Request": "true"}, {}),
                          ({"HX-Request": "true", "X-CSRFToken": "forged"}, {}),
                          ({}, {"csrf_token": "forged"})):
        response = signed_in.post("/calendar/move", data={"ref": ref, "to": at(3), **data},
                                  headers=headers)
        assert response.status_code == 400 and "CSRF" in text(response)
    assert [berlin(d.due_at) for d in deliveries(post.id)] == [at(2, "09:00")]


def test_signed_out_visitors_go_to_sign_in(client, admin):
    response = client.get("/calendar?view=week")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    fragment = client.get("/calendar", headers={"HX-Request": "true"})
    assert fragment.status_code == 401 and fragment.headers["HX-Refresh"] == "true"
    assert client.post("/calendar/move", data={}).status_code in (302, 400)


def test_the_panel_describes_a_rule_as_the_post_page_does(signed_in, admin, channel):
    post = calendar_post(admin, [channel.id], at(1, "10:00"), "FREQ=WEEKLY;BYDAY=MO,TH",
                         title="Twice weekly")
    # A week that begins at least 9 days ahead: beyond the rows written, whatever today is.
    ref = next(r for r in refs(show(signed_in, week_of(local_day(15)))) if r.startswith("s-"))
    body = show(signed_in, f"/calendar/item?ref={ref}", headers={"HX-Request": "true"})
    assert "every week on Mon, Thu" in body and "custom rule" not in body.lower()
    assert "Every week on Mon, Thu" in show(signed_in, f"/posts/{post.id}")
