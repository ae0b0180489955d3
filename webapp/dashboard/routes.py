"""The dashboard page (its figures: services.dashboard)."""

from ..services import dashboard as service
from ..web.access import current_workspace, user_zone
from ..web.htmx import render
from . import bp


def duration(seconds: float | None) -> str:
    """1.2 s, 3 min 5 s, 2 h 10 min."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@bp.get("/")
def dashboard():
    return render("dashboard/dashboard.html", duration=duration,
                  **service.overview(current_workspace().id, user_zone()))
