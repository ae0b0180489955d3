"""Bearer-token authentication: the token's workspace scopes every call. Every API token is
rate limited; wrong tokens are throttled per client address."""

import logging

from flask import current_app, g, request

from ..errors import DomainError, Forbidden
from ..extensions import csrf, limiter
from ..models import ApiToken, Membership
from ..services import accounts
from ..web import permissions
from . import bp

log = logging.getLogger(__name__)

# Largest request body the API reads (a post's body is at most 100,000 characters).
MAX_BODY_BYTES = 1024 * 1024
WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]
READ_METHODS = ["GET", "HEAD"]

csrf.exempt(bp)  # token auth, no cookies: CSRF does not apply


def _bearer() -> str | None:
    """The token of the request's `Authorization: Bearer <token>`, if it has one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _presented() -> tuple[ApiToken, Membership] | None:
    """The request's token and its holder's membership, or None. Looked up once per request:
    the limits ask (in the app's before_request, ahead of authenticate) and so does
    authenticate."""
    if "api_token" not in g:
        token = _bearer()
        g.api_token = accounts.token_holder(token) if token else None
    return g.api_token


def _api_token() -> ApiToken | None:
    """The request's token when it is one that opens the API (not a calendar feed token)."""
    found = _presented()
    return found[0] if found is not None and found[0].kind == "api" else None


# The one endpoint a calendar feed token opens: it comes in the URL (?token=), as calendar
# apps cannot send headers.
FEED_ENDPOINT = "api.calendar_feed"


def feed_holder() -> tuple[ApiToken, Membership] | None:
    """The calendar feed request's `?token=` and its holder's membership, or None (no such
    token, or one no longer valid). Any kind: the feed view refuses an API token itself."""
    if "feed_token" not in g:
        token = request.args.get("token", "").strip() if request.endpoint == FEED_ENDPOINT \
            else ""
        g.feed_token = accounts.token_holder(token) if token else None
    return g.feed_token


def _valid_feed_token() -> bool:
    found = feed_holder()
    return found is not None and found[0].kind == "feed"


# Guessing tokens: requests without a valid API token (on the feed: a valid feed token) are
# counted per client address (in Redis, shared by every web process); past the limit the
# address gets 429 with Retry-After.
# A valid token is not held back by what others guessed from the same address (a NAT).
limiter.limit(lambda: current_app.config["HERALD_API_AUTH_FAILURE_LIMIT"],
              key_func=lambda: f"api-auth-failures:{request.remote_addr}",
              exempt_when=lambda: _api_token() is not None or _valid_feed_token(),
              deduct_when=lambda response: response.status_code == 401,
              error_message="too many requests with a wrong token from your address; "
                            "wait before trying again (see Retry-After)")(bp)

# Per token, across every route and web process (the counts are in Redis): writes and reads
# each have their own budget per minute, so a script stuck writing can still read. The key is
# the token's id, never the token. Requests without a valid API token are left to the limit
# above. Flask-Limiter (RATELIMIT_HEADERS_ENABLED) adds X-RateLimit-Limit, -Remaining and
# -Reset to every response, 4xx and 429 included; X-RateLimit-Reset is when the minute's
# window ends, in seconds since the Unix epoch (Flask-Limiter's form, as the README says),
# and a 429 also has Retry-After in seconds.
for _setting, _scope, _methods, _what in (
        ("HERALD_API_WRITES_PER_MINUTE", "api-token-writes", WRITE_METHODS, "writes"),
        ("HERALD_API_READS_PER_MINUTE", "api-token-reads", READ_METHODS, "reads")):
    limiter.shared_limit(lambda setting=_setting: f"{current_app.config[setting]} per minute",
                         _scope, methods=_methods,
                         key_func=lambda: f"api-token:{_api_token().id}",
                         exempt_when=lambda: _api_token() is None,
                         error_message=f"this token made too many {_what} this minute; wait "
                                       f"before trying again (see Retry-After)")(bp)


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


@bp.before_request
def authenticate():
    """Every call but the open ones needs an API token; then the permission table
    (web/permissions.py, the pages' too) says whether the holder's role may make it."""
    rule = permissions.needed(request.endpoint)
    if rule == permissions.OPEN:
        return
    if _bearer() is None:
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    found = _presented()
    if found is None:
        raise Unauthorized("invalid or revoked token")
    row, membership = found
    if row.kind != "api":
        raise Unauthorized("this is a calendar feed token: it opens the calendar feed only; "
                           "use an API token")
    g.user_id = row.user_id
    g.workspace_id = row.workspace_id
    g.membership = membership
    accounts.note_token_use(row)
    if rule is None:
        log.error("endpoint %s is not in the permission table: refused", request.endpoint)
        raise Forbidden("no role can do this: it is missing from Herald's permission table")
    if not permissions.allows(membership, request.endpoint):
        raise Forbidden(f"your role ({membership.role}) cannot do this; it needs {rule}")
    # Reading a larger body answers 413 (in the API's error shape).
    request.max_content_length = MAX_BODY_BYTES
