"""Bulk scheduling: a CSV file of posts, imported whole or not at all."""

from datetime import datetime

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ..extensions import db
from ..models import AuditEvent
from ..services import imports as service
from ..services.spreadsheet import csv_bytes
from ..services.validation import in_workspace
from ..web.access import allowed, current_workspace, user_zone
from ..web.htmx import render
from . import bp
from .forms import ImportForm

# Problems listed on the page; the rest are counted.
PROBLEMS_SHOWN = 100


def _page(form: ImportForm, refused: service.Refused | None = None, code: int = 200):
    return render("imports/post_import.html", form=form, refused=refused, shown=PROBLEMS_SHOWN,
                  max_rows=service.MAX_ROWS, max_mb=_max_mb(), code=code)


def _max_mb() -> str:
    return f"{current_app.config['MAX_CONTENT_LENGTH'] / 2**20:g}"


@bp.route("/posts/import", methods=["GET", "POST"])
def post_import():
    form = ImportForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, code=422)
    upload = form.file.data
    try:
        event = service.import_csv(current_workspace().id, current_user.id, upload.read(),
                                   current_user.timezone, upload.filename or "")
    except service.Refused as exc:
        db.session.rollback()
        return _page(form, exc, 422)
    return redirect(url_for("imports.post_import_done", event_id=event.id), 303)


@bp.get("/posts/import/<id:event_id>")
def post_import_done(event_id):
    """What an import did: read from its audit event."""
    event = in_workspace(AuditEvent, current_workspace().id, event_id, "import")
    if event.action != service.ACTION:
        abort(404)
    return render("imports/post_import_done.html", event=event, result=event.after,
                  days=current_app.config["HERALD_MATERIALIZE_DAYS"])


@bp.get("/posts/import/example.csv")
def post_import_example():
    zone = user_zone()
    body = service.example(current_workspace().id, zone.key, datetime.now(zone).date())
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=herald-import-example.csv"})


@bp.get("/posts/export.csv")
def post_export():
    """Every post of the workspace in the import's columns: the import takes it back."""
    body = csv_bytes(service.export_rows(current_workspace().id))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=herald-posts.csv"})


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge):
    """A body over MAX_CONTENT_LENGTH is refused before any view runs (reading the form for
    its CSRF token fails): on the import page, say so there."""
    db.session.rollback()
    if request.endpoint != "imports.post_import":
        return render_template("error.html", error=exc), 413
    exc.description = (f"The file is larger than {_max_mb()} MB, the most one upload may be. "
                       "Split it into smaller files.")
    if not allowed("imports.post_import"):
        return render_template("error.html", error=exc), 413
    return _page(ImportForm(formdata=None), service.Refused(exc.description), 413)
