"""The audit log's page and its CSV export, for approvers and admins. What they show is in
services.audit."""

import csv
import io

from flask import Response, url_for

from ..services import audit as service
from ..web.access import current_workspace, user_zone
from ..web.htmx import int_arg, render
from . import bp
from .forms import read

PER_PAGE = 50


@bp.get("/audit-log")
def audit_log():
    workspace = current_workspace()
    form = read(user_zone())
    page = (service.search(workspace.id, form.filters, int_arg("page"), PER_PAGE)
            if not form.errors else None)
    return render("audit/audit_log.html", "audit/_audit_table.html", form=form, result=page,
                  people=service.people(workspace.id), object_types=service.OBJECT_TYPES,
                  csv_url=url_for("audit.audit_csv", **form.args), csv_max=service.CSV_MAX_ROWS,
                  code=422 if form.errors else 200)


@bp.get("/audit-log.csv")
def audit_csv():
    workspace = current_workspace()
    zone = user_zone()
    form = read(zone)
    if form.errors:
        return audit_log()

    out = io.StringIO()
    csv.writer(out).writerows(service.csv_rows(workspace.id, form.filters, zone))
    # Built whole (at most service.CSV_MAX_ROWS rows): a streamed body would outlive the
    # request's database session.
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})
