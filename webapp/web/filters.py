"""Template filters: instants and wall times as the signed-in user reads them."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_login import current_user

from ..timeutil import describe_rule, resolve
from .access import user_zone


def init_app(app: Flask) -> None:
    app.add_template_filter(local)
    app.add_template_filter(wall)
    app.add_template_filter(iso)
    app.add_template_filter(describe_rule, "recurrence")  # a schedule's RRULE in words


def local(value: datetime | None, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
    """An instant in the signed-in user's zone, with the zone's abbreviation."""
    if value is None:
        return "—"
    zone = user_zone() if current_user.is_authenticated else ZoneInfo("UTC")
    try:
        return value.astimezone(zone).strftime(fmt)
    except OverflowError:  # at the very end of the calendar
        return value.strftime(fmt.replace("%Z", "UTC"))


def wall(value: datetime | None, zone_name: str, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
    """A wall time of a schedule (naive, in `zone_name`), with the zone's abbreviation."""
    if value is None:
        return "—"
    try:
        return resolve(value, ZoneInfo(zone_name)).local.strftime(fmt)
    except OverflowError:  # at the very end of the calendar
        return value.strftime(fmt.replace("%Z", zone_name))


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""
