"""Reading request data into domain values, collecting every field's error at once."""

from ..errors import ValidationError


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
    if value is None or value == "":
        if required:
            errors.add(name, "is required")
        return None
    if isinstance(value, bool):
        errors.add(name, "must be a whole number")
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int):
        errors.add(name, "must be a whole number")
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        errors.add(name, f"must be between {low} and {high}" if high is not None
                   else f"must be at least {low}")
        return None
    return value


def text(value, name: str, errors: Errors, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(name, "must be a string")
        return ""
    if required and not value.strip():
        errors.add(name, "is required")
    if len(value) > max_length:
        errors.add(name, f"is {len(value)} characters; at most {max_length}")
    return value
