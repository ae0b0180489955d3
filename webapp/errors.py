"""Domain errors. web/errors.py turns them into responses: an error page, or the API's error
shape. `code` names the outcome for the API and for views that branch on it."""


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict | None = None, *, reason: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        # Which of its kind it is, for callers that act on it (the services name theirs,
        # e.g. posts.NOT_PAUSED): never the message, which is worded for people.
        self.reason = reason


class ValidationError(DomainError):
    status = 422
    code = "validation_error"

    @classmethod
    def field(cls, name: str, message: str) -> "ValidationError":
        return cls(message, {name: message})


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Gone(DomainError):
    status = 410
    code = "gone"
