"""The signed-in person's own settings: their timezone and where notifications go."""

from flask import flash, redirect, request, url_for
from flask_login import current_user

from ..errors import ValidationError
from ..extensions import db
from ..notifications import email_enabled
from ..services.accounts import EMAIL
from ..timeutil import zone
from . import bp
from .context import render
from .forms import SettingsForm, zone_names


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """Personal settings: every member may change their own, whatever their role.

    services.accounts has no function for this yet, so the two fields are checked here
    with the same rules the services use (timeutil.zone, accounts.EMAIL)."""
    if request.method == "GET":
        form = SettingsForm(data={"timezone": current_user.timezone,
                                  "notify_email": current_user.notify_email or ""})
        return render("pages/settings.html", form=form, zones=zone_names(),
                      email=email_enabled())
    form = SettingsForm()
    if not form.validate_on_submit():
        return render("pages/settings.html", form=form, zones=zone_names(),
                      email=email_enabled(), code=400)
    # Without SMTP the address field is not shown: whatever comes is ignored, not checked.
    email = (form.notify_email.data or "").strip().lower() if email_enabled() else ""
    form.timezone.data = (form.timezone.data or "").strip()
    try:
        zone(form.timezone.data)
    except ValidationError as exc:
        form.timezone.errors = [*form.timezone.errors, exc.message]
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        form.notify_email.errors = [*form.notify_email.errors, "is not an e-mail address"]
    if form.timezone.errors or form.notify_email.errors:
        return render("pages/settings.html", form=form, zones=zone_names(),
                      email=email_enabled(), code=422)
    current_user.timezone = form.timezone.data
    if email_enabled():
        current_user.notify_email = email or None
    db.session.commit()
    flash("Settings saved.", "success")
    return redirect(url_for("pages.settings"), 303)
