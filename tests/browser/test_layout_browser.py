"""Layout in a real browser, measured rather than looked at: the calendar's side panel does
not squeeze the month, an item's "Move to…" button leaves its title readable, the week view
does not scroll sideways on a phone, and long webhook URLs wrap inside their channel card.
Screenshots in test-artifacts/."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_calendar_browser import schedule

pytestmark = pytest.mark.browser

BERLIN = ZoneInfo("Europe/Berlin")
PHONE = {"width": 390, "height": 844}


def a_weekday(weekday: int, days_ahead: int = 2):
    """A day at least `days_ahead` from today that falls on `weekday` (0 = Monday)."""
    day = datetime.now(BERLIN).date() + timedelta(days=days_ahead)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


@pytest.fixture
def phone(browser, live_server, admin):
    """A phone-sized page, signed in as the `admin` fixture's user."""
    context = browser.new_context(viewport=PHONE, base_url=live_server,
                                  timezone_id="Europe/Berlin")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/login")
    page.get_by_label("E-mail").fill("admin@example.com")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    yield page
    context.close()


def fits(locator) -> bool:
    """Whether the element's text is shown whole (not cut off with an ellipsis)."""
    return locator.evaluate("el => el.scrollWidth <= el.clientWidth")


def test_the_open_panel_does_not_squeeze_the_month(signed_in, api, hook_channel):
    page = signed_in
    day = a_weekday(1)  # a Tuesday: a column the panel does not cover
    schedule(api, hook_channel["id"], f"{day}T09:00", title="Flash sale")
    page.goto(f"/calendar?view=month&date={day}")
    cell = page.locator(f'.cal-day[data-date="{day}"]')
    line = cell.locator(".cal-line")
    assert fits(line)
    closed = cell.bounding_box()

    cell.locator(".cal-open").click()
    panel = page.locator("#cal-panel .cal-panel-body")
    expect(panel).to_contain_text("Flash sale")
    opened = cell.bounding_box()
    assert abs(opened["width"] - closed["width"]) < 1, (closed, opened)
    assert fits(line), "the title is cut off while the panel is open"
    # The panel is over the grid's right side, inside the window.
    box = panel.bounding_box()
    assert box["x"] + box["width"] <= 1280 and box["x"] > 1280 / 2
    screenshot(page, "layout-month-panel-desktop")


def test_the_open_panel_is_a_full_width_sheet_on_a_phone(phone, api, hook_channel):
    day = a_weekday(1)
    schedule(api, hook_channel["id"], f"{day}T09:00", title="Flash sale")
    phone.goto(f"/calendar?view=month&date={day}")
    filters = phone.locator("#cal-filters")
    closed = filters.bounding_box()
    phone.locator(f'.cal-day[data-date="{day}"] .cal-open').click()
    panel = phone.locator("#cal-panel .cal-panel-body")
    expect(panel).to_contain_text("Flash sale")
    assert filters.bounding_box()["width"] == closed["width"]  # nothing makes room for it
    assert abs(panel.bounding_box()["width"] - closed["width"]) < 1
    screenshot(phone, "layout-month-panel-phone")


def test_the_move_button_leaves_the_title_readable(signed_in, api, hook_channel):
    page = signed_in
    day = a_weekday(2)
    schedule(api, hook_channel["id"], f"{day}T09:00", title="Flash sale")
    for view in ("month", "week"):
        page.goto(f"/calendar?view={view}&date={day}")
        item = page.locator(".cal-item", has_text="Flash sale")
        item.locator(".cal-open").focus()
        move = item.locator(".cal-move")
        expect(move).to_have_css("opacity", "1")
        button, title = move.bounding_box(), item.locator(".cal-what").bounding_box()
        apart = (button["y"] >= title["y"] + title["height"]
                 or button["y"] + button["height"] <= title["y"]
                 or button["x"] >= title["x"] + title["width"]
                 or button["x"] + button["width"] <= title["x"])
        assert apart, f"{view}: “Move to…” {button} covers the title {title}"
        outer = item.bounding_box()  # and the button stays on its item
        assert outer["y"] <= button["y"] and button["y"] + button["height"] <= (
            outer["y"] + outer["height"] + 0.5)
        assert fits(item.locator(".cal-line")), f"{view}: the title is cut off"
        screenshot(page, f"layout-{view}-move-button")
