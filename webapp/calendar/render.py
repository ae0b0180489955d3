"""The HTML of one calendar item.

This is the one piece of the calendar's markup written in Python rather than in a
template: a month can hold thousands of items, and a Jinja macro costs about ten times as
much per item as this f-string (see bench/calendar_month.py). Everything around the items
lives in templates/calendar/. Every value from the database is escaped here.

The markup is an f-string rather than a `str.format` template, which is parsed again on
every call: rendering a month of items takes a third less time that way.
"""

from markupsafe import Markup, escape

from ..services.calendar import ICONS, LABELS, Item

GRIP = '<span class="cal-grip" aria-hidden="true" title="Drag to move">⠿</span>'
DRAG = ' draggable="true"'
# The status as a shape for the eye and as words for screen readers.
STATUS = {s: f'<span class="cal-icon" aria-hidden="true">{ICONS[s]}</span>'
             f'<span class="visually-hidden">{LABELS[s]}: </span>' for s in ICONS}
REPEATS = (' <span class="cal-rep" title="Repeats">↻<span class="visually-hidden"> (repeats)'
           '</span></span>')
WARN = (' <span class="cal-warn" title="{0}">⚠<span class="visually-hidden"> (daylight saving: '
        '{0})</span></span>')
# Colours are SVG fills (presentation attributes), never style="": the pages' Content-
# Security-Policy refuses inline styles. The swatch is the `swatch` macro of
# templates/_macros.html; the tint is the item's coloured edge and background.
CHANNEL = ('<span class="cal-chan"><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true" '
           'focusable="false"><circle cx="5" cy="5" r="4.5" fill="{color}"/></svg>{name}</span>')


class ItemRenderer:
    """Renders items for one page: `open_url` ends in "ref=" (the item's ref completes it);
    `editable` says whether the viewer may move items (drag handle, "Move to…")."""

    def __init__(self, open_url: str, editable: bool):
        self.open_url = str(escape(open_url))
        self.editable = editable
        # Escaped once per page, not once per item (a post's title, a channel's chip).
        self.channels: dict[int, str] = {}
        self.titles: dict[str, str] = {}

    def _channels(self, item: Item) -> str:
        parts = []
        for c in item.channels:
            html = self.channels.get(c.id)
            if html is None:
                html = self.channels[c.id] = CHANNEL.format(color=escape(c.color),
                                                            name=escape(c.name))
            parts.append(html)
        return "".join(parts)

    def __call__(self, item: Item) -> Markup:
        return Markup(self._html(item))

    def _html(self, item: Item) -> str:
        title = self.titles.get(item.title)
        if title is None:
            title = self.titles[item.title] = str(escape(item.title))
        url = self.open_url + item.ref
        # "2026-03-01T09:05:00+01:00": one C call gives both the hour and the seconds.
        local = item.local.isoformat()
        hm = local[11:16]
        movable = self.editable and item.movable
        warn = WARN.format(escape(" ".join(item.warnings))) if item.warnings else ""
        move = (f'<button type="button" class="cal-move" hx-get="{url}&amp;move=1">Move to…'
                f'<span class="visually-hidden"> (“{title}” at {hm})</span></button>'
                if movable else "")
        return (
            f'<li class="cal-item st-{item.status}" data-ref="{item.ref}" '
            f'data-time="{local[11:19]}"{DRAG if movable else ""}>'
            f'<svg class="cal-tint" aria-hidden="true" focusable="false"><rect width="100%" '
            f'height="100%" fill="{item.color}" fill-opacity=".12"/><rect width="4" '
            f'height="100%" fill="{item.color}"/></svg>'
            f'<a class="cal-open" href="{url}" hx-get="{url}"><span class="cal-line">'
            f'{GRIP if movable else ""}{STATUS[item.status]}'
            f'<time datetime="{item.at.isoformat()}">{hm}</time>'
            f'{REPEATS if item.recurring else ""}{warn} <span class="cal-what">{title}</span>'
            f'</span><span class="cal-chans">{self._channels(item)}</span></a>{move}</li>')

    def many(self, items) -> Markup:
        """Several items at once (a day or an hour): one call from the template."""
        return Markup("".join(map(self._html, items)))
