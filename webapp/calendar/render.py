"""The HTML of one calendar item.

This is the one piece of the calendar's markup written in Python rather than in a
template: a month can hold thousands of items, and a Jinja macro costs about ten times as
much per item as this format string (see bench/calendar_month.py). Everything around the
items lives in templates/calendar/. Every value from the database is escaped here.
"""

from markupsafe import Markup, escape

from .items import Item

ITEM = (
    '<li class="cal-item st-{status}" style="--c:{color}" data-ref="{ref}" '
    'data-time="{time}"{drag}><a class="cal-open" href="{url}" hx-get="{url}">'
    '<span class="cal-line">{grip}<span class="cal-icon" aria-hidden="true">{icon}</span>'
    '<span class="visually-hidden">{label}: </span><time datetime="{iso}">{hm}</time>'
    '{repeats}{warn} <span class="cal-what">{title}</span></span>'
    '<span class="cal-chans">{channels}</span></a>{move}</li>'
)
GRIP = '<span class="cal-grip" aria-hidden="true" title="Drag to move">⠿</span>'
DRAG = ' draggable="true"'
REPEATS = (' <span class="cal-rep" title="Repeats">↻<span class="visually-hidden"> (repeats)'
           '</span></span>')
WARN = (' <span class="cal-warn" title="{0}">⚠<span class="visually-hidden"> (daylight saving: '
        '{0})</span></span>')
CHANNEL = ('<span class="cal-chan"><span class="swatch" style="background:{color}" '
           'aria-hidden="true"></span>{name}</span>')
MOVE = ('<button type="button" class="cal-move" hx-get="{url}&amp;move=1">Move to…'
        '<span class="visually-hidden"> (“{title}” at {hm})</span></button>')


class ItemRenderer:
    """Renders items for one page: `open_url` ends in "ref=" (the item's ref completes it);
    `editable` says whether the viewer may move items (drag handle, "Move to…")."""

    def __init__(self, open_url: str, editable: bool):
        self.open_url = str(escape(open_url))
        self.editable = editable
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
        movable = self.editable and item.movable
        return ITEM.format(
            status=item.status, color=item.color, ref=item.ref, time=item.time,
            drag=DRAG if movable else "", url=url,
            grip=GRIP if movable else "",
            icon=item.icon, label=item.label, iso=item.iso, hm=item.hm, title=title,
            repeats=REPEATS if item.recurring else "",
            warn=WARN.format(escape(" ".join(item.warnings))) if item.warnings else "",
            channels=self._channels(item),
            move=MOVE.format(url=url, title=title, hm=item.hm) if movable else "")

    def many(self, items) -> Markup:
        """Several items at once (a day or an hour): one call from the template."""
        return Markup("".join(map(self._html, items)))
