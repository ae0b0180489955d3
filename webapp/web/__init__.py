"""What every page shares, set up once: the one error handler, template filters and page
context, and the checks every request passes (the permission table's among them)."""

from flask import Flask, abort, request
from flask_login import current_user

from ..extensions import login_manager
from ..services.validation import unstorable
from . import errors, filters
from .access import allowed, check_page, find_membership, may, memberships, user_zone


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    errors.init_app(app)
    filters.init_app(app)
    app.context_processor(_page_context)

    @app.before_request
    def _refuse_unstorable_form_input():
        """Every form, in one place: text that no database can store (NUL; a lone surrogate
        cannot arrive in UTF-8 form data) is refused before any view sees it."""
        if request.method == "POST" and not errors.is_api_request():
            for name, value in request.form.items(multi=True):
                problem = unstorable(value)
                if problem:
                    abort(400, f"The field “{name[:40]}” {problem}. Nothing was saved: go "
                               "back, remove them and try again.")

    # After the check above: text no database can store is refused whoever sends it.
    app.before_request(check_page)

    @app.after_request
    def _vary(response):
        response.vary.add("HX-Request")
        return response


def _page_context():
    if not current_user.is_authenticated:
        return {"can": may, "allowed": allowed}
    return {"can": may, "allowed": allowed, "membership": find_membership(),
            "user_zone": user_zone().key, "memberships": memberships}
