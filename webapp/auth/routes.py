from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ..errors import ValidationError
from ..extensions import db
from ..models import User
from ..pages.forms import zone_names
from ..services.accounts import create_user, has_users
from . import bp
from .forms import LoginForm, SignupForm


def _safe_next(target: str | None) -> str:
    """Only a path on this site (not //host or /\\host, which browsers treat as another site)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("pages.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if not has_users():
        # A fresh install: nobody can sign in yet, so "please log in" would mislead.
        session.pop("_flashes", None)
        return redirect(url_for("auth.signup"))
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data.strip().lower()))
        if user and user.check_password(form.password.data):
            login_user(user, remember=True)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("Wrong e-mail or password.")
    return render_template("auth/login.html", form=form)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Only on a fresh install: the first person becomes admin of a new workspace."""
    if has_users():
        flash("Herald already has users; ask an admin for an account.", "info")
        return redirect(url_for("auth.login"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user, _ = create_user(form.email.data, form.password.data, form.workspace.data,
                                  "admin", (form.timezone.data or "").strip())
        except ValidationError as exc:
            for name, message in exc.fields.items():
                getattr(form, name, form.email).errors.append(message)
        else:
            login_user(user, remember=True)
            flash("Welcome to Herald. Connect a channel to start.", "success")
            return redirect(url_for("pages.channels"))
    return render_template("auth/signup.html", form=form, zones=zone_names())


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
