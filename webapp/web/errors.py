"""The one error handler: domain errors, HTTP errors and anything unexpected, as an error
page or, under /api/, as the API's one error shape {"error": {"code", "message", "fields"}}.
"""

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, default_exceptions

from ..errors import DomainError
from ..extensions import db

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
         415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited"}


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX + "/") or request.path == API_PREFIX


def error_response(status: int, message: str, fields: dict | None = None, code: str | None = None):
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message,
                      "fields": fields or {}}}
    return jsonify(body), status


def domain_error(exc: DomainError):
    """A domain error that reached a view: its status, as JSON or as the error page."""
    db.session.rollback()
    if is_api_request():
        response, status = error_response(exc.status, exc.message, exc.fields, exc.code)
        if status == 401:  # RFC 6750: say which scheme is expected
            response.headers["WWW-Authenticate"] = 'Bearer realm="herald"'
        return response, status
    error = default_exceptions.get(exc.status, default_exceptions[400])(description=exc.message)
    return render_template("error.html", error=error), error.code


def http_error(exc: HTTPException):
    db.session.rollback()
    if not is_api_request():
        return render_template("error.html", error=exc), exc.code
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
    if is_api_request():
        return error_response(500, "internal error; it has been logged", code="internal_error")
    return render_template("error.html", error=None), 500
