"""The queue, the dashboard and the notification bell in a real browser: batch-cancel with a
confirmation, retrying a failed delivery and watching its row turn published, and the bell's
count after a failure and after "mark all read"."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, PHONE, fail_once, schedule, screenshot, shoot
from webapp.extensions import db

pytestmark = pytest.mark.browser

def test_batch_cancel_two_deliveries_after_confirming(signed_in, admin, hook):
    page = signed_in
    ids = schedule(admin, hook, "Daily tip: drink water")
    schedule(admin, hook, "Weekly digest", recurrence="weekly")
    page.goto("/queue")
    expect(page.locator("#queue-selected")).to_have_text("None selected")
    expect(page.get_by_role("button", name="Cancel…").first).to_be_disabled()

    page.locator(f"#pick-{ids[0]}").check()
    page.locator(f"#pick-{ids[1]}").check()
    expect(page.locator("#queue-selected")).to_have_text("2 selected")
    shoot(page, "queue")
    page.locator("#queue-batch").get_by_role("button", name="Cancel…").click()

    confirm = page.locator("#queue-result .confirm")
    expect(confirm).to_contain_text("Cancel 2 deliveries?")
    expect(confirm.locator("li")).to_have_count(2)
    shoot(page, "queue-confirm")
    confirm.get_by_role("button", name="Yes, cancel 2").click()

    expect(page.locator("#queue-result")).to_contain_text("2 cancelled.")
    # The table refreshed itself: the two rows left the upcoming tab, the counts follow.
    expect(page.locator(f"#delivery-{ids[0]}")).to_have_count(0)
    expect(page.locator(f"#delivery-{ids[1]}")).to_have_count(0)
    expect(page.locator(".tab-cancelled .count")).to_have_text("2")
    expect(page.locator("#queue-selected")).to_have_text("None selected")
    shoot(page, "queue-result")
    page.locator("#queue-result").get_by_role("button", name="Dismiss").click()
    expect(page.locator("#queue-result .result")).to_have_count(0)

    page.locator(".tab-cancelled").click()
    expect(page).to_have_url(re.compile(r"/queue\?status=cancelled$"))
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(page.locator("tbody .status-cancelled")).to_have_count(2)

    # Filters apply as you type, in place, and the address follows (for back and reload).
    page.locator(".tab-upcoming").click()
    page.get_by_label("Post text").fill("weekly")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("Weekly digest")
    expect(page).to_have_url(re.compile(r"/queue\?q=weekly$"))
    page.get_by_label("Sort by").select_option("priority")
    expect(page).to_have_url(re.compile(r"/queue\?q=weekly&sort=priority$"))
    page.reload()
    expect(page.get_by_label("Post text")).to_have_value("weekly")
    expect(page.locator("tbody tr")).to_have_count(1)


def test_keep_them_changes_nothing(signed_in, admin, hook):
    page = signed_in
    ids = schedule(admin, hook, "Keep me")
    page.goto("/queue")
    page.get_by_role("button", name=re.compile(r"^Cancel… Keep me")).first.click()
    expect(page.locator("#queue-result .confirm")).to_contain_text("Cancel 1 delivery?")
    page.get_by_role("link", name="Keep them").click()
    expect(page.locator("#queue-result .confirm")).to_have_count(0)
    expect(page.locator(f"#delivery-{ids[0]} .status-cancelled")).to_have_count(0)


def test_retry_a_failed_delivery_and_watch_it_publish(signed_in, admin, hook, webhook, runner):
    page = signed_in
    delivery_id = fail_once(admin, hook, webhook, runner, "Launch announcement")
    page.goto("/queue?status=failed")
    row = page.locator(f"#delivery-{delivery_id}")
    expect(row).to_contain_text("HTTP 400")
    expect(row).to_contain_text("text rejected by the platform")
    shoot(page, "queue-failed")

    row.get_by_role("button", name=re.compile("^Retry")).click()
    expect(row.locator(".status")).to_have_text(re.compile("pending|queued"))
    runner.until_settled([delivery_id])
    db.session.rollback()  # let go of SQLite's lock: the served app reads next
    # The row polls itself every 3 s and turns published without a reload.
    expect(row.locator(".status-published")).to_be_visible(timeout=10_000)
    expect(row.get_by_role("link", name=re.compile("View"))).to_be_visible()
    assert [r.json()["body"] for r in webhook.posts()][-1] == "Launch announcement"


def test_the_bell_counts_a_failure_and_clears(signed_in, admin, hook, webhook, runner):
    page = signed_in
    schedule(admin, hook, "Coming up on Monday")
    page.goto("/")
    expect(page.locator("#bell-count .badge")).to_have_count(0)
    fail_once(admin, hook, webhook, runner, "Spring sale starts now")
    # The badge refreshes itself (every 10 s) without a reload.
    expect(page.locator("#bell-count .badge")).to_have_text("1", timeout=15_000)

    page.reload()
    shoot(page, "dashboard")
    page.locator("#bell summary").click()
    panel = page.locator("#bell-panel")
    expect(panel).to_contain_text("Not published to Site hook: Spring sale starts now")
    expect(panel).to_contain_text("1 unread")
    screenshot(page, "bell-desktop")
    page.set_viewport_size(PHONE)
    page.reload()
    page.locator("#bell summary").click()
    screenshot(page, "bell-phone")
    page.set_viewport_size(DESKTOP)

    page.locator("#bell-panel").get_by_role("button", name="Mark all read").click()
    expect(page.locator("#bell-panel")).to_contain_text("No unread notifications")
    expect(page.locator("#bell-count .badge")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(page.locator("#bell-panel")).to_be_hidden()


def test_background_refreshes_never_reload_a_page_being_typed_on(signed_in, admin, hook):
    page = signed_in
    page.goto("/posts/new")
    page.get_by_label("Text", exact=True).fill("Half-written thoughts")
    page.context.clear_cookies()  # signed out elsewhere, or the session ended
    with page.expect_response(lambda r: "/notifications/" in r.url and r.status == 401):
        page.evaluate("htmx.trigger(document.body, 'notifications-changed')")
    page.wait_for_timeout(500)
    expect(page.get_by_label("Text", exact=True)).to_have_value("Half-written thoughts")


def test_a_new_workspace_is_told_what_to_do(signed_in):
    page = signed_in
    page.goto("/")
    expect(page.get_by_role("heading", name="Connect a channel")).to_be_visible()
    expect(page.get_by_text("Nothing is due in the next 24 hours.")).to_be_visible()
    shoot(page, "dashboard-empty")
    page.goto("/queue")
    expect(page.get_by_text("Nothing is waiting to go out.")).to_be_visible()
    shoot(page, "queue-empty")


def test_on_a_phone_the_queue_starts_on_the_first_screen(signed_in):
    page = signed_in
    page.set_viewport_size(PHONE)
    page.goto("/queue")
    # The table (or its empty message) begins within the first screen, below the filters.
    table = page.locator("#queue-table")
    assert table.bounding_box()["y"] < PHONE["height"]
    page.set_viewport_size({"width": 1280, "height": 900})
    shoot(page, "queue-filters-folded")
    page.get_by_text("Channel, campaign and dates").click()
    expect(page.get_by_label("Channel", exact=True)).to_be_visible()
    shoot(page, "queue-filters-open")
