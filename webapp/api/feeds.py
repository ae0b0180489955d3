"""GET /api/v1/calendar.ics — the private iCalendar feed a calendar app subscribes to with a
feed token in its URL; GET /api/v1/posts/export.csv — every post in the import's columns;
POST /api/v1/posts/import — such a file back in, all of it or nothing."""

from urllib.parse import urlsplit

from flask import Response, current_app, g, jsonify, request, url_for

from ..errors import Forbidden, ValidationError
from ..extensions import db
from ..models import User
from ..services import accounts, feeds, imports
from ..services.spreadsheet import csv_bytes
from ..timeutil import zone
from . import bp
from .auth import Unauthorized, feed_holder
from .inputs import int_arg


@bp.get("/calendar.ics")
def calendar_feed():
    """The feed token in `?token=` is the permission (permissions.OPEN): it opens this feed
    only, and an API token does not open it. A missing, wrong or revoked token gets the same
    401, counted like the API's other auth failures."""
    found = feed_holder()
    if found is None:
        raise Unauthorized("missing, invalid or revoked feed token (?token=)")
    row, membership = found
    if row.kind != "feed":
        raise Forbidden("an API token does not open the calendar feed: make a calendar feed "
                        "token on the settings page or with POST /tokens {\"kind\": \"feed\"}")
    campaign_id = int_arg("campaign_id")
    accounts.note_token_use(row)
    base = current_app.config["HERALD_BASE_URL"].rstrip("/")
    feed = feeds.calendar(
        membership.workspace_id,
        lambda post_id: base + url_for("posts.post_detail", post_id=post_id),
        urlsplit(base).hostname or "herald", campaign_id)
    response = Response(feed.body, content_type="text/calendar; charset=utf-8")
    response.set_etag(feed.etag)
    if feed.last_modified is not None:
        response.last_modified = feed.last_modified
    # Private: the URL holds the token, shared caches must not keep it; no-cache: asked
    # again every time, answered 304 while the ETag holds (web/headers.py leaves this be).
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Disposition"] = 'inline; filename="herald.ics"'
    return response.make_conditional(request)


@bp.get("/posts/export.csv")
def export_posts():
    """Every post of the token's workspace (at most imports.MAX_ROWS) in the import's columns;
    POST /posts/import (or the import page) takes the file back."""
    return Response(csv_bytes(imports.export_rows(g.workspace_id)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="posts.csv"'})




@bp.post("/posts/import")
def import_posts():
    """A CSV file, as the import page takes it (multipart `file`, or the body itself as
    text/csv): every row becomes a post, or none does. Wall times without a zone column are
    in `?timezone=`, else the token holder's zone. A refusal names each problem under
    `rows.<row>[.<column>]` (rows numbered as a spreadsheet numbers them)."""
    upload = request.files.get("file")
    raw = upload.read() if upload is not None else request.get_data()
    if not raw.strip():
        raise ValidationError.field("file", "send the CSV file as multipart `file` or as "
                                            "the request body (text/csv)")
    default_zone = request.args.get("timezone") or db.session.get(User, g.user_id).timezone
    zone(default_zone)
    try:
        event = imports.import_csv(g.workspace_id, g.user_id, raw, default_zone,
                                   upload.filename or "" if upload is not None else "")
    except imports.Refused as exc:
        db.session.rollback()
        fields: dict[str, str] = {}
        for problem in exc.problems:
            key = f"rows.{problem.row}" + (f".{problem.column}" if problem.column else "")
            fields[key] = f"{fields[key]}; {problem.message}" if key in fields else problem.message
        raise ValidationError(exc.message, fields) from None
    after = event.after
    return jsonify({"imported": after["rows"], "scheduled": after["scheduled"],
                    "drafts": after["drafts"], "first_post_id": after["first_post_id"],
                    "last_post_id": after["last_post_id"], "warnings": after["warnings"]}), 201
