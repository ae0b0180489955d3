"""The one safe-redirect check: where a `next` value may send the browser."""

from urllib.parse import unquote, urlsplit

from flask import redirect, request, url_for

# Longer values are not a page of ours (and would make long Location headers).
MAX_LENGTH = 2000


def _same_site_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith("//"):
        return False
    # Browsers drop tabs and newlines from URLs and read "\" as "/": "/\evil" and
    # "/<TAB>/evil" are "//evil", another site. No control character belongs in a path.
    if "\\" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def safe_redirect(target: object, default: str) -> str:
    """`target` when it is a path on this site, else `default` (no open redirects).

    Checked as given and once percent-decoded, since a server or browser further on may
    decode it ("/%2F%2Fevil", "/%5Cevil", "/%09/evil")."""
    if not isinstance(target, str) or not target or len(target) > MAX_LENGTH:
        return default
    if _same_site_path(target) and _same_site_path(unquote(target)):
        return target
    return default


def back(default_endpoint: str, **values):
    """303 to the form's `next` field when it is safe, else to `default_endpoint`."""
    default = url_for(default_endpoint, **values)
    return redirect(safe_redirect(request.form.get("next"), default), 303)
