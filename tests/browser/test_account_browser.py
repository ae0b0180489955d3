"""Accounts, channels and settings in a real browser: the first user's sign-up, signing out
and in, connecting a webhook channel through the page, and the user's zone."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import shoot

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"


def test_first_user_signs_up_signs_out_and_signs_in(page):
    page.goto("/")
    page.wait_for_url("**/signup")
    expect(page.locator(".flash")).to_have_count(0)  # no "please log in": nobody can yet
    shoot(page, "sign-up")
    page.get_by_label("E-mail").fill("founder@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_label("Workspace name").fill("Founders")
    page.get_by_label("Your timezone").fill("America/New_York")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".flash-success")).to_contain_text("Welcome to Herald")
    expect(page.locator(".topbar")).to_contain_text("founder@example.com · Founders (admin)")

    page.goto("/")
    shoot(page, "dashboard")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    expect(page.get_by_text("Signed out.")).to_be_visible()
    page.get_by_label("E-mail").fill("founder@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#password-error")).to_have_text("Wrong e-mail or password.")
    shoot(page, "sign-in")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/settings")
    expect(page.get_by_label("Your timezone")).to_have_value("America/New_York")

    # Sign-up is closed once someone has an account.
    page.goto("/signup")
    page.wait_for_url("**/")


def test_connect_check_edit_and_pause_a_webhook_channel(signed_in, webhook):
    page = signed_in
    page.goto("/channels")
    form = page.locator("#add")
    form.get_by_label("Name").fill("Site hook")
    form.get_by_label("Platform").select_option("webhook")
    expect(form.get_by_label("Instance URL")).to_be_hidden()  # only the webhook's settings
    form.get_by_label("Webhook URL").fill(webhook.url + "/hook")
    form.get_by_role("button", name="Connect channel").click()
    expect(page.locator(".flash-success")).to_contain_text("Channel “Site hook” connected")

    card = page.locator("li.channel", has_text="Site hook")
    card.get_by_role("button", name="Check connection").click()
    expect(card.locator(".check-result")).to_contain_text("works")
    assert [r.method for r in webhook.received] == ["HEAD"]
    shoot(page, "channels")

    card.get_by_role("link", name="Edit").click()
    page.get_by_label("Name").fill("Site hook (blog)")
    page.get_by_label("Webhook URL").fill("not an address")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#url-error")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Site hook (blog)")
    expect(page.get_by_label("Webhook URL")).to_have_value("not an address")
    shoot(page, "channel-edit")
    page.get_by_label("Webhook URL").fill(webhook.url + "/blog")
    page.get_by_label("Posts per hour at most (optional)").fill("30")
    page.get_by_role("button", name="Save").click()
    card = page.locator("li.channel", has_text="Site hook (blog)")
    expect(card).to_contain_text("30 posts per hour")

    card.get_by_role("button", name="Pause").click()
    expect(page.locator("li.channel", has_text="Site hook (blog)").locator(
        ".status")).to_have_text("paused")


def test_settings_take_a_searchable_zone(signed_in):
    page = signed_in
    page.goto("/settings")
    zone = page.get_by_label("Your timezone")
    expect(zone).to_have_value("Europe/Berlin")
    assert zone.get_attribute("list") == "zone-list"
    assert page.locator("#zone-list option[value='Asia/Tokyo']").count() == 1
    zone.fill("Asia/Tokio")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#timezone-error")).to_have_text("unknown timezone “Asia/Tokio”")
    expect(zone).to_have_value("Asia/Tokio")
    zone.fill("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-success")).to_have_text("Settings saved.")
    expect(zone).to_have_value("Asia/Tokyo")
    shoot(page, "settings")


def test_sign_up_preselects_the_browser_zone_and_shows_every_error(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  base_url=live_server, timezone_id="Europe/Paris")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/signup")
        expect(page.get_by_label("Your timezone")).to_have_value("Europe/Paris")
        shoot(page, "sign-up-zone")

        page.get_by_label("E-mail").fill("not an address")
        page.get_by_label("Password", exact=True).fill("short")
        page.get_by_label("Repeat password").fill("other")
        page.get_by_label("Workspace name").fill(" ")
        page.get_by_label("Your timezone").fill("Moon/Base")
        page.get_by_role("button", name="Create account").click()
        for name in ("email", "password", "confirm", "workspace", "timezone"):
            expect(page.locator(f"#{name}-error")).to_be_visible()
        expect(page.locator(".flash-error li")).to_have_count(5)
        # What was typed stays: the browser's zone does not overwrite it.
        expect(page.get_by_label("Your timezone")).to_have_value("Moon/Base")
        shoot(page, "sign-up-errors")
    finally:
        context.close()


def test_api_tokens_and_password_on_the_settings_page(signed_in):
    page = signed_in
    page.goto("/settings")
    expect(page.get_by_text("No tokens yet.")).to_be_visible()
    page.get_by_label("Token name").fill("deploy script")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Token", exact=True)
    expect(secret).to_have_value(re.compile(r"^hrld_"))
    shoot(page, "settings-token")
    expect(page.locator("table.tokens")).to_contain_text("deploy script")
    page.get_by_role("button", name="Revoke deploy script").click()
    expect(page.locator(".flash-success")).to_contain_text("revoked")
    expect(page.get_by_text("No tokens yet.")).to_be_visible()

    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Current password").fill("correct horse")
    page.get_by_label("New password", exact=True).fill("a brand new one")
    page.get_by_label("Repeat the new password").fill("a brand new one")
    shoot(page, "password-change")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".flash-success")).to_contain_text("Password changed")
