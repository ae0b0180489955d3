"""The composer in a real browser: the live schedule preview (local times, DST warnings),
the character counter against each channel's limit, inline errors, and the post's page."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.helpers import add_channel, screenshot, shoot
from webapp.extensions import db
from webapp.models import Post

pytestmark = pytest.mark.browser

DANGER = "rgb(185, 28, 28)"  # herald.css --danger


@pytest.fixture
def masto(admin, mastodon):
    return add_channel(admin, name="Masto", platform="mastodon", color="#6364ff",
                       config={"instance_url": mastodon.url, "access_token": "good-token"})


def test_schedule_a_weekly_post_in_another_zone_with_a_live_preview(signed_in, hook):
    page = signed_in
    page.goto("/posts/new")
    page.get_by_label("Text", exact=True).fill("Weekly news from Herald")
    page.get_by_role("checkbox", name=re.compile("Site hook")).check()
    # 02:30 on the day New York springs forward does not exist; the browser is in Berlin.
    page.get_by_label("Date and time").fill("2027-03-14T02:30")
    zone = page.get_by_label("Timezone")
    expect(zone).to_have_value("Europe/Berlin")  # the user's zone by default
    zone.fill("America/New_York")
    zone.press("Tab")
    page.get_by_label("Repeat").select_option("weekly")
    page.locator("input[name=weekdays][value=SU]").check()
    page.locator("input[name=weekdays][value=WE]").check()
    page.get_by_label("After a number of times").check()
    page.get_by_label("Number of times", exact=True).fill("4")

    items = page.locator("#preview li")
    expect(items).to_have_count(4)
    expect(page.locator("#preview .preview-summary")).to_contain_text(
        "Every week on Wed, Sun, 4 times")
    expect(items.nth(0)).to_contain_text("Sun 14 Mar 2027, 03:30 EDT")
    expect(items.nth(0)).to_contain_text("(Sun 08:30 CET your time)")
    expect(items.nth(0).locator(".warning")).to_contain_text(
        "2027-03-14 02:30 does not exist in America/New_York")
    expect(items.nth(1)).to_contain_text("Wed 17 Mar 2027, 02:30 EDT")
    expect(items.nth(1).locator(".warning")).to_have_count(0)
    expect(items.nth(3)).to_contain_text("Wed 24 Mar 2027, 02:30 EDT")
    shoot(page, "composer-preview")

    page.get_by_role("button", name="Schedule").click()
    page.wait_for_url(re.compile(r"/posts/\d+$"))
    expect(page.locator(".flash-success")).to_contain_text("Post scheduled")
    occurrences = page.locator("ol.occurrences li")
    expect(occurrences).to_have_count(4)
    expect(occurrences.nth(0)).to_contain_text("Sun 14 Mar 2027, 03:30 EDT")
    expect(occurrences.nth(0)).to_contain_text("does not exist in America/New_York")
    expect(page.get_by_text("Every week on Wed, Sun")).to_be_visible()
    upcoming = page.get_by_role("table", name="Deliveries still to come")
    expect(upcoming).to_contain_text("Site hook")
    expect(upcoming).to_contain_text("Sun 14 Mar 2027, 08:30 CET")
    shoot(page, "post-detail")

    post = db.session.scalar(select(Post))
    assert post.schedules[0].rrule == "FREQ=WEEKLY;BYDAY=WE,SU"
    assert post.schedules[0].count == 4
    db.session.rollback()


def test_the_counter_turns_red_over_the_mastodon_limit(signed_in, masto, hook):
    page = signed_in
    page.goto("/posts/new")
    page.get_by_role("checkbox", name=re.compile("Masto")).check()
    page.get_by_role("checkbox", name=re.compile("Site hook")).check()
    page.get_by_label("Text", exact=True).fill("x" * 501)
    masto_count = page.locator(f".counter .limit[data-channel='{masto}']")
    expect(masto_count).to_contain_text("501 / 500 — 1 too many")
    expect(masto_count).to_have_css("color", DANGER)
    expect(page.locator(f".counter .limit[data-channel='{hook}']")).not_to_have_class(
        re.compile("over"))
    shoot(page, "composer-counter")

    # Mastodon's own, shorter text: its count is back under the limit.
    page.get_by_text("Different text for Masto").click()
    page.get_by_label("Text for Masto only (optional)").fill("Short for Mastodon")
    expect(masto_count).to_contain_text("Masto (own text): 18 / 500")
    expect(masto_count).not_to_have_class(re.compile("over"))
    expect(page.locator(f"#own-count-{masto}")).to_have_text("18 / 500 characters")
    screenshot(page, "composer-own-text-desktop")


def test_a_validation_error_is_shown_next_to_its_field_and_keeps_the_text(signed_in, hook):
    page = signed_in
    page.goto("/posts/new")
    page.get_by_label("Title (optional)").fill("Launch")
    page.get_by_label("Text", exact=True).fill("Everything I typed stays here")
    page.get_by_role("checkbox", name=re.compile("Site hook")).check()
    page.get_by_label("Date and time").fill("2027-05-01T09:00")
    page.get_by_label("Timezone").fill("Mars/Olympus_Mons")
    page.get_by_label("Timezone").press("Tab")
    # The preview says so at once...
    expect(page.locator("#preview .preview-errors")).to_contain_text(
        "Timezone: unknown timezone “Mars/Olympus_Mons”")
    page.get_by_role("button", name="Schedule").click()
    # ...and the saved page shows it next to the field, with everything as typed.
    expect(page.locator("#timezone-error")).to_have_text("unknown timezone “Mars/Olympus_Mons”")
    expect(page.get_by_label("Timezone")).to_have_value("Mars/Olympus_Mons")
    expect(page.get_by_label("Text", exact=True)).to_have_value("Everything I typed stays here")
    expect(page.get_by_label("Title (optional)")).to_have_value("Launch")
    expect(page.get_by_role("checkbox", name=re.compile("Site hook"))).to_be_checked()
    shoot(page, "composer-error")
    assert db.session.scalar(select(Post)) is None
    db.session.rollback()


def test_using_the_composer_logs_no_console_errors(signed_in, hook):
    page = signed_in
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto("/posts/new")
    # Typing fast and changing the schedule while earlier previews are still in flight.
    page.get_by_label("Text", exact=True).press_sequentially("Typed quickly, previewed often",
                                                            delay=5)
    page.get_by_role("checkbox", name=re.compile("Site hook")).check()
    page.get_by_label("Date and time").fill("2027-03-14T09:30")
    for choice in ("daily", "weekly", "monthly", "daily"):
        page.get_by_label("Repeat").select_option(choice)
    page.get_by_label("Text", exact=True).press_sequentially(" and again", delay=5)
    expect(page.locator("#preview li").first).to_contain_text("Mar 2027")
    # The last input is the one counted: no answer to an earlier one is shown after it.
    expect(page.locator("#counter")).to_contain_text("40 characters")
    page.wait_for_load_state("networkidle")
    shoot(page, "composer-no-console-errors")
    assert errors == []
