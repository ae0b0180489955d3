"""Layout in a real browser, measured rather than looked at: the calendar's side panel does
not squeeze the month, an item's "Move to…" button leaves its title readable, the week view
does not scroll sideways on a phone, and long webhook URLs wrap inside their channel card.
Screenshots in test-artifacts/."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import calendar_post, screenshot

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
    calendar_post(api, hook_channel["id"], f"{day}T09:00", title="Flash sale")
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


def overlaps(one: dict, other: dict) -> bool:
    return not (one["x"] >= other["x"] + other["width"] or one["x"] + one["width"] <= other["x"]
                or one["y"] >= other["y"] + other["height"]
                or one["y"] + one["height"] <= other["y"])


@pytest.mark.parametrize("weekday", [0, 3, 5, 6], ids=["mon", "thu", "sat", "sun"])
def test_the_open_panel_leaves_its_post_in_sight_and_readable(signed_in, api, hook_channel,
                                                              weekday):
    """At 1280 px the panel lies over the side of the month away from the post it is about:
    the post stays where it was, whole, as readable as before (the weekend's too)."""
    page = signed_in
    day = a_weekday(weekday)
    calendar_post(api, hook_channel["id"], f"{day}T09:00", title="Flash sale")
    calendar_post(api, hook_channel["id"], f"{day}T10:00", title="A much longer title here")
    page.goto(f"/calendar?view=month&date={day}")
    item = page.locator(f'.cal-day[data-date="{day}"] .cal-item', has_text="Flash sale")
    lines = page.locator(".cal-month .cal-line")
    before = lines.evaluate_all("els => els.map((el) => [el.scrollWidth, el.clientWidth])")
    box = item.bounding_box()

    item.locator(".cal-open").click()
    panel = page.locator("#cal-panel .cal-panel-body")
    expect(panel).to_contain_text("Flash sale")
    expect(item).to_have_class(re.compile(r"\bcal-selected\b"))
    after = lines.evaluate_all("els => els.map((el) => [el.scrollWidth, el.clientWidth])")
    assert after == before, "the titles are cut off further with the panel open"
    shown, over = item.bounding_box(), panel.bounding_box()
    assert abs(shown["width"] - box["width"]) < 1 and abs(shown["x"] - box["x"]) < 1
    assert 0 <= shown["x"] and shown["x"] + shown["width"] <= 1280
    assert not overlaps(shown, over), f"the panel {over} hides its post {shown}"
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('.cal-item')"
                         " !== null", [shown["x"] + shown["width"] / 2,
                                       shown["y"] + shown["height"] / 2])
    # On the side away from the post, inside the window.
    middle = 1280 / 2
    if shown["x"] + shown["width"] / 2 > middle:
        assert over["x"] + over["width"] <= middle + 1
    else:
        assert over["x"] >= middle - 1 and over["x"] + over["width"] <= 1280
    screenshot(page, f"layout-month-panel-{day:%a}".lower())


def test_the_open_panel_is_a_full_width_sheet_on_a_phone(phone, api, hook_channel):
    day = a_weekday(1)
    calendar_post(api, hook_channel["id"], f"{day}T09:00", title="Flash sale")
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
    calendar_post(api, hook_channel["id"], f"{day}T09:00", title="Flash sale")
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


def test_the_week_does_not_scroll_sideways_on_a_phone(phone, api, hook_channel):
    day = a_weekday(3)
    calendar_post(api, hook_channel["id"], f"{day}T09:00", title="Flash sale")
    for view in ("week", "day", "month"):
        phone.goto(f"/calendar?view={view}&date={day}&tz=Europe/Berlin")
        expect(phone.locator(".cal-item", has_text="Flash sale").first).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
            f"the {view} view is wider than the phone")
        assert phone.evaluate("document.documentElement.scrollWidth"
                              " <= document.documentElement.clientWidth"), view
        # Nor does a part of it scroll sideways (the week's table did, in a box of its own),
        # and the post is on the screen.
        wide = phone.evaluate("""() => [...document.querySelectorAll('#calendar *')]
            .filter((el) => el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
                    && ["auto", "scroll"].includes(getComputedStyle(el).overflowX))
            .map((el) => el.className)""")
        assert not wide, f"{view}: {wide} scroll sideways"
        box = phone.locator(".cal-item", has_text="Flash sale").first.bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], box
        screenshot(phone, f"layout-{view}-phone")


# Segments of under 30 characters and no hyphen: the URL can always wrap after a slash, and
# nowhere else but mid-word.
LONG_PATH = "/".join(f"segment{n:02d}ofaverylongpathname" for n in range(6))


@pytest.fixture
def long_hook(api, webhook) -> str:
    url = f"{webhook.url}/hook/{LONG_PATH}?token=abc"
    assert len(url) >= 200
    response = api.post("/channels", json={"name": "Long hook", "platform": "webhook",
                                           "config": {"url": url}})
    assert response.status_code == 201, response.json
    return url


def test_a_long_webhook_url_stays_inside_its_card_on_a_phone(phone, long_hook):
    phone.goto("/channels")
    card = phone.locator(".card.channel", has_text="Long hook")
    shown = card.locator("dd", has_text="segment00")
    expect(shown).to_have_text(long_hook)  # wrapped, not changed
    assert card.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    outer, inner = card.bounding_box(), shown.bounding_box()
    assert inner["x"] + inner["width"] <= outer["x"] + outer["width"]
    screenshot(phone, "layout-channels-phone")


def test_a_long_webhook_url_wraps_after_its_slashes(phone, long_hook):
    phone.goto("/channels")
    shown = phone.locator(".card.channel dd", has_text="segment00")
    # The characters that end a line (all but the last line) end parts of the address.
    line_ends = shown.evaluate("""el => {
      const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      const range = document.createRange(), ends = [];
      let top = null, last = null;
      for (let text = walk.nextNode(); text; text = walk.nextNode()) {
        for (let i = 0; i < text.length; i++) {
          range.setStart(text, i); range.setEnd(text, i + 1);
          const y = range.getBoundingClientRect().top;
          if (top !== null && y > top + 1) ends.push(last);
          top = y; last = text.data[i];
        }
      }
      return ends;
    }""")
    assert line_ends and set(line_ends) <= {"/", "?", "&"}, line_ends


def test_the_main_navigation_is_one_line_with_a_workspace_menu(signed_in):
    page = signed_in
    page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    tops = nav.evaluate("n => [...n.children].map((el) => el.offsetTop)")
    assert len(tops) >= 8 and len(set(tops)) == 1, f"the navigation wraps: {tops}"
    menu = page.locator("#nav-menu")
    button = menu.locator("summary")
    items = menu.locator("a")
    expect(items).to_have_count(4)
    expect(items.first).to_be_hidden()

    # By keyboard: Enter opens it, Tab goes through its links, Escape closes it and gives
    # the focus back to its button.
    button.focus()
    page.keyboard.press("Enter")
    expect(menu.get_by_role("link", name="Team")).to_be_visible()
    screenshot(page, "layout-nav-menu-desktop")
    page.keyboard.press("Tab")
    expect(menu.get_by_role("link", name="Team")).to_be_focused()
    page.keyboard.press("Escape")
    expect(items.first).to_be_hidden()
    expect(button).to_be_focused()
    # A click elsewhere closes it; a link in it goes to its page, marked there.
    button.click()
    expect(items.first).to_be_visible()
    page.locator("main h1").click()
    expect(items.first).to_be_hidden()
    button.click()
    menu.get_by_role("link", name="Settings").click()
    page.wait_for_url("**/settings")
    expect(page.locator("#nav-menu summary")).to_have_class("current")


def test_the_workspace_menu_on_a_phone(phone):
    phone.goto("/")
    menu = phone.locator("#nav-menu")
    menu.locator("summary").click()
    for name in ("Team", "Audit log", "Operations", "Settings"):
        link = menu.get_by_role("link", name=name)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], (name, box)
    assert phone.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(phone, "layout-nav-menu-phone")
    phone.keyboard.press("Escape")
    expect(menu.get_by_role("link", name="Team")).to_be_hidden()


def test_the_calendar_filters_fold_on_a_phone_and_show_on_a_desktop(phone, api, hook_channel):
    day = a_weekday(2)
    calendar_post(api, hook_channel["id"], f"{day}T09:00", title="Flash sale")
    phone.goto(f"/calendar?view=month&date={day}")
    channel = phone.get_by_label("Channel", exact=True)
    expect(channel).to_be_hidden()
    # The first day with posts begins on the first screen.
    first = phone.locator(".cal-day", has_text="Flash sale")
    assert first.bounding_box()["y"] + 40 < PHONE["height"], first.bounding_box()
    phone.get_by_text("Filters", exact=True).click()
    expect(channel).to_be_visible()
    channel.select_option(label="Hook")
    expect(phone).to_have_url(re.compile(r"channel=\d+"))
    # Still open after the calendar is swapped for the filtered one, saying what is set.
    expect(phone.locator("#cal-filters-fold summary")).to_contain_text("1 set")
    expect(phone.get_by_label("Channel", exact=True)).to_be_visible()
    screenshot(phone, "layout-calendar-filters-phone")
    phone.set_viewport_size({"width": 1280, "height": 900})
    phone.goto(f"/calendar?view=month&date={day}")
    expect(phone.get_by_label("Status", exact=True)).to_be_visible()
    expect(phone.locator("#cal-filters-fold summary")).to_be_hidden()
