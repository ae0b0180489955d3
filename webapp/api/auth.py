"""Bearer-token authentication: the token's workspace scopes every call."""

from flask import current_app, g, request

from ..errors import DomainError, Forbidden
from ..extensions import csrf, limiter
from ..services import accounts
from . import bp

# Largest request body the API reads (a post's body is at most 100,000 characters).
MAX_BODY_BYTES = 1024 * 1024

csrf.exempt(bp)  # token auth, no cookies: CSRF does not apply
# Guessing tokens: wrong or missing ones are counted per client address (in Redis, shared
# by every web process); past the limit the address gets 429 with Retry-After.
limiter.limit(lambda: current_app.config["HERALD_API_AUTH_FAILURE_LIMIT"],
              key_func=lambda: f"api-auth-failures:{request.remote_addr}",
              deduct_when=lambda response: response.status_code == 401,
              error_message="too many requests with a wrong token from your address; "
                            "wait before trying again (see Retry-After)")(bp)


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


@bp.before_request
def authenticate():
    if request.endpoint == "api.openapi":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    found = accounts.token_holder(token.strip())
    if found is None:
        raise Unauthorized("invalid or revoked token")
    row, membership = found
    g.user_id = row.user_id
    g.workspace_id = row.workspace_id
    g.membership = membership
    accounts.note_token_use(row)
    # Reading a larger body answers 413 (in the API's error shape).
    request.max_content_length = MAX_BODY_BYTES


def require(role: str) -> None:
    """403 unless the token's user has at least `role` in the workspace."""
    if not g.membership.can(role):
        raise Forbidden(f"your role ({g.membership.role}) cannot do this; it needs {role}")
