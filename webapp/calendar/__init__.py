"""The calendar (issue 3): month, week and day views of every post occurrence, in the
user's zone, with filters, a side panel, and moving items by drag and drop or by a form.

`items` reads what the calendar shows (in a fixed handful of queries, whatever the number
of posts), `periods` turns the URL into a date range, `moves` turns a drop into calls of
the services, and `views` holds the thin routes.
"""

from flask import Blueprint

bp = Blueprint("calendar", __name__)

from . import views  # noqa: E402,F401
