"""The calendar: month, week and day views of every post occurrence, in the
user's zone, with filters, a side panel, and moving items by drag and drop or by a form.

services.calendar reads what the calendar shows (in a fixed handful of queries, whatever
the number of posts) and services.calendar_moves turns a drop into calls of the other
services; here `periods` turns the URL into a date range, `render` draws the items, and
`routes` holds the thin views.
"""

from flask import Blueprint

bp = Blueprint("calendar", __name__)

from . import routes  # noqa: E402,F401
