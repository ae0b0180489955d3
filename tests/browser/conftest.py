"""Browser tests: the app served on a free port, driven by Playwright in Debian's Chromium.

Skipped, with the reason printed in the summary, where /usr/bin/chromium is missing
(`.ci/run` installs it, so CI always runs them). Screenshots go to test-artifacts/.

The app's Content-Security-Policy is on, and every browser context a test opens (the
`page` fixture's or its own, from `browser.new_context`) reports each violation of it: the
test fails at teardown if anything a page did broke the policy.
"""

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.browser.helpers import add_channel, sign_in

CHROMIUM = os.environ.get("HERALD_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


# Reports every Content-Security-Policy violation of every page in the context to Python:
# the app's policy is on in these tests, and nothing a page does may break it.
WATCH_POLICY = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__herald_csp_violation({
    page: document.location.href, directive: event.violatedDirective,
    blocked: event.blockedURI, where: `${event.sourceFile}:${event.lineNumber}`,
    sample: event.sample,
    element: event.target && event.target.outerHTML ? event.target.outerHTML.slice(0, 160) : "",
  });
}, true);
"""


class PolicyWatch:
    """Collects a browser context's CSP violations and the console's CSP errors."""

    def __init__(self, context):
        self.context = context
        self.problems: list[str] = []
        context.expose_binding("__herald_csp_violation",
                               lambda source, v: self.problems.append(f"violation: {v}"))
        context.add_init_script(WATCH_POLICY)
        context.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"console ({message.page and message.page.url}): "
                                 f"{message.text}")

    def flush(self) -> None:
        """Give each open page a turn, so that a violation just queued is reported."""
        for open_page in self.context.pages:
            if not open_page.is_closed():
                open_page.evaluate("() => new Promise((done) => setTimeout(done, 0))")


class WatchedBrowser:
    """The browser, whose every new context is watched (see PolicyWatch)."""

    def __init__(self, browser):
        self._browser = browser
        self.watches: list[PolicyWatch] = []

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        self.watches.append(PolicyWatch(context))
        return context

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(autouse=True)
def no_policy_violations(browser):
    """Every browser test fails on any violation in any context it opened. (Autouse: set
    up before `page`, so torn down after it has flushed and closed its context.)"""
    browser.watches.clear()
    yield
    problems = [problem for watch in browser.watches for problem in watch.problems]
    browser.watches.clear()
    if problems:
        pytest.fail("Content-Security-Policy broken:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} "
                    "(apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield WatchedBrowser(browser)
        browser.close()


@pytest.fixture
def live_server(app):
    """The test app served over real HTTP in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(params=[(1280, 900)], ids=["desktop"])
def page(browser, live_server, request):
    width, height = request.param
    context = browser.new_context(viewport={"width": width, "height": height},
                                  base_url=live_server, timezone_id="Europe/Berlin")
    watch = browser.watches[-1]
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    watch.flush()
    context.close()


@pytest.fixture
def signed_in(page, admin):
    """A page signed in as the `admin` fixture's user (admin@example.com): the browser's
    counterpart of tests/conftest.py's `signed_in` test client."""
    sign_in(page)
    return page


@pytest.fixture
def hook(admin, webhook):
    """A webhook channel of the admin's workspace, "Site hook"; its id."""
    return add_channel(admin, name="Site hook", platform="webhook",
                       config={"url": webhook.url + "/hook"})
