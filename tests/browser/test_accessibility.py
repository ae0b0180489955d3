"""Every page of the app through axe-core (issue 9, item 16), at desktop and phone width:
no serious or critical violation. The pages are the app's own GET routes (from its URL
map, so a page added later is checked too) that answer a whole HTML document, with
example data behind them, plus a few states a route alone does not show: signed out
(sign-up before the first account exists, sign-in, a refused sign-in), the queue's failed
tab, the calendar's views with its side panel open, an error page.

axe comes from tests/browser/vendor/ (test-only, see its README) as an init script: those
run whatever the page's Content-Security-Policy says, and the policy stays on — these
contexts are watched for violations like every other browser test's (see conftest.py).
"""

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.browser.helpers import fail_once, schedule, screenshot, sign_in
from tests.factories import workspace_id as workspace_of
from webapp.extensions import db
from webapp.models import Campaign, Delivery, Post
from webapp.services import channels as channel_service
from webapp.services import imports as import_service
from webapp.services.accounts import create_user

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
BERLIN = ZoneInfo("Europe/Berlin")
IMPACTS = ("serious", "critical")
# Route arguments the example data can fill in.
ARGUMENTS = ("post_id", "channel_id", "delivery_id", "event_id")

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""


def routes(app, ids: dict) -> list[str]:
    """The GET routes of the server-rendered side, with `ids` for their arguments; those
    that need an argument the data cannot give are left out (and none is today)."""
    paths = []
    with app.test_request_context():
        from flask import url_for
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static" or \
                    rule.endpoint.split(".")[0] in ("api", "health"):
                continue
            if set(rule.arguments) - set(ARGUMENTS):
                continue
            paths.append(url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments}))
    return sorted(set(paths))


def is_page(context, path: str) -> bool:
    """Whether `path` answers a whole HTML page of its own: not a fragment, a CSV file or
    JSON, nor a redirect to another page (which is checked under its own address)."""
    response = context.request.get(path, max_redirects=0)
    if response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
        return False
    return response.text().lstrip()[:15].lower() == "<!doctype html>"


def audit(page, label: str) -> list[str]:
    """axe's serious and critical violations on the page as it is now, one line each."""
    page.wait_for_load_state("load")
    found = []
    for v in page.evaluate(RUN_AXE):
        if v["impact"] in IMPACTS:
            found.append(f"{label}: {v['id']} ({v['impact']}) at {', '.join(v['targets'][:5])}"
                         f" — {v['help']}")
    return found


def example_data(webhook, runner) -> dict:
    """A workspace with a channel, a campaign, upcoming and failed deliveries (and so a
    notification), a draft and an import: the ids routes need, and a calendar day."""
    admin, _ = create_user("admin@example.com", "correct horse", "Acme", "admin",
                           "Europe/Berlin")
    workspace_id, admin_id = workspace_of(admin), admin.id  # the worker ends the session
    hook = channel_service.create(workspace_id, admin_id, {
        "name": "Site hook", "platform": "webhook", "color": "#b45309",
        "config": {"url": webhook.url + "/hook"}}).id
    campaign = Campaign(workspace_id=workspace_id, name="Launch week", color="#0e7490")
    db.session.add(campaign)
    db.session.commit()
    campaign_id = campaign.id
    delivery_ids = schedule(admin, hook, "Daily tip: drink water")
    schedule(admin, hook, "An idea for later", recurrence=None)
    fail_once(admin, hook, webhook, runner, "Spring sale starts now")
    post_id = db.session.scalar(select(Delivery.post_id).where(Delivery.id == delivery_ids[0]))
    db.session.get(Post, post_id).campaign_id = campaign_id
    db.session.commit()
    example = import_service.example(workspace_id, "Europe/Berlin", datetime.now(BERLIN).date())
    event = import_service.import_csv(workspace_id, admin_id, example.encode(),
                                      "Europe/Berlin", "example.csv")
    ids = {"post_id": post_id, "channel_id": hook, "delivery_id": delivery_ids[0],
           "event_id": event.id}
    db.session.rollback()  # let go of SQLite's lock: the served app reads next
    return ids


def test_no_serious_or_critical_violations_on_any_page(app, browser, live_server, webhook,
                                                       runner):
    contexts = {}
    problems: list[str] = []
    try:
        for name, viewport in WIDTHS.items():
            context = browser.new_context(viewport=viewport, base_url=live_server,
                                          timezone_id="Europe/Berlin")
            context.add_init_script(AXE)
            page = context.new_page()
            page.set_default_timeout(15_000)
            contexts[name] = (context, page)

        # Signed out, before the first account exists: the sign-up page, also with errors.
        for name, (_, page) in contexts.items():
            page.goto("/signup")
            problems += audit(page, f"/signup [{name}]")
            page.get_by_role("button", name="Create account").click()
            page.wait_for_load_state("load")
            problems += audit(page, f"/signup, refused [{name}]")

        ids = example_data(webhook, runner)
        day = (datetime.now(BERLIN) + timedelta(days=1)).date().isoformat()
        for name, (context, page) in contexts.items():
            page.goto("/login")
            problems += audit(page, f"/login [{name}]")
            page.get_by_label("E-mail").fill("admin@example.com")
            page.get_by_label("Password").fill("wrong")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state("load")
            problems += audit(page, f"/login, refused [{name}]")

            sign_in(page)
            pages = [p for p in routes(app, ids) if is_page(context, p)]
            pages += [f"/calendar?view=week&date={day}", f"/calendar?view=day&date={day}",
                      "/calendar?color=campaign", "/queue?status=failed", "/no-such-page"]
            for path in pages:
                page.goto(path)
                problems += audit(page, f"{path} [{name}]")

            # The calendar with an item's side panel open, and that item as a page.
            page.goto(f"/calendar?view=week&date={day}")
            item = page.locator(".cal-item .cal-open").first
            ref = page.locator(".cal-item").first.get_attribute("data-ref")
            item.click()
            page.locator("#cal-panel .cal-panel-body").wait_for()
            problems += audit(page, f"/calendar with its panel open [{name}]")
            screenshot(page, f"accessibility-calendar-panel-{name}")
            page.goto(f"/calendar/item?ref={ref}")
            problems += audit(page, f"/calendar/item [{name}]")
            # The notification bell's panel, open.
            page.goto("/")
            with page.expect_response("**/notifications/panel*"):  # opening refreshes it
                page.locator("#bell summary").click()
            page.locator("#bell-panel .notes li").first.wait_for()
            problems += audit(page, f"/ with the bell open [{name}]")
            for path in ("/", "/queue", "/channels"):
                page.goto(path)
                screenshot(page, f"accessibility-{path.strip('/') or 'dashboard'}-{name}")
    finally:
        for context, _ in contexts.values():
            context.close()
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)
