"""Reading request input for the API."""

from datetime import UTC, datetime

from flask import request

from ..errors import DomainError, ValidationError


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


def json_body() -> dict:
    """The request's JSON object; 400 when it is not JSON or not an object."""
    data = request.get_json(silent=True)
    if data is None:
        if request.is_json and request.get_data():
            raise BadRequest("the request body is not valid JSON")
        raise BadRequest("the request body must be JSON (Content-Type: application/json)")
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


def int_arg(name: str, default: int | None = None, low: int = 1, high: int | None = None):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError.field(name, f"must be a whole number {bound}")
    return int(raw)


def instant_arg(name: str) -> datetime | None:
    """An ISO 8601 instant (offset or Z; a bare date or time means UTC)."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    text = raw.strip().replace(" ", "+")  # '+' in a query string arrives as a space
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError.field(name, f"'{raw}' is not an ISO 8601 date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
