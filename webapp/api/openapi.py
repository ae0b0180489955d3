"""GET /api/v1/openapi.json — the contract in OpenAPI 3.

Every bound, enum and pattern below is the constant the server checks, imported from where
it is enforced, so that a client generated from the document (or a schema-driven fuzzer)
finds no request the document calls valid refused for a reason it does not state, and no
request it calls invalid accepted. What a schema cannot say (a time in the past, an unknown
channel or zone, text too long for a platform) is said in the descriptions; the server
answers it with 422 and names the field. tests/api/test_openapi.py checks this against the
routes and the constants."""

from flask import jsonify

from ..models import (
    APPROVAL_MODES,
    APPROVAL_STATUSES,
    CAMPAIGN_STATUSES,
    DELIVERY_ACTIONS,
    DELIVERY_STATUSES,
    HOOK_EVENTS,
    ROLES,
    TOKEN_KINDS,
)
from ..models.posts import POST_STATUSES, SCHEDULE_STATUSES
from ..services import campaigns, templates
from ..services.accounts import TOKEN_NAME_MAX
from ..services.approvals import COMMENT_MAX
from ..services.audit import ACTION, OBJECT_TYPES
from ..services.channels import NAME_MAX, PUBLISHERS, RATE_LIMIT_MAX
from ..services.feeds import MAX_EVENTS, PAST_DAYS
from ..services.hooks import SECRET_MAX, URL_MAX
from ..services.imports import COLUMNS
from ..services.imports import MAX_ROWS as CSV_MAX_ROWS
from ..services.posts import BODY_MAX, EDITABLE_STATUSES, TAG_MAX, TITLE_MAX
from ..services.team import EMAIL_MAX
from ..timeutil import MAX_COUNT, MAX_RULE_LENGTH
from . import bp
from .deliveries import MAX_STATS_DAYS, MAX_UPCOMING_HOURS
from .inputs import INSTANT_PATTERN, MAX_ID
from .posts import MAX_OCCURRENCES
from .serializers import MAX_PAGE, MAX_PER_PAGE


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR_RESPONSES = {
    400: ("BadRequest", "The body is not JSON, not a JSON object, or not sent as "
                        "application/json."),
    401: ("Unauthorized", "No valid bearer token (WWW-Authenticate says which scheme)."),
    403: ("Forbidden", "The token's role lacks the right."),
    404: ("NotFound", "No such resource in the token's workspace (another workspace's "
                      "looks the same)."),
    409: ("Conflict", "The resource's state does not allow it (e.g. editing a post that went "
                      "out, retrying a delivery that did not fail)."),
    413: ("PayloadTooLarge", "The body is larger than 1 MiB."),
    422: ("ValidationError", "A field is invalid; `fields` names each (dotted paths into "
                             "the body, or the query parameter)."),
    429: ("RateLimited", "Too many requests: this token's writes or reads this minute "
                         "(HERALD_API_WRITES_PER_MINUTE, HERALD_API_READS_PER_MINUTE), or, "
                         "without a valid token, this address's failed ones. Retry-After "
                         "says when to try again."),
}

# On every response of a call with a token (those without one: the address's failure limit).
RATE_HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests allowed per minute (this token's writes "
                          "or reads, whichever the call is)", "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the current minute",
                              "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "When the current window ends, in seconds since "
                          "the Unix epoch", "schema": {"type": "integer"}},
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                               "schema": {"type": "integer"}}}

ID = [{"name": "id", "in": "path", "required": True,
       "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}]
PAGE = [{"name": "page", "in": "query", "allowEmptyValue": True,
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
        {"name": "per_page", "in": "query", "allowEmptyValue": True,
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 50}}]
INSTANT_QUERY = {"type": "string", "pattern": INSTANT_PATTERN,
                 "description": "ISO 8601: a date, or a date and time to the minute or second "
                                "(a fraction optional), with Z or an offset; none means UTC. "
                                "February 29 is also taken in leap years."}


def _count(high, default, description=None):
    schema = {"type": "integer", "minimum": 1, "maximum": high, "default": default}
    return schema | ({"description": description} if description else {})


def _query(name, schema):
    # An empty value (`?status=`) means the parameter's default, as if it were absent.
    return {"name": name, "in": "query", "allowEmptyValue": True, "schema": schema}


def _id_query(name):
    return _query(name, {"type": "integer", "minimum": 1, "maximum": MAX_ID})


def _period():
    return [_query("from", INSTANT_QUERY),
            _query("to", INSTANT_QUERY | {"description": INSTANT_QUERY["description"]
                                          + " Not before `from` (422)."})]


def _op(summary, ok, *, params=(), body=None, status="200", errors=(), description=None):
    """An operation answering `ok` with `status`, or one of `errors` (401 always; 400, 413
    and 422 when it reads a body; 404 when it names an id in its path; 422 when it reads
    query parameters)."""
    params = list(params)
    codes = {401, 429, *errors}
    if body:
        codes |= {400, 413, 422}
    if any(p["in"] == "path" for p in params):
        codes.add(404)
    if any(p["in"] == "query" for p in params):
        codes.add(422)
    op = {"summary": summary, "parameters": params,
          "responses": {status: ok | {"headers": _headers(RATE_HEADERS)}, **{str(code): {
              "$ref": f"#/components/responses/{ERROR_RESPONSES[code][0]}"}
              for code in sorted(codes)}}}
    if description:
        op["description"] = description
    if body:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _ref(body)}}}
    return op



def _import_op() -> dict:
    """POST /posts/import: a CSV file in, as multipart `file` or as the text/csv body."""
    op = _op("Import posts from CSV (all rows or none)", _json({
        "type": "object", "required": ["imported", "scheduled", "drafts"], "properties": {
            "imported": {"type": "integer"}, "scheduled": {"type": "integer"},
            "drafts": {"type": "integer"}, "first_post_id": {"type": "integer"},
            "last_post_id": {"type": "integer"},
            "warnings": {"type": "array", "items": {"type": "string"}}}}, "Created"),
        params=[_query("timezone", {"type": "string"})], status="201", errors=(403, 413),
        description=f"The columns of GET /posts/export.csv ({', '.join(COLUMNS)}); at most "
                    f"{CSV_MAX_ROWS:,} rows. Wall times without a `timezone` column are in "
                    "`?timezone=`, else the token holder's zone. A refusal (422) names each "
                    "problem under `rows.<row>` or `rows.<row>.<column>` in `fields`, rows "
                    "numbered as a spreadsheet numbers them (the header is row 1).")
    op["requestBody"] = {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string",
                                                                   "format": "binary"}}}},
        "text/csv": {"schema": {"type": "string"}}}}
    op["responses"]["400"] = {"$ref": "#/components/responses/BadRequest"}
    return op

def _headers(names) -> dict:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _list(name):
    return {"type": "object", "required": ["items", "page", "per_page", "total"], "properties": {
        "items": {"type": "array", "items": _ref(name)}, "page": {"type": "integer"},
        "per_page": {"type": "integer"}, "total": {"type": "integer"}}}


NULLABLE_STR = {"type": "string", "nullable": True}
ROLE = {"type": "string", "enum": list(ROLES)}
INSTANT = {"type": "string", "format": "date-time", "nullable": True}
# Text that must hold something besides whitespace (JSON Schema's pattern searches).
NOT_BLANK = r"\S"
COLOR = {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}
URL = {"type": "string", "pattern": r"^\s*https?://[^\s/?#@:\[\]]+",
       "description": "http:// or https://; it must not point at a private or loopback "
                      "address unless HERALD_ALLOW_PRIVATE_NETWORKS=1 (422)."}
RATE_LIMIT = {"type": "integer", "minimum": 1, "maximum": RATE_LIMIT_MAX, "nullable": True}
CHANNEL_NAME = {"type": "string", "minLength": 1, "maxLength": NAME_MAX, "pattern": NOT_BLANK}


def _nullable_enum(values) -> dict:
    # OpenAPI 3.0: `nullable` does not widen an `enum`; null must be one of its values.
    return {"type": "string", "enum": [*values, None], "nullable": True}


def _setting(cls, key: str, required: bool) -> dict:
    if key.endswith("url"):
        return dict(URL)
    if key == "visibility":
        return _nullable_enum(cls.visibilities)
    if required:
        return {"type": "string", "minLength": 1, "pattern": NOT_BLANK}
    return {"type": "string", "nullable": True}


def _config(cls, partial: bool = False) -> dict:
    """A platform's `config`: its settings (credentials are write-only), nothing else."""
    known = dict.fromkeys(cls.required_fields + cls.secret_fields + cls.optional_fields)
    schema = {"type": "object", "additionalProperties": False, "properties": {
        key: _setting(cls, key, key in cls.required_fields and not partial) for key in known}}
    if not partial:
        schema["required"] = list(cls.required_fields)
    return schema


def _channel_in(cls) -> dict:
    return {"type": "object", "required": ["name", "platform", "config"], "properties": {
        "name": CHANNEL_NAME, "platform": {"type": "string", "enum": [cls.platform]},
        "config": _config(cls), "color": COLOR | {"nullable": True},
        "rate_limit_per_hour": RATE_LIMIT, "paused": {"type": "boolean"}}}


SCHEDULE_IN = {
    "type": "object", "required": ["at", "timezone"],
    "description": "The first occurrence must be in the future, and the rule must have one "
                   "(422 otherwise).", "properties": {
        "at": {"type": "string", "description": "local wall time (2026-12-01T09:00) or an "
               "instant with an offset or Z; a time that is not one, or is in the past, is "
               "422"},
        "timezone": {"type": "string", "minLength": 1,
                     "description": "an IANA zone such as Europe/Berlin (unknown zones: 422)"},
        "recurrence": {"type": "string", "nullable": True, "maxLength": MAX_RULE_LENGTH,
                       "description":
                       "an RFC 5545 RRULE (UNTIL may be UTC, ...Z); daily / weekly / monthly; "
                       "weekly:<days> (weekday names or mon..sun, comma-separated: "
                       "weekly:monday,thursday); monthly:<1..31> (a day a month lacks falls on "
                       "its last day) or monthly:-1 (the last day); cron:<5 fields> (cron:0 9 "
                       "* * 1-5, evaluated in `timezone`'s wall time; no seconds field). An "
                       "invalid rule, an unknown weekday, a cron expression that never "
                       "matches, or one that repeats too often, is 422",
                       "example": "weekly:monday,thursday"},
        "until": {"type": "string", "nullable": True,
                  "description": "local date or date-time, not before `at`"},
        "count": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT, "nullable": True},
        "unpublish_at": {"type": "string", "nullable": True,
                         "description": "when the published post is removed from each "
                         "channel: local wall time in `timezone`, or an instant with an "
                         "offset/Z, like `at`; after `at`. One-off schedules only (with "
                         "`recurrence` it is 422), and every channel's platform must allow "
                         "removal (otherwise 422 with the platform's reason).",
                         "example": "2026-12-02T09:00"},
        "action": {"type": "string", "enum": ["publish"]}}}

POST_FIELDS = {
    "title": {"type": "string", "maxLength": TITLE_MAX, "nullable": True},
    "body": {"type": "string", "minLength": 1, "maxLength": BODY_MAX, "pattern": NOT_BLANK,
             "description": "also at most what each channel's platform allows (422)"},
    "channel_ids": {"type": "array", "nullable": True, "items": {
        "type": "integer", "minimum": 1, "maximum": MAX_ID},
        "description": "channels of the workspace (an unknown one is 422); a scheduled post "
                       "needs at least one"},
    "overrides": {"type": "object", "nullable": True,
                  "additionalProperties": {"type": "string"},
                  "description": "text per channel id, for channels among channel_ids"},
    "schedule": _ref("ScheduleIn"),
    "priority": {"type": "integer", "minimum": 1, "maximum": 10, "nullable": True},
    "campaign_id": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "nullable": True,
                    "description": "a campaign of the workspace (an unknown one is 422)"},
    "tags": {"type": "array", "nullable": True,
             "items": {"type": "string", "maxLength": TAG_MAX}},
    "status": _nullable_enum(EDITABLE_STATUSES) | {
        "description": "scheduled (the default with a schedule) needs a schedule"},
}

SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message", "fields"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
    **{f"ChannelIn{cls.platform.title()}": _channel_in(cls) for cls in PUBLISHERS.values()},
    "ChannelIn": {"type": "object", "description": "Credentials inside config are "
                  "write-only: responses only say whether each is set.",
                  "oneOf": [_ref(f"ChannelIn{cls.platform.title()}")
                            for cls in PUBLISHERS.values()],
                  "discriminator": {"propertyName": "platform", "mapping": {
                      cls.platform: f"#/components/schemas/ChannelIn{cls.platform.title()}"
                      for cls in PUBLISHERS.values()}}},
    "ChannelPatch": {"type": "object", "description": "Any of ChannelIn's fields but "
                     "platform, which cannot change (sent, it must be the channel's own; 422 "
                     "otherwise). Config keys not given keep their values; a null removes "
                     "one (e.g. a webhook's secret); keys are the channel's platform's "
                     "(others are 422).", "properties": {
        "name": CHANNEL_NAME,
        "config": {"type": "object", "nullable": True, "properties": {
            key: schema for cls in PUBLISHERS.values()
            for key, schema in _config(cls, partial=True)["properties"].items()}},
        "color": COLOR | {"nullable": True}, "rate_limit_per_hour": RATE_LIMIT,
        "paused": {"type": "boolean"}}},
    "Channel": {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "platform": {"type": "string", "enum": sorted(PUBLISHERS)},
        "color": {"type": "string"},
        "config": {"type": "object", "description": "Settings, and `<credential>_set` for "
                   "each credential. URL settings are shown whole to admins (a user:pass@ "
                   "password masked as •••) and as scheme, host and port to everyone else, "
                   "the rest masked: `https://hooks.example.com/•••`."},
        "rate_limit_per_hour": {"type": "integer", "nullable": True},
        "paused": {"type": "boolean"}, "created_at": INSTANT, "updated_at": INSTANT}},
    "ScheduleIn": SCHEDULE_IN,
    "MarkPublishedIn": {"type": "object", "properties": {
        "external_url": {"type": "string", "nullable": True, "maxLength": 1000,
                         "description": "where it was published (http or https)"}}},
    "PostIn": {"type": "object", "required": ["body"], "properties": POST_FIELDS},
    "PostPatch": {"type": "object", "description": "Any of PostIn's fields. A post that went "
                  "out and has nothing left to come keeps its text, channels and schedule "
                  "(409); its tags and campaign can change.", "properties": POST_FIELDS},
    "Schedule": {"type": "object", "properties": {
        "id": {"type": "integer"}, "action": {"type": "string"}, "at": {"type": "string"},
        "timezone": {"type": "string"}, "recurrence": NULLABLE_STR, "until": NULLABLE_STR,
        "count": {"type": "integer", "nullable": True},
        "status": {"type": "string", "enum": list(SCHEDULE_STATUSES)},
        "next_run_at": INSTANT, "run_count": {"type": "integer"},
        "error_count": {"type": "integer"},
        "unpublish_at": INSTANT | {"description": "when the published post is removed "
                                   "(UTC), or null"},
        "unpublish_local": NULLABLE_STR | {"description": "that time as wall time in "
                                           "`timezone`"}}},
    "Post": {"type": "object", "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "body": {"type": "string"},
        "channel_ids": {"type": "array", "items": {"type": "integer"}},
        "overrides": {"type": "object"}, "tags": {"type": "array", "items": {"type": "string"}},
        "priority": {"type": "integer"}, "campaign_id": {"type": "integer", "nullable": True},
        "status": {"type": "string", "enum": list(POST_STATUSES)},
        "created_at": INSTANT, "updated_at": INSTANT,
        "schedules": {"type": "array", "items": _ref("Schedule")},
        "deliveries": {"type": "array", "items": _ref("Delivery")},
        "approval": {"type": "object", "nullable": True, "description": "The latest "
                     "approval request (a rejection's comment is here)", "properties": {
            "status": {"type": "string", "enum": list(APPROVAL_STATUSES)},
            "comment": {"type": "string"}, "decided_at": INSTANT}}}},
    "Delivery": {"type": "object", "properties": {
        "id": {"type": "integer"}, "post_id": {"type": "integer"},
        "channel_id": {"type": "integer"}, "due_at": INSTANT,
        "status": {"type": "string", "enum": list(DELIVERY_STATUSES),
                   "description": "unknown: the request may have reached a platform that "
                   "cannot deduplicate and no answer came back; never resent by itself "
                   "(retry it, or mark it published)"},
        "action": {"type": "string", "enum": list(DELIVERY_ACTIONS),
                   "description": "unpublish: removes what the channel's publication "
                   "returned (external_id), at the schedule's unpublish_at"},
        "attempts": {"type": "integer"}, "last_error": NULLABLE_STR,
        "external_id": NULLABLE_STR, "external_url": NULLABLE_STR,
        "started_at": INSTANT, "finished_at": INSTANT, "next_attempt_at": INSTANT,
        "warnings": {"type": "array", "items": {"type": "string"}}}},
    "Workspace": {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "approval": {"type": "string", "enum": list(APPROVAL_MODES)},
        "created_at": INSTANT}},
    "WorkspacePatch": {"type": "object", "properties": {
        "approval": {"type": "string", "enum": list(APPROVAL_MODES), "description":
                     "required: what an editor schedules waits for an approver"}}},
    "Approval": {"type": "object", "properties": {
        "id": {"type": "integer"}, "post_id": {"type": "integer"},
        "status": {"type": "string", "enum": list(APPROVAL_STATUSES)},
        "requested_by": {"type": "integer", "nullable": True}, "requested_at": INSTANT,
        "decided_by": {"type": "integer", "nullable": True}, "decided_via": NULLABLE_STR,
        "decided_at": INSTANT, "comment": {"type": "string"},
        "post": {"type": "object", "properties": {
            "id": {"type": "integer"}, "title": {"type": "string"},
            "status": {"type": "string", "enum": list(POST_STATUSES)}}}}},
    "Decision": {"type": "object", "properties": {
        "comment": {"type": "string", "maxLength": COMMENT_MAX}}},
    "Member": {"type": "object", "properties": {
        "id": {"type": "integer", "description": "the membership's id"},
        "user_id": {"type": "integer"}, "email": {"type": "string"},
        "role": ROLE, "joined_at": INSTANT}},
    "MemberIn": {"type": "object", "required": ["email", "role"], "properties": {
        "email": {"type": "string", "minLength": 3, "maxLength": EMAIL_MAX,
                  "description": "compared without surrounding spaces and case; a member "
                                 "of the workspace already is 422"},
        "role": ROLE}},
    "MemberPatch": {"type": "object", "required": ["role"], "properties": {"role": ROLE}},
    "Invitation": {"type": "object", "properties": {
        "id": {"type": "integer"}, "email": {"type": "string"}, "role": ROLE,
        "expires_at": INSTANT,
        "url": {"type": "string", "description": "the one-time link (valid 7 days), "
                "shown only in this answer; opening it makes or signs in the account of "
                "`email` and joins the workspace"}}},
    "HookIn": {"type": "object", "required": ["url", "events"], "description": "Each "
               "event is POSTed to `url` like a webhook channel's message (the same "
               "X-Herald-Signature when a secret is set, the same retries), body "
               "`{\"event\", \"at\", \"data\"}`.", "properties": {
        "url": URL | {"maxLength": URL_MAX},
        "secret": {"type": "string", "maxLength": SECRET_MAX, "nullable": True,
                   "description": "write-only: responses only say has_secret"},
        "events": {"type": "array", "minItems": 1, "items": {
            "type": "string", "enum": list(HOOK_EVENTS)}}}},
    "Hook": {"type": "object", "properties": {
        "id": {"type": "integer"}, "url": {"type": "string"},
        "events": {"type": "array", "items": {"type": "string", "enum": list(HOOK_EVENTS)}},
        "has_secret": {"type": "boolean"}, "created_at": INSTANT}},
    "Occurrence": {"type": "object", "properties": {
        "at": INSTANT, "local": {"type": "string"},
        "warnings": {"type": "array", "items": {"type": "string"}}}},
    "TokenIn": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": TOKEN_NAME_MAX,
                 "pattern": NOT_BLANK},
        "kind": {"type": "string", "enum": list(TOKEN_KINDS), "default": "api",
                 "description": "api: opens the API; feed: opens only the calendar feed "
                                "(the API refuses it with 401)"}}},
    "Token": {"type": "object", "description": "Neither the token nor its hash is shown "
              "after it is made.", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "kind": {"type": "string", "enum": list(TOKEN_KINDS)},
        "created_at": INSTANT, "last_used_at": INSTANT}},
    "NewToken": {"type": "object", "required": ["id", "name", "kind", "token", "created_at"],
                 "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "kind": {"type": "string", "enum": list(TOKEN_KINDS)},
        "token": {"type": "string", "description": "The token itself, shown this once"},
        "created_at": INSTANT}},
    "AuditEvent": {"type": "object", "properties": {
        "at": INSTANT, "user_id": {"type": "integer", "nullable": True,
                                   "description": "null for Herald's own events"},
        "action": {"type": "string"}, "object_type": {"type": "string"},
        "object_id": {"type": "integer", "nullable": True},
        "before": {"type": "object", "nullable": True},
        "after": {"type": "object", "nullable": True}}},
}

DATE = {"type": "string", "format": "date", "nullable": True,
        "description": "YYYY-MM-DD"}
CAMPAIGN_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": campaigns.NAME_MAX,
             "pattern": NOT_BLANK, "description": "unique in the workspace (422 otherwise)"},
    "description": {"type": "string", "maxLength": campaigns.DESCRIPTION_MAX,
                    "nullable": True},
    "color": COLOR | {"nullable": True},
    "status": {"type": "string", "enum": list(CAMPAIGN_STATUSES),
               "description": "paused pauses every schedule of the campaign's posts; "
                              "active (from paused) resumes them"},
    "tags": {"type": "array", "nullable": True, "maxItems": campaigns.TAGS_MAX,
             "items": {"type": "string", "maxLength": campaigns.TAG_MAX}},
    "target_post_count": {"type": "integer", "minimum": 1, "maximum": campaigns.TARGET_MAX,
                          "nullable": True},
    "start_date": DATE,
    "end_date": DATE | {"description": "YYYY-MM-DD, not before start_date (422)"},
}
SCHEMAS |= {
    "CampaignIn": {"type": "object", "required": ["name"], "properties": CAMPAIGN_FIELDS},
    "CampaignPatch": {"type": "object", "description": "Any of CampaignIn's fields.",
                      "properties": CAMPAIGN_FIELDS},
    "Campaign": {"type": "object", "properties": {
        "id": {"type": "integer"}, **{name: {k: v for k, v in schema.items()
                                             if k in ("type", "nullable", "format", "items")}
                                      for name, schema in CAMPAIGN_FIELDS.items()},
        "created_at": INSTANT, "updated_at": INSTANT}},
    "CampaignStats": {"type": "object", "properties": {
        "campaign_id": {"type": "integer"}, "total_posts": {"type": "integer"},
        "scheduled": {"type": "integer"},
        "published": {"type": "integer", "description": "published or partially published"},
        "failed": {"type": "integer"},
        "progress": {"type": "number", "nullable": True,
                     "description": "published / target_post_count (null without a target)"},
        "days_remaining": {"type": "integer", "nullable": True,
                           "description": "days until end_date (0 once passed; null "
                                          "without one)"},
        "status_distribution": {"type": "object", "description": "posts by status",
                                "additionalProperties": {"type": "integer"}}}},
}

TEMPLATE_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": templates.NAME_MAX,
             "pattern": NOT_BLANK},
    "description": {"type": "string", "maxLength": templates.DESCRIPTION_MAX,
                    "nullable": True},
    "title": POST_FIELDS["title"], "body": POST_FIELDS["body"],
    "channel_ids": POST_FIELDS["channel_ids"] | {
        "description": "channels of the workspace (an unknown one is 422)"},
    "overrides": POST_FIELDS["overrides"], "tags": POST_FIELDS["tags"],
    "priority": POST_FIELDS["priority"], "campaign_id": POST_FIELDS["campaign_id"],
    "recurrence": {"type": "string", "nullable": True,
                   "description": "as ScheduleIn's recurrence (an invalid rule is 422); a "
                                  "post made from the template with a schedule that gives "
                                  "no recurrence takes this one"},
    "favorite": {"type": "boolean"},
}
SCHEMAS |= {
    "TemplateIn": {"type": "object", "required": ["name", "body"],
                   "properties": TEMPLATE_FIELDS},
    "TemplatePatch": {"type": "object", "description": "Any of TemplateIn's fields.",
                      "properties": TEMPLATE_FIELDS},
    "Template": {"type": "object", "properties": {
        "id": {"type": "integer"}, **{name: {k: v for k, v in schema.items()
                                             if k in ("type", "nullable", "items")}
                                      for name, schema in TEMPLATE_FIELDS.items()},
        "use_count": {"type": "integer"}, "last_used_at": INSTANT,
        "created_by": {"type": "integer", "nullable": True},
        "created_at": INSTANT, "updated_at": INSTANT}},
    "TemplateUse": {"type": "object", "description": "Any of PostIn's fields, overriding "
                    "the template's; an empty body uses the template as it is.",
                    "properties": POST_FIELDS},
}

POST = _json(_ref("Post"))
EDIT = (403, 409)  # an editor's action on a post or delivery, which its state may refuse

PATHS = {
    "/channels": {
        "get": _op("List channels", _json(_list("Channel")), params=PAGE),
        "post": _op("Connect a channel (admins)", _json(_ref("Channel"), "Created"),
                    body="ChannelIn", status="201", errors=(403,))},
    "/channels/{id}": {
        "get": _op("A channel", _json(_ref("Channel")), params=ID),
        "patch": _op("Change a channel (admins)", _json(_ref("Channel")), params=ID,
                     body="ChannelPatch", errors=(403,)),
        "delete": _op("Remove a channel (admins)", {"description": "Removed"}, params=ID,
                      status="204", errors=(403,))},
    "/channels/{id}/check": {"post": _op("Check a channel's connection", _json(
        {"type": "object", "required": ["ok"], "properties": {
            "ok": {"type": "boolean"}, "error": {"type": "string"},
            "account": {"type": "string", "description": "the account, bot or channel the "
                        "credentials belong to, where the platform names it"}}}), params=ID,
        errors=(403,))},
    "/campaigns": {
        "get": _op("List campaigns, active first", _json(_list("Campaign")), params=PAGE),
        "post": _op("Create a campaign", _json(_ref("Campaign"), "Created"),
                    body="CampaignIn", status="201", errors=(403,))},
    "/campaigns/{id}": {
        "get": _op("A campaign", _json(_ref("Campaign")), params=ID),
        "patch": _op("Change a campaign; pause or resume all its posts with status",
                     _json(_ref("Campaign")), params=ID, body="CampaignPatch",
                     errors=(403,)),
        "delete": _op("Remove a campaign; its posts stay, with campaign_id null",
                      {"description": "Removed"}, params=ID, status="204", errors=(403,))},
    "/campaigns/{id}/stats": {"get": _op("A campaign's progress", _json(
        _ref("CampaignStats")), params=ID)},
    "/templates": {
        "get": _op("List templates, favourites first, then the most used and recently used",
                   _json(_list("Template")), params=PAGE + [
                       _id_query("campaign_id"),
                       _query("favorites_only", {"type": "boolean", "default": False})]),
        "post": _op("Save a template", _json(_ref("Template"), "Created"),
                    body="TemplateIn", status="201", errors=(403,))},
    "/templates/{id}": {
        "get": _op("A template", _json(_ref("Template")), params=ID),
        "patch": _op("Change a template", _json(_ref("Template")), params=ID,
                     body="TemplatePatch", errors=(403,)),
        "delete": _op("Remove a template; the posts made from it stay",
                      {"description": "Removed"}, params=ID, status="204", errors=(403,))},
    "/templates/{id}/use": {"post": _op(
        "Make a post from the template (as POST /posts, the body's fields overriding the "
        "template's); bumps use_count", _json(_ref("Post"), "Created"), params=ID,
        body="TemplateUse", status="201", errors=(403,))},
    "/templates/{id}/favorite": {"post": _op("Mark or unmark the template a favourite",
                                             _json(_ref("Template")), params=ID,
                                             errors=(403,))},
    "/posts": {
        "get": _op("List posts", _json(_list("Post")), params=PAGE + [
            _query("status", {"type": "string", "enum": list(POST_STATUSES)}),
            _id_query("channel_id"), _id_query("campaign_id"), *_period()],
            description="`from`/`to` keep the posts with an occurrence between them."),
        "post": _op("Create a post (and schedule it)", _json(_ref("Post"), "Created"),
                    body="PostIn", status="201", errors=(403,))},
    "/posts/export.csv": {"get": _op(
        "Every post as CSV, in the import's columns", {
            "description": "OK", "content": {"text/csv": {"schema": {"type": "string"}}}},
        description=f"Columns {', '.join(COLUMNS)}; one row per post (oldest first, at most "
                    f"{CSV_MAX_ROWS:,}), its publish schedule's start as local wall time "
                    "with its zone, the rule (with COUNT/UNTIL) in `recurrence`. A cell that "
                    "starts with = + - @, a tab or a carriage return gets a leading "
                    "apostrophe (spreadsheets would run it as a formula); the import takes "
                    "it off again, so importing the file makes the same posts.")},
    "/posts/import": {"post": _import_op()},
    "/calendar.ics": {"get": _op(
        "The workspace's calendar feed (iCalendar), for calendar apps", {
            "description": "OK", "content": {"text/calendar": {"schema": {"type": "string"}}},
            "headers": {"ETag": {"schema": {"type": "string"}},
                        "Last-Modified": {"schema": {"type": "string"}}}},
        params=[{"name": "token", "in": "query", "required": True,
                 "schema": {"type": "string"},
                 "description": "A calendar feed token (kind feed); an API token gets 403."},
                _id_query("campaign_id")],
        errors=(403, 404),
        description=f"One VEVENT per occurrence and channel (per delivery that publishes), "
                    f"from {PAST_DAYS} days ago on, soonest first, at most {MAX_EVENTS:,}; "
                    "UID per delivery, STATUS:CANCELLED for cancelled ones, CATEGORIES the "
                    "campaign and tags. `campaign_id` keeps one campaign's (404 for none of "
                    "the workspace's). Answers 304 to If-None-Match with the ETag. The token "
                    "is in the URL, as calendar apps cannot send headers: no Authorization "
                    "header is used here.") | {"security": [{"feed": []}]}},
    "/posts/{id}": {
        "get": _op("A post with its schedules and deliveries", POST, params=ID),
        "patch": _op("Change a post; a new schedule moves every pending delivery", POST,
                     params=ID, body="PostPatch", errors=EDIT),
        "delete": _op("Cancel a post's pending deliveries", POST, params=ID,
                      errors=(403,))},
    "/posts/{id}/pause": {"post": _op("Pause (409 without an active schedule)", POST,
                                      params=ID, errors=EDIT)},
    "/posts/{id}/resume": {"post": _op("Resume (409 when not paused)", POST, params=ID,
                                       errors=EDIT)},
    "/posts/{id}/publish-now": {"post": _op("Publish now (409 when cancelled or without "
                                            "channels)", POST, params=ID, errors=EDIT)},
    "/posts/{id}/approve": {"post": _op(
        "Approve a post waiting for approval (approvers and admins; 409 when it does not "
        "wait); the body is optional", POST, params=ID, body="Decision", errors=EDIT)},
    "/posts/{id}/reject": {"post": _op(
        "Reject a post waiting for approval: it returns to draft with the comment "
        "(approvers and admins; 409 when it does not wait)", POST, params=ID,
        body="Decision", errors=EDIT)},
    "/approvals": {"get": _op("Approval requests, oldest first (approvers and admins)",
                              _json(_list("Approval")), params=PAGE + [
        _query("status", {"type": "string", "enum": list(APPROVAL_STATUSES),
                          "default": "pending"})], errors=(403,))},
    "/workspace": {
        "get": _op("The token's workspace", _json(_ref("Workspace"))),
        "patch": _op("Change the workspace's settings (admins)", _json(_ref("Workspace")),
                     body="WorkspacePatch", errors=(403,))},
    "/posts/{id}/occurrences": {"get": _op("Next occurrences", _json(
        {"type": "object", "required": ["items"], "properties": {
            "items": {"type": "array", "items": _ref("Occurrence")}}}),
        params=ID + [_query("limit", _count(MAX_OCCURRENCES, 10))])},
    "/deliveries": {"get": _op("List deliveries", _json(_list("Delivery")), params=PAGE + [
        _query("status", {"type": "string", "enum": list(DELIVERY_STATUSES)}),
        _id_query("channel_id"), _id_query("post_id"), *_period()])},
    "/deliveries/{id}/retry": {"post": _op("Retry a failed or unknown delivery (409 "
                                           "otherwise)",
                                           _json(_ref("Delivery")), params=ID, errors=EDIT)},
    "/deliveries/{id}/mark-published": {"post": _op(
        "Record that an unknown (or failed) delivery did go out (409 otherwise)",
        _json(_ref("Delivery")), params=ID, body="MarkPublishedIn", errors=EDIT,
        description="The body is optional; nothing is sent to the platform.") | {
        "requestBody": {"required": False, "content": {"application/json": {
            "schema": _ref("MarkPublishedIn")}}}}},
    "/deliveries/{id}/cancel": {"post": _op("Cancel a delivery not yet published (409 "
                                            "otherwise)", _json(_ref("Delivery")), params=ID,
                                            errors=EDIT)},
    "/schedule/upcoming": {"get": _op("Deliveries due in the next hours", _json(
        {"type": "object", "required": ["hours", "count", "items"], "properties": {
            "hours": {"type": "integer"}, "count": {"type": "integer"},
            "items": {"type": "array", "items": _ref("Delivery")}}}),
        params=[_query("hours", _count(MAX_UPCOMING_HOURS, 24))])},
    "/queue/stats": {"get": _op("Queue figures", _json({"type": "object", "properties": {
        "days": {"type": "integer"}, "total": {"type": "integer"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "success_rate": {"type": "number", "nullable": True},
        "average_wait_seconds": {"type": "number", "nullable": True},
        "average_processing_seconds": {"type": "number", "nullable": True}}}),
        params=[_query("days", _count(MAX_STATS_DAYS, 7))])},
    "/tokens": {
        "get": _op("Your tokens in this workspace (admins)", _json(_list("Token")),
                   params=PAGE, errors=(403,)),
        "post": _op("Make a token (admins); the answer is the only time it is shown",
                    _json(_ref("NewToken"), "Created"), body="TokenIn", status="201",
                    errors=(403,))},
    "/tokens/{id}": {"delete": _op("Revoke one of your tokens (admins)",
                                   {"description": "Revoked"}, params=ID, status="204",
                                   errors=(403,))},
    "/audit": {"get": _op("The audit log, newest first (approvers and admins)",
                          _json(_list("AuditEvent")), params=PAGE + [
        _query("object_type", {"type": "string", "enum": list(OBJECT_TYPES),
                               "description": "Required with object_id."}),
        _id_query("object_id"), _id_query("user_id"),
        _query("action", {"type": "string", "pattern": f"^{ACTION.pattern}$",
                          "description": "An action (post.updated), or the start of one "
                                         "ending in a dot (post.)."}),
        *_period()], errors=(403,),
        description="A post's events (object_type=post) include those of its deliveries "
                    "and schedules.")},
    "/members": {
        "get": _op("List the workspace's members (admins)", _json(_list("Member")),
                   params=PAGE, errors=(403,)),
        "post": _op("Invite someone by e-mail (admins): a one-time link valid 7 days",
                    _json(_ref("Invitation"), "Created"), body="MemberIn", status="201",
                    errors=(403,))},
    "/members/{id}": {
        "patch": _op("Change a member's role (admins; 409 for the last admin)",
                     _json(_ref("Member")), params=ID, body="MemberPatch", errors=(403, 409)),
        "delete": _op("Remove a member (admins; 409 for the last admin)",
                      {"description": "Removed"}, params=ID, status="204",
                      errors=(403, 409))},
    "/hooks": {
        "get": _op("List lifecycle webhooks (admins)", _json(_list("Hook")), params=PAGE,
                   errors=(403,)),
        "post": _op("Add a lifecycle webhook (admins)", _json(_ref("Hook"), "Created"),
                    body="HookIn", status="201", errors=(403,))},
    "/hooks/{id}": {
        "delete": _op("Remove a lifecycle webhook (admins)", {"description": "Removed"},
                      params=ID, status="204", errors=(403,))},
    "/openapi.json": {"get": {"summary": "This document", "security": [], "parameters": [],
                              "responses": {"200": _json({"type": "object"})}}},
}

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "Herald API", "version": "1.0.0"},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                            "feed": {"type": "apiKey", "in": "query", "name": "token"}},
        "schemas": SCHEMAS,
        "headers": RATE_HEADERS | RETRY_AFTER,
        "responses": {name: _json(_ref("Error"), description) | {"headers": _headers(
            [*RATE_HEADERS, *(RETRY_AFTER if code == 429 else ())])}
            for code, (name, description) in ERROR_RESPONSES.items()},
    },
}


@bp.get("/openapi.json")
def openapi():
    """The document above (no token needed)."""
    return jsonify(DOCUMENT)
