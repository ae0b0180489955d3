"""Reading request input for the API."""

import json
import re
from datetime import UTC, datetime

from flask import request
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from ..errors import DomainError, ValidationError
from ..models import MAX_ID
from ..services.validation import unstorable


class IdConverter(IntegerConverter):
    """`<id:name>` in a route: a row id, in ASCII digits (Werkzeug's `int` takes any
    Unicode digit: '/posts/１' would be post 1). The app factory registers it for every
    blueprint (the API's and the pages'), with `refuse_impossible_ids`."""

    regex = r"[0-9]+"


def refuse_impossible_ids(endpoint, values) -> None:
    """404 for an id in the path no row can have (0, or past MAX_ID, where the database's
    id column would overflow), in the words of any other unknown id. Checked after routing
    rather than in the converter: a converter's refusal makes Werkzeug answer 405 when
    another method's rule has the same path."""
    for name, value in (values or {}).items():
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            raise NotFound(f"{name.removesuffix('_id')} {value} not found")


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def json_body() -> dict:
    """The request's JSON object; 400 when it is not JSON or not an object. (Each field's
    validator bounds the numbers it keeps; fields the API does not read are ignored,
    whatever they hold.)"""
    raw = request.get_data(cache=True)
    if not request.is_json:
        raise BadRequest("the request body must be JSON (Content-Type: application/json)")
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object")
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    _check_text(data)
    return data


def optional_json_body() -> dict:
    """json_body() where a body is optional (an approval's comment): {} without one."""
    return json_body() if request.get_data(cache=True).strip() else {}


def _check_text(data: dict) -> None:
    """422, naming the field, for text anywhere in the body (a key too) that no database
    can store: NUL, or a lone surrogate. One check for every field, today's and tomorrow's.
    Walked with a stack: a body nested as deep as the parser allows must not overflow."""
    stack = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str) and unstorable(value):
            raise ValidationError.field(path or "_", unstorable(value))
        if isinstance(value, dict):
            for key in value:
                if unstorable(key):
                    raise ValidationError.field(path or "_", f"a key {unstorable(key)}")
            stack += [(item, f"{path}.{key}" if path else str(key))
                      for key, item in value.items()]
        elif isinstance(value, list):
            stack += [(item, path) for item in value]


def int_arg(name: str, default: int | None = None, low: int = 1, high: int | None = MAX_ID):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < low or (
            high is not None and int(raw) > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError.field(name, f"must be a whole number {bound}")
    return int(raw)


# An instant in a query string, as the OpenAPI document states it: a date, or a date and
# time to the minute or second (fraction optional), with Z or an offset (none means UTC).
# Spelled out so that a day no month has, or hour 24, is refused by the pattern itself
# (only February 29 is left to the calendar check: it exists in leap years).
_DAY = (r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
        r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))")
_TIME = r"T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_OFFSET = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
INSTANT_PATTERN = rf"^(?!0000)[0-9]{{4}}-{_DAY}(?:{_TIME}{_OFFSET}?)?$"


def instant_arg(name: str) -> datetime | None:
    """The query's `name` as an aware UTC instant (INSTANT_PATTERN; February 29 too)."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    text = raw.replace(" ", "+")  # '+' in a query string arrives as a space
    leap_day = re.fullmatch(INSTANT_PATTERN, text.replace("-02-29", "-02-28", 1))
    if not (re.fullmatch(INSTANT_PATTERN, text) or leap_day):
        raise ValidationError.field(name, f"'{raw}' is not an ISO 8601 date-time "
                                          "(e.g. 2027-01-31T09:00:00Z)")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):  # February 29 of a common year; past year 9999
        raise ValidationError.field(name, f"'{raw}' is not a date-time of the calendar") \
            from None


def period_args() -> tuple[datetime | None, datetime | None]:
    """The `from` and `to` instants of a list's query (either may be absent); 422 naming
    `to` when it is before `from`."""
    start, end = instant_arg("from"), instant_arg("to")
    if start and end and end < start:
        raise ValidationError.field("to", "is before 'from'")
    return start, end
