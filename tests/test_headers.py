"""Security headers (issue 9, item 4) on every kind of response, through the test client:
pages signed in and out, the API, static files, and the 404, 405, 413 and 500 answers of
both. That the pages satisfy the policy is checked in a real browser (tests/browser/)."""

import re

import pytest

from tests.factories import make_post
from tests.helpers import submit
from webapp.web.headers import CONTENT_SECURITY_POLICY

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def assert_secured(response, *, private: bool = True) -> None:
    headers = response.headers
    assert headers["Content-Security-Policy"] == POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers  # webapp/sessions.py decides HSTS
    if private:
        assert headers["Cache-Control"] == "no-store"
    else:
        assert "no-store" not in headers.get("Cache-Control", "")


def test_the_policy_is_the_documented_one():
    assert CONTENT_SECURITY_POLICY == POLICY


@pytest.mark.parametrize("path", ["/", "/calendar", "/queue", "/posts", "/posts/new",
                                  "/channels", "/settings", "/notifications"])
def test_signed_in_pages(signed_in, path):
    response = signed_in.get(path)
    assert response.status_code == 200
    assert_secured(response)


def test_an_htmx_fragment(signed_in):
    response = signed_in.get("/notifications/count", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert_secured(response)


def test_signed_out_pages_and_redirects(client, admin):
    assert_secured(client.get("/login"))
    response = client.get("/")
    assert response.status_code == 302
    assert_secured(response)


def test_a_successful_sign_in_redirect(client, auth, admin):
    response = auth.login()
    assert response.status_code == 302
    assert_secured(response)


def test_api_responses(api, client):
    response = api.get("/channels")
    assert response.status_code == 200
    assert_secured(response)
    response = client.get("/api/v1/channels")  # no token
    assert response.status_code == 401
    assert_secured(response)
    assert_secured(client.get("/api/v1/openapi.json"))


def test_health_check(client):
    response = client.get("/healthz")
    assert response.status_code in (200, 503)
    assert_secured(response)


@pytest.mark.parametrize("path", ["/static/herald.css", "/static/vendor/htmx.min.js"])
def test_static_files_may_be_cached(client, path):
    response = client.get(path)
    response.close()  # a file being sent; its headers stay readable
    assert response.status_code == 200
    assert_secured(response, private=False)


def test_static_files_of_a_signed_in_user_may_be_cached(signed_in):
    response = signed_in.get("/static/herald.css")
    response.close()
    assert response.status_code == 200
    assert_secured(response, private=False)


def test_a_missing_static_file(client):
    response = client.get("/static/nothing-here.js")
    assert response.status_code == 404
    assert_secured(response, private=False)


def test_not_found(signed_in, api):
    response = signed_in.get("/no-such-page")
    assert response.status_code == 404
    assert_secured(response)
    response = signed_in.get("/posts/999999")
    assert response.status_code == 404
    assert_secured(response)
    response = api.get("/posts/999999")
    assert response.status_code == 404
    assert_secured(response)


def test_method_not_allowed(signed_in, api):
    response = signed_in.get("/logout")
    assert response.status_code == 405
    assert_secured(response)
    response = api.put("/channels")
    assert response.status_code == 405
    assert_secured(response)


def test_too_large(client, admin, api):
    # Larger than MAX_CONTENT_LENGTH (5 MB): refused before the form is read.
    response = client.post("/login", data={"email": "x" * (6 * 1024 * 1024)})
    assert response.status_code == 413
    assert_secured(response)
    # Larger than the API's 1 MB.
    response = api.post("/posts", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                        content_type="application/json")
    assert response.status_code == 413
    assert_secured(response)


def test_server_errors(app, client, admin, monkeypatch):
    """A view that fails unexpectedly: the 500 page and the API's 500 carry the headers."""
    from webapp.web import permissions

    def fail():
        raise RuntimeError("boom")

    # Open, so that the view runs (an endpoint missing from the table is refused first).
    monkeypatch.setitem(permissions.ENDPOINTS, "test_failure", permissions.OPEN)
    monkeypatch.setitem(permissions.ENDPOINTS, "api_test_failure", permissions.OPEN)

    app.add_url_rule("/test-failure", "test_failure", fail)
    app.add_url_rule("/api/v1/test-failure", "api_test_failure", fail)
    response = client.get("/test-failure")
    assert response.status_code == 500
    assert_secured(response)
    response = client.get("/api/v1/test-failure")
    assert response.status_code == 500
    assert response.is_json
    assert_secured(response)


def test_a_form_post_and_its_error_page(signed_in, admin, channel):
    """A state change (POST → redirect) and a refused one (400 page)."""
    post = make_post(admin, [channel.id], title="Hello")
    response = submit(signed_in, f"/posts/{post.id}/pause", form_page=f"/posts/{post.id}")
    assert response.status_code in (302, 303)
    assert_secured(response)
    response = signed_in.post(f"/posts/{post.id}/pause")  # no CSRF token
    assert response.status_code == 400
    assert_secured(response)


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<[^>]+\sstyle=", re.I), "a style attribute"),
    (re.compile(r"<style", re.I), "a <style> element"),
    (re.compile(r"\shx-on[:-]", re.I), "an hx-on attribute (evaluated with eval)"),
    (re.compile(r"\son[a-z]+=", re.I), "an event-handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_pages_have_nothing_the_policy_would_block(signed_in, admin, channel):
    """A quick check without a browser (the browser tests catch the rest, with the policy
    on): pages with swatches, calendar items, queue rows and the week's bars."""
    post = make_post(admin, [channel.id], title="Hello")
    paths = ["/", "/calendar", "/calendar?view=week", "/queue", "/posts", f"/posts/{post.id}",
             "/channels", "/posts/new", "/settings"]
    for path in paths:
        body = signed_in.get(path).get_data(as_text=True)
        for pattern, what in INLINE:
            found = pattern.search(body)
            assert not found, f"{path} has {what}: {found.group(0)!r}"
