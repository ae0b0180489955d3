"""The server-rendered side: sign-in, the page blueprints and error pages."""

import logging

from flask import Flask, abort, render_template, request
from werkzeug.exceptions import HTTPException

from ..api.errors import http_error, is_api_request, unexpected_error
from ..extensions import db, login_manager
from ..services.validation import unstorable

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    from ..auth import bp as auth_bp
    from ..calendar import bp as calendar_bp
    from ..pages import bp as pages_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(calendar_bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)

    @app.before_request
    def _refuse_unstorable_form_input():
        """Every form, in one place: text that no database can store (NUL; a lone surrogate
        cannot arrive in UTF-8 form data) is refused before any view sees it."""
        if request.method == "POST" and not is_api_request():
            for name, value in request.form.items(multi=True):
                problem = unstorable(value)
                if problem:
                    abort(400, f"The field “{name[:40]}” {problem}. Nothing was saved: go "
                               "back, remove them and try again.")

    @app.after_request
    def _vary(response):
        response.vary.add("HX-Request")
        return response


def _http_error(exc: HTTPException):
    if is_api_request():
        return http_error(exc)
    db.session.rollback()
    return render_template("error.html", error=exc), exc.code


def _unexpected(exc: Exception):
    if is_api_request():
        return unexpected_error(exc)
    db.session.rollback()
    log.exception("unhandled error in %s %s", request.method, request.path)
    return render_template("error.html", error=None), 500
