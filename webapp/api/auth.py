"""Bearer-token authentication: the token's workspace scopes every call."""

from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import or_, select, update

from ..errors import DomainError, Forbidden
from ..extensions import csrf, db, limiter
from ..models import ApiToken, Membership
from ..timeutil import now_utc
from . import bp

# Largest request body the API reads (a post's body is at most 100,000 characters).
MAX_BODY_BYTES = 1024 * 1024
# last_used_at is written at most this often per token: a write on every call would take
# SQLite's write lock on every read-only request, and a minute is precise enough to see
# whether a token is still in use.
LAST_USED_PRECISION = timedelta(minutes=1)

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
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash ==
                                                   ApiToken.hash(token.strip())))
    membership = row and db.session.scalar(select(Membership).where(
        Membership.user_id == row.user_id, Membership.workspace_id == row.workspace_id))
    if row is None or membership is None:
        raise Unauthorized("invalid or revoked token")
    g.user_id = row.user_id
    g.workspace_id = row.workspace_id
    g.membership = membership
    _note_use(row)
    # Reading a larger body answers 413 (in the API's error shape).
    request.max_content_length = MAX_BODY_BYTES


def require(role: str) -> None:
    """403 unless the token's user has at least `role` in the workspace."""
    if not g.membership.can(role):
        raise Forbidden(f"your role ({g.membership.role}) cannot do this; it needs {role}")


def _note_use(row: ApiToken) -> None:
    """Record that the token was used, unless that was recorded less than a minute ago.
    The conditional UPDATE keeps it to one write when parallel requests all see it stale."""
    now = now_utc()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_PRECISION:
        return
    db.session.rollback()  # a GET's transaction only reads (database.reading)
    db.session.execute(update(ApiToken).where(
        ApiToken.id == row.id,
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USED_PRECISION))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    db.session.commit()
