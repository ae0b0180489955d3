"""The main pages at desktop and phone width, as a new user sees them: nothing is wider
than the window, and each is kept as a screenshot in test-artifacts/ (look at them)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, PHONE, calendar_post, screenshot

pytestmark = pytest.mark.browser

BERLIN = ZoneInfo("Europe/Berlin")


def no_sideways_scroll(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_the_main_pages_fit_the_window(signed_in, api, hook_channel):
    page = signed_in
    day = datetime.now(BERLIN).date() + timedelta(days=3)
    for hour, title in ((9, "Flash sale"), (11, "Weekly digest"), (15, "Product tips")):
        calendar_post(api, hook_channel["id"], f"{day}T{hour:02d}:00", title=title,
                      recurrence="FREQ=WEEKLY;BYDAY=MO,TH" if hour == 11 else None)
    pages = {"dashboard": "/", "calendar-week": f"/calendar?view=week&date={day}",
             "queue": "/queue", "channels": "/channels", "composer": "/posts/new",
             "calendar-month": f"/calendar?view=month&date={day}"}
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for name, path in pages.items():
            page.goto(path)
            expect(page.locator("main h1")).to_be_visible()
            assert no_sideways_scroll(page), f"{name} scrolls sideways at {size}"
            screenshot(page, f"tour-{name}-{size}")
        page.locator(".cal-item", has_text="Flash sale").locator(".cal-open").click()
        expect(page.locator("#cal-panel .cal-panel-body")).to_contain_text("Flash sale")
        assert no_sideways_scroll(page)
        screenshot(page, f"tour-calendar-panel-{size}")
