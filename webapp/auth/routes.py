import hashlib

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from ..errors import ValidationError
from ..extensions import limiter
from ..services.accounts import (
    authenticate,
    check_new_account,
    create_user,
    has_users,
    normalize_email,
)
from ..web.forms import zone_names
from ..web.redirects import safe_redirect
from ..web.sessions import sign_in, sign_out
from . import bp
from .forms import LoginForm, SignupForm


def _next() -> str:
    return safe_redirect(request.args.get("next"), url_for("dashboard.dashboard"))


def _account_key() -> str:
    """The e-mail being tried, hashed (any length, and no address in Redis)."""
    email = normalize_email(request.form.get("email"))
    return "signin-account:" + hashlib.sha256(email.encode()).hexdigest()


def _address_key() -> str:
    return f"signin-address:{request.remote_addr}"


def _failed(response) -> bool:
    """Only failed attempts count: a successful sign-in answers with a redirect."""
    return response.status_code != 302


def _too_many(scope: str):
    return (f"Too many failed sign-ins {scope}. Nothing was checked: wait a few minutes "
            "and try again (this page's Retry-After header says how long).")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["HERALD_SIGNIN_LIMIT_PER_ACCOUNT"],
               key_func=_account_key, methods=["POST"], deduct_when=_failed,
               error_message=_too_many("for this e-mail address"))
@limiter.limit(lambda: current_app.config["HERALD_SIGNIN_LIMIT_PER_ADDRESS"],
               key_func=_address_key, methods=["POST"], deduct_when=_failed,
               error_message=_too_many("from your network address"))
def login():
    if not has_users():
        # A fresh install: nobody can sign in yet, so "please log in" would mislead.
        session.pop("_flashes", None)
        return redirect(url_for("auth.signup"))
    if current_user.is_authenticated:
        return redirect(_next())
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user:
            sign_in(user, remember=form.remember.data)
            return redirect(_next())
        form.password.errors.append("Wrong e-mail or password.")
    return render_template("auth/login.html", form=form)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Only on a fresh install: the first person becomes admin of a new workspace."""
    if has_users():
        flash("Herald already has users; ask an admin for an account.", "info")
        return redirect(url_for("auth.login"))
    form = SignupForm()
    if request.method == "POST":
        # Every problem in one answer: the form's own checks and the account rules.
        valid = form.validate_on_submit()
        problems = check_new_account(normalize_email(form.email.data), form.password.data or "",
                                     form.workspace.data, (form.timezone.data or "").strip())
        for name, message in problems.items():
            field = getattr(form, name, form.email)
            if not field.errors:
                field.errors = [*field.errors, message]
        if valid and not problems:
            try:
                user, _ = create_user(form.email.data, form.password.data, form.workspace.data,
                                      "admin", form.timezone.data.strip())
            except ValidationError as exc:
                for name, message in exc.fields.items():
                    getattr(form, name, form.email).errors.append(message)
            else:
                sign_in(user, remember=False)
                flash("Welcome to Herald. Connect a channel to start.", "success")
                return redirect(url_for("channels.channels"))
        return render_template("auth/signup.html", form=form, zones=zone_names())
    return render_template("auth/signup.html", form=form, zones=zone_names(),
                           preselect_zone=True)


@bp.post("/logout")
@login_required
def logout():
    sign_out()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
