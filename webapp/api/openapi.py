"""GET /api/v1/openapi.json — the contract in OpenAPI 3 (tests check it against the routes)."""

from flask import jsonify

from . import bp


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema, description="OK"):
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR_RESPONSES = ((400, "BadRequest"), (401, "Unauthorized"), (403, "Forbidden"),
                   (404, "NotFound"), (409, "Conflict"), (413, "PayloadTooLarge"),
                   (422, "ValidationError"))
ERRORS = {str(code): {"$ref": f"#/components/responses/{name}"}
          for code, name in ERROR_RESPONSES}
ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
PAGE = [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
        {"name": "per_page", "in": "query",
         "schema": {"type": "integer", "minimum": 1, "maximum": 200}}]


def _query(*names):
    return [{"name": n, "in": "query", "schema": {"type": "string"}} for n in names]


def _op(summary, ok, *, params=(), body=None, status="200"):
    op = {"summary": summary, "parameters": list(params),
          "responses": {status: ok, **ERRORS}}
    if body:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _ref(body)}}}
    return op


def _list(name):
    return {"type": "object", "properties": {
        "items": {"type": "array", "items": _ref(name)}, "page": {"type": "integer"},
        "per_page": {"type": "integer"}, "total": {"type": "integer"}}}


NULLABLE_STR = {"type": "string", "nullable": True}
INSTANT = {"type": "string", "format": "date-time", "nullable": True}

SCHEMAS = {
    "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
    "ChannelIn": {"type": "object", "required": ["name", "platform", "config"], "properties": {
        "name": {"type": "string"}, "platform": {"type": "string",
                                                 "enum": ["webhook", "mastodon"]},
        "config": {"type": "object", "description": "webhook: url, secret?; mastodon: "
                   "instance_url, access_token. Credentials are write-only."},
        "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
        "rate_limit_per_hour": {"type": "integer", "nullable": True},
        "paused": {"type": "boolean"}}},
    "ChannelPatch": {"type": "object", "description": "Any of ChannelIn's fields except "
                     "platform (which cannot change). Config keys not given keep their "
                     "values; a null removes one (e.g. a webhook's secret).", "properties": {
        "name": {"type": "string"}, "config": {"type": "object"},
        "color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
        "rate_limit_per_hour": {"type": "integer", "nullable": True},
        "paused": {"type": "boolean"}}},
    "Channel": {"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "platform": {"type": "string"},
        "color": {"type": "string"}, "config": {"type": "object"},
        "rate_limit_per_hour": {"type": "integer", "nullable": True},
        "paused": {"type": "boolean"}, "created_at": INSTANT, "updated_at": INSTANT}},
    "ScheduleIn": {"type": "object", "required": ["at", "timezone"], "properties": {
        "at": {"type": "string", "description": "local wall time (2026-12-01T09:00) or an "
               "instant with offset/Z"},
        "timezone": {"type": "string", "description": "IANA zone"},
        "recurrence": {"type": "string", "nullable": True,
                       "description": "RRULE, or daily / weekly / monthly"},
        "until": NULLABLE_STR, "count": {"type": "integer", "nullable": True}}},
    "PostIn": {"type": "object", "properties": {
        "title": {"type": "string"}, "body": {"type": "string"},
        "channel_ids": {"type": "array", "items": {"type": "integer"}},
        "overrides": {"type": "object", "additionalProperties": {"type": "string"}},
        "schedule": _ref("ScheduleIn"), "priority": {"type": "integer", "minimum": 1,
                                                     "maximum": 10},
        "campaign_id": {"type": "integer", "nullable": True},
        "tags": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string", "enum": ["draft", "scheduled"]}}},
    "Schedule": {"type": "object", "properties": {
        "id": {"type": "integer"}, "action": {"type": "string"}, "at": {"type": "string"},
        "timezone": {"type": "string"}, "recurrence": NULLABLE_STR, "until": NULLABLE_STR,
        "count": {"type": "integer", "nullable": True}, "status": {"type": "string"},
        "next_run_at": INSTANT, "run_count": {"type": "integer"},
        "error_count": {"type": "integer"}}},
    "Post": {"type": "object", "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "body": {"type": "string"},
        "channel_ids": {"type": "array", "items": {"type": "integer"}},
        "overrides": {"type": "object"}, "tags": {"type": "array", "items": {"type": "string"}},
        "priority": {"type": "integer"}, "campaign_id": {"type": "integer", "nullable": True},
        "status": {"type": "string", "enum": ["draft", "pending_approval", "scheduled",
                                              "published", "partially_published", "failed",
                                              "cancelled"]},
        "created_at": INSTANT, "updated_at": INSTANT,
        "schedules": {"type": "array", "items": _ref("Schedule")},
        "deliveries": {"type": "array", "items": _ref("Delivery")}}},
    "Delivery": {"type": "object", "properties": {
        "id": {"type": "integer"}, "post_id": {"type": "integer"},
        "channel_id": {"type": "integer"}, "due_at": INSTANT,
        "status": {"type": "string", "enum": ["pending", "queued", "publishing", "published",
                                              "retrying", "failed", "cancelled"]},
        "attempts": {"type": "integer"}, "last_error": NULLABLE_STR,
        "external_id": NULLABLE_STR, "external_url": NULLABLE_STR,
        "started_at": INSTANT, "finished_at": INSTANT, "next_attempt_at": INSTANT,
        "warnings": {"type": "array", "items": {"type": "string"}}}},
    "Occurrence": {"type": "object", "properties": {
        "at": INSTANT, "local": {"type": "string"},
        "warnings": {"type": "array", "items": {"type": "string"}}}},
}

PATHS = {
    "/channels": {
        "get": _op("List channels", _json(_list("Channel")), params=PAGE),
        "post": _op("Connect a channel", _json(_ref("Channel"), "Created"), body="ChannelIn",
                    status="201")},
    "/channels/{id}": {
        "get": _op("A channel", _json(_ref("Channel")), params=ID),
        "patch": _op("Change a channel", _json(_ref("Channel")), params=ID,
                     body="ChannelPatch"),
        "delete": _op("Remove a channel", {"description": "Removed"}, params=ID,
                      status="204")},
    "/channels/{id}/check": {"post": _op("Check a channel's connection", _json(
        {"type": "object", "properties": {"ok": {"type": "boolean"},
                                          "error": {"type": "string"}}}), params=ID)},
    "/posts": {
        "get": _op("List posts", _json(_list("Post")), params=PAGE + _query(
            "status", "channel_id", "campaign_id", "from", "to")),
        "post": _op("Create a post (and schedule it)", _json(_ref("Post"), "Created"),
                    body="PostIn", status="201")},
    "/posts/{id}": {
        "get": _op("A post with its schedules and deliveries", _json(_ref("Post")), params=ID),
        "patch": _op("Change a post; a new schedule moves every pending delivery",
                     _json(_ref("Post")), params=ID, body="PostIn"),
        "delete": _op("Cancel a post's pending deliveries", _json(_ref("Post")), params=ID)},
    "/posts/{id}/pause": {"post": _op("Pause", _json(_ref("Post")), params=ID)},
    "/posts/{id}/resume": {"post": _op("Resume", _json(_ref("Post")), params=ID)},
    "/posts/{id}/publish-now": {"post": _op("Publish now", _json(_ref("Post")), params=ID)},
    "/posts/{id}/occurrences": {"get": _op("Next occurrences", _json(
        {"type": "object", "properties": {"items": {"type": "array",
                                                    "items": _ref("Occurrence")}}}),
        params=ID + [{"name": "limit", "in": "query",
                      "schema": {"type": "integer", "minimum": 1, "maximum": 100}}])},
    "/deliveries": {"get": _op("List deliveries", _json(_list("Delivery")), params=PAGE + _query(
        "status", "channel_id", "post_id", "from", "to"))},
    "/deliveries/{id}/retry": {"post": _op("Retry a failed delivery", _json(_ref("Delivery")),
                                           params=ID)},
    "/deliveries/{id}/cancel": {"post": _op("Cancel a delivery not yet published",
                                            _json(_ref("Delivery")), params=ID)},
    "/schedule/upcoming": {"get": _op("Deliveries due in the next hours", _json(
        {"type": "object", "properties": {"hours": {"type": "integer"},
                                          "count": {"type": "integer"},
                                          "items": {"type": "array",
                                                    "items": _ref("Delivery")}}}),
        params=[{"name": "hours", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 168}}])},
    "/queue/stats": {"get": _op("Queue figures", _json({"type": "object", "properties": {
        "days": {"type": "integer"}, "total": {"type": "integer"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "success_rate": {"type": "number", "nullable": True},
        "average_wait_seconds": {"type": "number", "nullable": True},
        "average_processing_seconds": {"type": "number", "nullable": True}}}), params=[
        {"name": "days", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                   "maximum": 366}}])},
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
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": SCHEMAS,
        "responses": {name: _json(_ref("Error"), name) for _, name in ERROR_RESPONSES},
    },
}


@bp.get("/openapi.json")
def openapi():
    return jsonify(DOCUMENT)
