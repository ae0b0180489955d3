"""The Operations page. What it shows is in services.operations."""

from ..services import operations as service
from ..web.access import current_workspace
from ..web.htmx import render
from . import bp


@bp.get("/operations")
def operations():
    return render("operations/operations.html", view=service.overview(current_workspace().id),
                  jobs_shown=service.JOBS_SHOWN)
