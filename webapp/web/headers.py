"""Security headers on every response: pages, API, static files and error pages alike.

A plain after_request hook rather than Flask-Talisman: the headers are a few constant
strings, and Talisman's defaults (forced HTTPS redirects, HSTS, Secure session cookies)
belong to webapp/sessions.py, which decides them from how the app is served; turning them
off again would be most of the configuration. `Cache-Control` is ours to write either way.
"""

from flask import Flask, request

# Everything the pages load comes from Herald itself: scripts and styles only from files
# under static/ (no inline <script>, style="" or hx-on:*, no eval: see base.html's
# htmx-config), images from static/ or data: URLs (the empty favicon).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # For browsers that predate frame-ancestors.
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


# Calendar apps poll the feed with If-None-Match: they keep the last answer (privately, and
# revalidated every time; api/feeds.py says so), so it cannot be no-store.
REVALIDATED = "api.calendar_feed"


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response):
    """Runs for error responses too (Flask calls after_request hooks for the responses of
    error handlers, the 500 page included)."""
    response.headers.update(HEADERS)
    # Nothing but the static files may be kept by a browser or a proxy: the rest shows a
    # workspace's data, or carries a CSRF token and a session cookie (signed-out pages).
    if request.endpoint == REVALIDATED and response.status_code in (200, 304):
        return response
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response
