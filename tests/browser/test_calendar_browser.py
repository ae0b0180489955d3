"""The calendar in a real browser: a recurring post's occurrences on the month, one dragged
to another day (and published at its new time only, by the real worker, to a local
webhook), an hour slot in the week view, the keyboard "Move to…" with Undo, HTMX
navigation with the back button, and the phone layout. Screenshots in test-artifacts/."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.helpers import calendar_post, screenshot
from webapp.extensions import db
from webapp.models import Delivery

pytestmark = pytest.mark.browser

BERLIN = ZoneInfo("Europe/Berlin")


def deliveries(post_id: int) -> list:
    """The post's deliveries as plain rows (id, due_at, status). SQLite transactions here
    take the write lock at BEGIN, so the test ends its own at once (and must not touch
    ORM objects afterwards) or the live server would wait for it."""
    db.session.rollback()
    rows = db.session.execute(select(Delivery.id, Delivery.due_at, Delivery.status)
                              .where(Delivery.post_id == post_id)
                              .order_by(Delivery.due_at)).all()
    db.session.rollback()
    return rows


def test_drag_an_occurrence_to_another_day_and_it_goes_out_then(signed_in, api, hook_channel,
                                                                 webhook, runner):
    page = signed_in
    # A daily post whose first occurrence is tomorrow, a little after this moment's time of
    # day: dragged onto today (the month view keeps the time of day), it falls due in
    # seconds, and the worker must send it then — and not tomorrow.
    soon = datetime.now(BERLIN).replace(microsecond=0) + timedelta(seconds=40)
    first = soon + timedelta(days=1)
    post = calendar_post(api, hook_channel["id"], first.replace(tzinfo=None).isoformat(), "daily",
                    title="Daily digest")
    before = deliveries(post["id"])
    assert len(before) >= 6 and all(d.status == "pending" for d in before)

    page.goto(f"/calendar?view=month&date={soon.date().isoformat()}")
    expect(page.locator("#cal-title")).to_have_text(f"{soon:%B %Y}")
    occurrences = page.locator(".cal-item", has_text="Daily digest")
    expect(occurrences.first).to_be_visible()
    shown = occurrences.count()
    grid_end = datetime.fromisoformat(
        page.locator(".cal-day").last.get_attribute("data-date")).date()
    assert shown == (grid_end - first.date()).days + 1  # every day from tomorrow on
    expect(page.locator(f'.cal-day[data-date="{soon.date()}"] .cal-item')).to_have_count(0)
    tomorrow = page.locator(f'.cal-day[data-date="{first.date()}"] .cal-item')
    expect(tomorrow).to_have_count(1)
    expect(tomorrow).to_contain_text(f"{first:%H:%M}")
    expect(tomorrow).to_contain_text("Hook")
    screenshot(page, "calendar-month")

    # Dragged by its handle (a person's gradual drag works from anywhere on the item).
    tomorrow.locator(".cal-grip").drag_to(page.locator(f'.cal-day[data-date="{soon.date()}"]'))
    message = page.locator("#cal-message")
    expect(message).to_contain_text("Moved this occurrence of “Daily digest”")
    expect(message).to_contain_text(f"{soon:%H:%M}")
    expect(message.get_by_role("button", name="Undo")).to_be_visible()
    # The calendar refreshed itself: the occurrence is on today now.
    expect(page.locator(f'.cal-day[data-date="{soon.date()}"] .cal-item')).to_have_count(1)
    expect(page.locator(f'.cal-day[data-date="{first.date()}"] .cal-item')).to_have_count(0)
    screenshot(page, "calendar-month-moved")

    after = deliveries(post["id"])
    moved = [d for d in after if d.due_at.astimezone(BERLIN).date() == soon.date()]
    assert len(moved) == 1 and moved[0].due_at == soon.astimezone(UTC)
    assert not [d for d in after if d.due_at == first.astimezone(UTC)]
    assert len(after) == len(before)

    runner.until(lambda: len(webhook.posts("/hook")) >= 1, timeout=90, plan=True)
    (got,) = webhook.posts("/hook")
    assert got.headers["X-Herald-Delivery"] == str(moved[0].id)
    assert got.at >= soon.timestamp()
    runner.step()  # nothing else is due: tomorrow's slot went with the move
    assert len(webhook.posts("/hook")) == 1
    assert [d.status for d in deliveries(post["id"]) if d.id == moved[0].id] == ["published"]


def test_drag_to_an_hour_in_the_week_view(signed_in, api, hook_channel):
    page = signed_in
    day = datetime.now(BERLIN).date() + timedelta(days=2)
    post = calendar_post(api, hook_channel["id"], f"{day}T09:00", title="Week post")
    page.goto(f"/calendar?view=week&date={day}&tz=Europe/Berlin")
    item = page.locator(f'td[data-date="{day}"][data-hour="9"] .cal-item')
    expect(item).to_contain_text("Week post")
    item.evaluate("el => el.scrollIntoView({block: 'start'})")  # 09:00 and 15:00 in view
    item.locator(".cal-grip").drag_to(page.locator(f'td[data-date="{day}"][data-hour="15"]'))
    expect(page.locator("#cal-message")).to_contain_text("Moved “Week post” to")
    expect(page.locator(f'td[data-date="{day}"][data-hour="15"] .cal-item')).to_contain_text(
        "15:00")
    screenshot(page, "calendar-week")
    (delivery,) = [d for d in deliveries(post["id"]) if d.status == "pending"]
    assert delivery.due_at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") == f"{day} 15:00"


def test_move_with_the_keyboard_and_undo(signed_in, api, hook_channel):
    page = signed_in
    day = datetime.now(BERLIN).date() + timedelta(days=3)
    post = calendar_post(api, hook_channel["id"], f"{day}T10:00", "weekly", title="Keyboard post")
    page.goto(f"/calendar?view=day&date={day}")
    item = page.locator(".cal-item", has_text="Keyboard post")
    move = item.get_by_role("button", name=re.compile("Move to…"))
    move.focus()
    page.keyboard.press("Enter")
    when = page.get_by_label(re.compile("Move to"))
    expect(when).to_be_focused()
    expect(when).to_have_value(f"{day}T10:00")
    panel = page.locator("#cal-panel")
    expect(panel).to_contain_text("Moves this occurrence only")
    expect(panel.get_by_role("link", name="Edit the post")).to_have_attribute(
        "href", f"/posts/{post['id']}/edit")
    screenshot(page, "calendar-panel")

    # A time in the past is refused, visibly, and nothing moves.
    when.fill(f"{day - timedelta(days=10)}T10:00")
    when.press("Enter")
    expect(page.locator("#cal-message [role=alert]")).to_contain_text("is in the past")
    assert [d.due_at.astimezone(BERLIN).strftime("%H:%M")
            for d in deliveries(post["id"])][:1] == ["10:00"]

    when.fill(f"{day}T17:45")
    when.press("Enter")
    message = page.locator("#cal-message")
    expect(message).to_contain_text("Moved this occurrence of “Keyboard post”")
    expect(item).to_contain_text("17:45")
    expect(page.get_by_label(re.compile("Move to"))).to_have_value(f"{day}T17:45")
    first = deliveries(post["id"])[0]
    assert first.due_at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") == f"{day} 17:45"
    screenshot(page, "calendar-moved-message")

    undo = message.get_by_role("button", name="Undo")
    undo.focus()
    page.keyboard.press("Enter")
    expect(message).to_contain_text("Undone.")
    expect(item).to_contain_text("10:00")
    first = deliveries(post["id"])[0]
    assert first.due_at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") == f"{day} 10:00"


def test_navigation_filters_and_the_back_button(signed_in, api, hook_channel):
    page = signed_in
    day = datetime.now(BERLIN).date() + timedelta(days=1)
    calendar_post(api, hook_channel["id"], f"{day}T08:00", "weekly", title="Weekly")
    page.goto(f"/calendar?date={day}")
    title = page.locator("#cal-title")
    expect(title).to_have_text(f"{day:%B %Y}")
    page.get_by_role("link", name="Next →").click()
    following = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    expect(title).to_have_text(f"{following:%B %Y}")
    expect(page).to_have_url(re.compile(rf"date={following}"))
    page.get_by_role("link", name="Week", exact=True).click()
    expect(title).to_contain_text("Week")
    expect(page).to_have_url(re.compile(r"view=week"))
    page.get_by_label("Time zone").select_option("America/New_York")
    expect(page.locator("#cal-summary")).to_contain_text("times in America/New_York")
    expect(page).to_have_url(re.compile(r"tz=America/New_York"))
    assert "channel=" not in page.url  # the tidy address, without empty filters
    page.get_by_label("Status").select_option("failed")
    expect(page.locator(".cal-item")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"status=failed"))

    page.go_back()
    expect(page).not_to_have_url(re.compile(r"status=failed"))
    expect(page.get_by_label("Status")).to_have_value("")
    page.go_back()
    page.go_back()
    expect(title).to_have_text(f"{following:%B %Y}")
    page.go_back()
    expect(title).to_have_text(f"{day:%B %Y}")


def test_a_filter_changed_the_moment_the_calendar_is_swapped_still_applies(signed_in):
    """The second of two quick changes lands while htmx swaps in the answer to the first:
    the new form must already listen (htmx wires swapped content up when it settles)."""
    page = signed_in
    page.goto("/calendar")
    # The next task after the swap: before a settle delay would have ended.
    page.evaluate("""() => document.addEventListener("htmx:afterSwap", () => setTimeout(() => {
        const status = document.getElementById("cal-status");
        status.value = "failed";
        status.dispatchEvent(new Event("change", {bubbles: true}));
    }), {once: true})""")
    page.get_by_label("Time zone").select_option("America/New_York")
    expect(page).to_have_url(re.compile(r"status=failed"))
    expect(page.locator("#cal-summary")).to_contain_text("matching the filters")


def test_the_month_is_a_list_of_days_on_a_phone(browser, live_server, admin, api,
                                                 hook_channel):
    day = datetime.now(BERLIN).date() + timedelta(days=1)
    calendar_post(api, hook_channel["id"], f"{day}T08:30", "weekly", title="Phone post")
    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  base_url=live_server, timezone_id="Europe/Berlin")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto("/login")
        page.get_by_label("E-mail").fill("admin@example.com")
        page.get_by_label("Password").fill("correct horse")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")
        page.goto(f"/calendar?date={day}")
        expect(page.locator(".cal-weekdays")).to_be_hidden()
        days = page.locator(".cal-day:visible")
        # Only the month's days with posts (and today) are listed, one under the other.
        in_month = [d for d in (day + timedelta(weeks=n) for n in range(6))
                    if d.month == day.month]
        assert days.count() in (len(in_month), len(in_month) + 1)
        expect(page.locator(f'.cal-day[data-date="{day}"] .cal-wd')).to_be_visible()
        box = page.locator(f'.cal-day[data-date="{day}"]').bounding_box()
        assert box["width"] > 300
        expect(page.locator(f'.cal-day[data-date="{day}"]').get_by_role(
            "button", name=re.compile("Move to…"))).to_be_visible()
        screenshot(page, "calendar-phone")
        page.locator(f'.cal-day[data-date="{day}"] .cal-open').click()
        expect(page.locator("#cal-panel")).to_contain_text("Phone post")
        screenshot(page, "calendar-phone-panel")
    finally:
        context.close()


def test_every_status_reads_without_colour(signed_in, api, hook_channel, admin):
    from webapp.models import Campaign, Channel, Post
    from webapp.services import posts as post_service

    page = signed_in
    day = datetime.now(BERLIN).date() + timedelta(days=2)
    second = Channel(workspace_id=admin.memberships[0].workspace_id, name="Newsletter",
                     platform="webhook", color="#10b981",
                     config={"url": hook_channel["config"]["url"]})
    campaign = Campaign(workspace_id=admin.memberships[0].workspace_id, name="Launch week",
                        color="#b45309")
    db.session.add_all([second, campaign])
    db.session.commit()
    ids = {}
    for n, (title, status) in enumerate([("Went out", "published"), ("Broke", "failed"),
                                         ("Called off", "cancelled"), ("On hold", "paused"),
                                         ("Coming up", "scheduled")]):
        channels = [hook_channel["id"], second.id] if n % 2 else [hook_channel["id"]]
        response = api.post("/posts", json={
            "title": title, "body": title, "channel_ids": channels,
            "campaign_id": campaign.id if n < 2 else None,
            "schedule": {"at": f"{day}T{9 + n:02d}:00", "timezone": "Europe/Berlin"}})
        assert response.status_code == 201, response.json
        ids[status] = response.json["id"]
    db.session.rollback()
    for status in ("published", "failed", "cancelled"):
        for row in db.session.scalars(select(Delivery).where(Delivery.post_id == ids[status])):
            row.status, row.attempts = status, 1
    post_service.pause(db.session.get(Post, ids["paused"]), admin.id)
    db.session.commit()
    db.session.rollback()

    page.goto(f"/calendar?view=week&date={day}")
    for status, label in (("published", "Published"), ("failed", "Failed"),
                          ("cancelled", "Cancelled"), ("paused", "Paused"),
                          ("scheduled", "Scheduled")):
        item = page.locator(f".cal-item.st-{status}")
        expect(item).to_have_count(1)
        expect(item.locator(".visually-hidden").first).to_have_text(f"{label}: ")
    expect(page.locator(".cal-item.st-scheduled .cal-grip")).to_have_count(1)
    expect(page.locator(".cal-grip")).to_have_count(1)  # only what can still move
    screenshot(page, "calendar-statuses")
    page.get_by_label("Colours by").select_option("campaign")
    expect(page).to_have_url(re.compile(r"color=campaign"))
    page.goto(f"/calendar?view=month&date={day}&color=campaign")
    screenshot(page, "calendar-month-campaigns")


def test_escape_in_the_date_time_input_closes_the_panel(signed_in, api, hook_channel):
    page = signed_in
    day = datetime.now(BERLIN).date() + timedelta(days=3)
    calendar_post(api, hook_channel["id"], f"{day}T10:00", title="Escape post")
    page.goto(f"/calendar?view=day&date={day}")
    item = page.locator(".cal-item", has_text="Escape post")
    item.get_by_role("button", name=re.compile("Move to…")).click()
    when = page.get_by_label(re.compile("Move to"))
    expect(when).to_be_focused()
    when.press("Escape")
    expect(page.locator("#cal-panel .cal-panel-body")).to_have_count(0)
    expect(item.locator("a, button").first).to_be_focused()


def focused(page) -> dict:
    """What has the keyboard focus: a cell's date (and hour) or a post's link text."""
    return page.evaluate("""() => {
      const el = document.activeElement;
      return {date: el.getAttribute("data-date"), hour: el.getAttribute("data-hour"),
              post: el.matches(".cal-open") ? el.querySelector(".cal-what").textContent : null};
    }""")


def tab_stops(grid) -> int:
    """How many of the grid's cells, links and buttons the Tab key goes to (but the stop's
    own "Move to…" button, when the stop is a post)."""
    return grid.evaluate("""g => [...g.querySelectorAll("[role=gridcell], td, a, button")]
        .filter((el) => el.tabIndex >= 0 && !el.matches(".cal-move")).length""")


def test_arrow_keys_move_in_the_month_and_it_is_one_tab_stop(signed_in, api, hook_channel):
    page = signed_in
    # The 8th of next month: in the grid's second or third row, with a week below it.
    day = (datetime.now(BERLIN).date().replace(day=1) + timedelta(days=32)).replace(day=8)
    later = day + timedelta(days=7)
    for at, title in ((f"{day}T09:00", "First post"), (f"{day}T10:00", "Second post"),
                      (f"{later}T09:00", "Next week")):
        calendar_post(api, hook_channel["id"], at, title=title)
    page.goto(f"/calendar?view=month&date={day}")
    grid = page.get_by_role("grid", name=f"{day:%B %Y}")
    expect(grid.locator(".cal-item")).to_have_count(3)
    assert tab_stops(grid) == 1

    # From the last control before the grid, Tab goes into it, and the next Tab out of it.
    page.get_by_role("button", name="Apply").focus()
    page.keyboard.press("Tab")
    assert grid.evaluate("g => g.contains(document.activeElement)")
    page.keyboard.press("Tab")
    assert not grid.evaluate("g => g.contains(document.activeElement)")

    cell = grid.locator(f'[data-date="{day}"]')
    cell.focus()
    expect(cell).to_have_accessible_name(
        re.compile(rf"^{day:%A} {day.day} {day:%B %Y} 2 posts .*First post.*Second post"))
    keys = [("ArrowDown", {"post": "First post"}), ("ArrowDown", {"post": "Second post"}),
            ("ArrowDown", {"date": str(later)}), ("ArrowUp", {"post": "Second post"}),
            ("ArrowRight", {"date": str(day + timedelta(days=1))}),
            ("ArrowLeft", {"date": str(day)}),
            ("Home", {"date": str(day - timedelta(days=day.weekday()))}),
            ("End", {"date": str(day + timedelta(days=6 - day.weekday()))}),
            ("ArrowRight", {"date": str(day + timedelta(days=7 - day.weekday()))}),
            ("ArrowUp", {"date": str(day + timedelta(days=-day.weekday()))}),
            ("ArrowLeft", {"date": str(day - timedelta(days=day.weekday() + 1))})]
    for key, where in keys:
        page.keyboard.press(key)
        now = focused(page)
        assert {k: now[k] for k in where} == where, (key, where, now)
        assert tab_stops(grid) == 1, key

    # Tab leaves and Shift+Tab comes back to the same day.
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    assert focused(page)["date"] == str(day - timedelta(days=day.weekday() + 1))

    # At the end of the grid focus stays.
    grid.locator(".cal-day").last.focus()
    last = focused(page)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    assert focused(page) == last

    # Enter on a post opens it in the panel; Escape gives the focus back to the post.
    grid.locator(f'[data-date="{day}"]').focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#cal-panel h2")).to_have_text("First post")
    expect(page.locator("#cal-panel h2")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#cal-panel .cal-panel-body")).to_have_count(0)
    assert focused(page)["post"] == "First post"
    # The post's own "Move to…" is the one other Tab stop while the post is the stop.
    page.keyboard.press("Tab")
    expect(grid.get_by_role("button", name=re.compile("Move to… .“First post”"))).to_be_focused()

    # Enter on a day opens the day.
    grid.locator(f'[data-date="{later}"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("#cal-title")).to_contain_text(f"{later.day:02d}")
    expect(page).to_have_url(re.compile(rf"view=day&date={later}"))


def test_arrow_keys_in_the_week_move_by_day_and_by_hour(signed_in, api, hook_channel):
    page = signed_in
    day = datetime.now(BERLIN).date() + timedelta(days=14)
    calendar_post(api, hook_channel["id"], f"{day}T09:00", title="Nine")
    calendar_post(api, hook_channel["id"], f"{day}T10:00", title="Ten")
    page.goto(f"/calendar?view=week&date={day}")
    grid = page.get_by_role("grid")
    expect(grid.locator(".cal-item")).to_have_count(2)
    assert tab_stops(grid) == 1
    page.get_by_role("button", name="Apply").focus()
    page.keyboard.press("Tab")
    assert focused(page)["post"] == "Nine"
    monday = day - timedelta(days=day.weekday())
    keys = [("ArrowUp", {"date": str(day), "hour": "9"}),
            ("ArrowUp", {"date": str(day), "hour": "8"}),
            ("ArrowDown", {"date": str(day), "hour": "9"}),
            ("ArrowDown", {"post": "Nine"}), ("ArrowDown", {"date": str(day), "hour": "10"}),
            ("ArrowDown", {"post": "Ten"}), ("ArrowDown", {"date": str(day), "hour": "11"}),
            ("Home", {"date": str(monday), "hour": "11"}),
            ("ArrowLeft", {"date": str(monday), "hour": "11"}),  # the week's edge: it stays
            ("End", {"date": str(monday + timedelta(days=6)), "hour": "11"}),
            ("ArrowRight", {"date": str(monday + timedelta(days=6)), "hour": "11"}),
            ("ArrowLeft", {"date": str(monday + timedelta(days=5)), "hour": "11"})]
    for key, where in keys:
        page.keyboard.press(key)
        now = focused(page)
        assert {k: now[k] for k in where} == where, (key, where, now)
    saturday = monday + timedelta(days=5)
    expect(page.locator(f'td[data-date="{saturday}"][data-hour="11"]')).to_have_accessible_name(
        f"{saturday:%A} {saturday.day} {saturday:%B %Y}, 11:00")
    expect(page.locator(f'td[data-date="{day}"][data-hour="9"]')).to_have_accessible_name(
        re.compile(rf"^{day:%A} {day.day} {day:%B %Y}, 09:00: .*Nine"))
    page.keyboard.press("Enter")  # the day of the cell
    expect(page).to_have_url(re.compile(rf"view=day&date={saturday}"))
