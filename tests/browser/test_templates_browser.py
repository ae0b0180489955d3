"""Templates in a real browser: "Save as template" from the composer, the library with its
favourite star toggled in place (HTMX), and "Use" opening the composer filled from it, which
saves a post and counts the use."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.helpers import screenshot
from webapp.extensions import db
from webapp.models import Post, Template

pytestmark = pytest.mark.browser


def test_save_favour_and_use_a_template(signed_in, admin, hook):
    page = signed_in
    page.goto("/posts/new")
    page.get_by_label("Text", exact=True).fill("Tip of the week: back up your files")
    page.locator(f'input[name="channel_ids"][value="{hook}"]').check()
    page.get_by_label("Save what is here as a template, named").fill("Weekly tip")
    screenshot(page, "templates-composer-save")
    page.get_by_role("button", name="Save as template").click()
    page.wait_for_url("**/templates")
    row = page.locator("tr", has_text="Weekly tip")
    expect(row.locator("td.use-count")).to_have_text("0")
    star = row.locator("button.favorite")
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(row.locator("button.favorite")).to_have_attribute("aria-pressed", "true")
    screenshot(page, "templates-library")
    db.session.expire_all()
    template = db.session.scalar(select(Template))
    template_id, favorite = template.id, template.favorite
    db.session.rollback()  # leave the database to the server (SQLite locks)
    assert favorite is True

    row.get_by_role("link", name="Use").click()
    page.wait_for_url(f"**/posts/new?template={template_id}")
    body = page.get_by_label("Text", exact=True)
    expect(body).to_have_value("Tip of the week: back up your files")
    body.fill("Tip of the week: check your backups")
    screenshot(page, "templates-use-composer")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/posts/*")
    db.session.expire_all()
    post = db.session.scalar(select(Post))
    assert (post.body, post.template_id, [c.id for c in post.channels]) == (
        "Tip of the week: check your backups", template_id, [hook])
    db.session.rollback()
    page.goto("/templates")
    expect(page.locator("tr", has_text="Weekly tip").locator("td.use-count")).to_have_text("1")
