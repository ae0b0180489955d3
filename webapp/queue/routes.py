"""The queue's pages: every delivery of the workspace by status tab, with filters, sorting,
paging, batch actions, and rows that follow their delivery's progress by polling
themselves. What they show and do is in services.queue and services.batch."""

from urllib.parse import urlsplit

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..errors import Conflict, DomainError, NotFound
from ..extensions import db
from ..models import Delivery
from ..services import batch
from ..services import campaigns as campaign_service
from ..services import channels as channel_service
from ..services import deliveries as service
from ..services import queue as listing
from ..services.validation import row_id
from ..web.access import current_workspace, user_zone
from ..web.htmx import int_arg, render, wants_fragment
from ..web.redirects import back, safe_redirect
from . import bp


def _row_context() -> dict:
    return {"poll_seconds": listing.poll_seconds, "post_paused": listing.post_paused,
            "FINAL": listing.FINAL}


def _tabs_context(workspace_id: int) -> dict:
    """The filters, the narrowing conditions and the tab bar's counts."""
    channels = channel_service.of_workspace(workspace_id)
    campaigns = campaign_service.of_workspace(workspace_id)
    f = listing.read_filters(request.args, channels, campaigns, int_arg("page"))
    where = listing.narrowing(workspace_id, f, user_zone())
    counts = listing.tab_counts(where)
    tabs = [(tab, sum(counts[s] for s in statuses),
             ", ".join(f"{counts[s]} {s}" for s in statuses) if len(statuses) > 1 else "")
            for tab, statuses in listing.TABS.items()]
    return {"f": f, "channels": channels, "campaigns": campaigns, "where": where,
            "counts": counts, "tabs": tabs,
            "queue_url": lambda **changes: url_for("queue.queue", **f.args(**changes))}


def _queue_context(workspace_id: int) -> dict:
    context = _tabs_context(workspace_id)
    f, counts = context["f"], context["counts"]
    total = sum(counts[s] for s in f.statuses)
    per_page = listing.PER_PAGE
    pages = max(1, -(-total // per_page))
    f.page = min(f.page, pages)
    rows = listing.page_of_rows(workspace_id, f, context.pop("where"),
                                (f.page - 1) * per_page) if total else []
    return {**context, "total": total, "pages": pages, "rows": rows, "per_page": per_page,
            "sorts": listing.SORTS, "self_url": url_for("queue.queue", **f.args()),
            **_row_context()}


@bp.get("/queue")
def queue():
    workspace = current_workspace()
    context = _queue_context(workspace.id)
    body, code = render("queue/queue.html", "queue/_queue_table.html", **context)
    response = make_response(body, code)
    if request.headers.get("HX-Trigger") in ("queue-filters", "queue-sort"):
        # The filters change as the user types: the address follows, in its short form,
        # without a history entry per keystroke.
        response.headers["HX-Replace-Url"] = context["self_url"]
    return response


@bp.get("/queue/tabs")
def queue_tabs():
    """The tab bar alone, with fresh counts (after rows changed status)."""
    workspace = current_workspace()
    return render("queue/_queue_tabs.html", "queue/_queue_tabs.html",
                  **_tabs_context(workspace.id))


@bp.get("/deliveries")
def deliveries():
    """The old address of the queue."""
    return redirect(url_for("queue.queue", **request.args.to_dict(flat=False)), 301)


@bp.get("/queue/rows/<id:delivery_id>")
def queue_row(delivery_id):
    """One row, as it is now: rows that are not final poll this; the answer for a final one
    is status 286, which ends the polling. A delivery that is gone (or not this workspace's)
    removes its row and ends the polling too, the same way for both, so nothing leaks."""
    try:
        delivery = service.get(current_workspace().id, delivery_id)
    except NotFound:
        if wants_fragment():
            return "", 286
        raise
    return _row_response(delivery)


def _row_response(delivery: Delivery, notice: str | None = None, triggers=()):
    final = delivery.status in listing.FINAL
    response = make_response(render_template("queue/_queue_row.html", d=delivery, preserve=True,
                                             notice=notice, **_row_context()),
                             286 if final else 200)
    events = list(triggers)
    if final:
        # The tab counts are out of date now, and a failure has written a notification.
        events.append("queue-counts-changed")
        if delivery.status in ("failed", "unknown"):
            events.append("notifications-changed")
    if events:
        response.headers["HX-Trigger"] = ", ".join(dict.fromkeys(events))
    return response


# Single-delivery actions (the post page and the rows use them) ---------------------------------

def _act(delivery_id: int, action, done: str):
    delivery = service.get(current_workspace().id, delivery_id)
    post_id = delivery.post_id
    notice = None
    try:
        action(delivery, current_user.id)
    except Conflict as exc:
        db.session.rollback()
        notice = f"Nothing changed: {exc.message}."
    if wants_fragment():
        delivery = service.get(current_workspace().id, delivery_id)
        response = _row_response(delivery, notice, triggers=["queue-counts-changed"])
        response.status_code = 200  # the row polls again if it is waiting now
        return response
    flash(notice or done, "error" if notice else "success")
    return back("posts.post_detail", post_id=post_id)


@bp.post("/deliveries/<id:delivery_id>/retry")
def delivery_retry(delivery_id):
    return _act(delivery_id, service.retry, "Trying again now.")


@bp.post("/deliveries/<id:delivery_id>/mark-published")
def delivery_mark_published(delivery_id):
    """Someone checked: an unknown delivery did go out."""
    return _act(delivery_id, service.mark_published, "Marked published.")


@bp.post("/deliveries/<id:delivery_id>/cancel")
def delivery_cancel(delivery_id):
    return _act(delivery_id, service.cancel, "Delivery cancelled.")


# Batch actions ---------------------------------------------------------------------------------

def _selected_ids() -> list[int]:
    ids = [row_id(raw) for raw in request.form.getlist("ids")]
    return list(dict.fromkeys(i for i in ids if i is not None))


def _next_url() -> str:
    """The queue page the batch form came from (its tab and filters), else the queue."""
    default = url_for("queue.queue")
    target = safe_redirect(request.form.get("next"), default)
    return target if urlsplit(target).path == default else default


@bp.post("/queue/batch")
def queue_batch():
    """Apply one action to the selected deliveries. Cancelling asks first (a page, or a
    panel above the table with HTMX); the answer says what happened to each row."""
    workspace = current_workspace()
    name = request.form.get("action", "")
    if name not in batch.ACTIONS:
        raise DomainError("Unknown action: choose one of the buttons.")
    ids = _selected_ids()
    next_url = _next_url()
    problem = None
    if not ids:
        problem = "Select at least one delivery first (the boxes at the start of each row)."
    elif len(ids) > batch.MAX_BATCH:
        problem = f"Select at most {batch.MAX_BATCH} deliveries at a time."
    if problem:
        if wants_fragment():
            return render_template("queue/_queue_result.html", problem=problem)
        flash(problem, "error")
        return redirect(next_url, 303)
    if name == "cancel" and request.form.get("confirm") != "yes":
        found = batch.load(workspace.id, ids)
        rows = [(found[i], batch.skip_reason(batch.ACTIONS[name], found[i]))
                for i in ids if i in found]
        return render("queue/queue_confirm.html", "queue/_queue_confirm.html", rows=rows,
                      missing=len(ids) - len(rows), next_url=next_url,
                      cancellable=sum(1 for _, reason in rows if reason is None))
    outcomes = batch.run_batch(workspace.id, current_user.id, name, ids)
    summary = batch.summarize(name, outcomes)
    if wants_fragment():
        response = make_response(render_template(
            "queue/_queue_result.html", name=name, outcomes=outcomes, summary=summary,
            per_post=batch.ACTIONS[name].per_post))
        response.headers["HX-Trigger"] = "queue-changed"
        return response
    flash(summary + ".", "success" if all(o.done for o in outcomes) else "info")
    return redirect(next_url, 303)
