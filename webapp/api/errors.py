"""Every API error has one shape: {"error": {"code", "message", "fields"}}."""

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import DomainError
from ..extensions import db
from . import bp

log = logging.getLogger(__name__)

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
         415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited"}


def error_response(status: int, message: str, fields: dict | None = None, code: str | None = None):
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message,
                      "fields": fields or {}}}
    return jsonify(body), status


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    db.session.rollback()
    response, status = error_response(exc.status, exc.message, exc.fields, exc.code)
    if status == 401:  # RFC 6750: say which scheme is expected
        response.headers["WWW-Authenticate"] = 'Bearer realm="herald"'
    return response, status


def http_error(exc: HTTPException):
    db.session.rollback()
    message = exc.description or exc.name
    if exc.code == 400 and "JSON" in (message or ""):
        message = "the request body is not valid JSON"
    if exc.code == 413:
        message = "the request body is too large"
    response, status = error_response(exc.code or 500, message)
    # Keep what the exception says about itself (Allow on 405, Retry-After on 429).
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def unexpected_error(exc: Exception):
    db.session.rollback()
    log.exception("unhandled error in %s %s", request.method, request.path)
    return error_response(500, "internal error; it has been logged", code="internal_error")


def is_api_request() -> bool:
    return request.path.startswith(bp.url_prefix + "/") or request.path == bp.url_prefix
