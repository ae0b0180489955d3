"""Bearer-token authentication: the token's workspace scopes every call."""

from flask import g, request
from sqlalchemy import select

from ..errors import DomainError, Forbidden
from ..extensions import csrf, db
from ..models import ApiToken, Membership
from ..timeutil import now_utc
from . import bp

# Largest request body the API reads (a post's body is at most 100,000 characters).
MAX_BODY_BYTES = 1024 * 1024

csrf.exempt(bp)  # token auth, no cookies: CSRF does not apply


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
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash ==
                                                   ApiToken.hash(token.strip())))
    membership = row and db.session.scalar(select(Membership).where(
        Membership.user_id == row.user_id, Membership.workspace_id == row.workspace_id))
    if row is None or membership is None:
        raise Unauthorized("invalid or revoked token")
    row.last_used_at = now_utc()
    db.session.commit()
    g.user_id = row.user_id
    g.workspace_id = row.workspace_id
    g.membership = membership
    # Reading a larger body answers 413 (in the API's error shape).
    request.max_content_length = MAX_BODY_BYTES


def require(role: str) -> None:
    """403 unless the token's user has at least `role` in the workspace."""
    if not g.membership.can(role):
        raise Forbidden(f"your role ({g.membership.role}) cannot do this; it needs {role}")
