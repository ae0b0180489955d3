"""Reading request data into domain values, collecting every field's error at once."""

from ..errors import NotFound, ValidationError
from ..extensions import db
from ..models import MAX_ID


def row_id(raw: object) -> int | None:
    """An id as an address or a form gives it: ASCII digits naming a possible row (1 to
    MAX_ID), else None. (str.isdigit() alone takes "²", which int() refuses, and "٣".)"""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 10:
        value = int(raw)
        return value if 0 < value <= MAX_ID else None
    return None


def in_workspace(model, workspace_id: int, row_id, label: str):
    """The row of `model` with this id in this workspace, or NotFound (also for another
    workspace's row: never reveal that it exists)."""
    valid = isinstance(row_id, int) and not isinstance(row_id, bool) and 0 < row_id <= MAX_ID
    row = db.session.get(model, row_id) if valid else None
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(f"{label} {row_id} not found")
    return row


class Errors:
    """Collects field errors; `raise_if_any()` turns them into one ValidationError."""

    def __init__(self):
        self.fields: dict[str, str] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def capture(self, exc: ValidationError) -> None:
        for name, message in exc.fields.items():
            self.add(name, message)
        if not exc.fields:
            self.add("_", exc.message)

    def raise_if_any(self, message: str = "the request has invalid fields") -> None:
        if self.fields:
            first = next(iter(self.fields.items()))
            raise ValidationError(f"{message}: {first[0]}: {first[1]}", dict(self.fields))


def integer(value, name: str, errors: Errors, *, low: int | None = None,
            high: int | None = None, required: bool = False) -> int | None:
    """A whole number from JSON or a form (within low..high, at most MAX_ID), else None
    with the problem added to `errors` under `name`."""
    if value is None or value == "":
        if required:
            errors.add(name, "is required")
        return None
    if isinstance(value, bool):
        errors.add(name, "must be a whole number")
        return None
    digits = value.strip().lstrip("-") if isinstance(value, str) else ""
    if digits.isascii() and digits.isdigit():
        value = int(value)
    if not isinstance(value, int):
        errors.add(name, "must be a whole number")
        return None
    high = MAX_ID if high is None else high
    if (low is not None and value < low) or (high is not None and value > high):
        errors.add(name, f"must be between {low} and {high}")
        return None
    return value


def unstorable(value: str) -> str | None:
    """Why a string cannot be stored, or None. NUL ends strings in PostgreSQL, and a lone
    surrogate (JSON's "\\ud800") is not Unicode text: no database or encoder takes it."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate character (invalid Unicode)"
    return None


def text(value, name: str, errors: Errors, *, max_length: int, required: bool = False) -> str:
    """A string any database can store, at most `max_length` long, else "" with the problem
    added to `errors` under `name`."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(name, "must be a string")
        return ""
    problem = unstorable(value)
    if problem:
        errors.add(name, problem)
        return ""
    if required and not value.strip():
        errors.add(name, "is required")
    if len(value) > max_length:
        errors.add(name, f"is {len(value)} characters; at most {max_length}")
    return value
