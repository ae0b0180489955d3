"""Page or fragment: HTMX asks for a part of a page, everything else gets the page."""

from flask import render_template, request


def wants_fragment() -> bool:
    """A fragment only for HTMX's own requests: not for boosted links and not when HTMX
    restores history it no longer has (both need the whole page)."""
    headers = request.headers
    return (headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true"
            and headers.get("HX-History-Restore-Request") != "true")


def render(template: str, partial: str | None = None, *, code: int = 200, **context):
    """The whole page, or only `partial` (which the page includes) for an HTMX request,
    with HTTP status `code`."""
    name = partial if partial and wants_fragment() else template
    return render_template(name, **context), code


def int_arg(name: str, default: int = 1) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 100_000 else default
