"""The queue: every delivery of the workspace by status tab, with filters, sorting, paging,
batch actions (pause, resume, cancel, retry, publish now) and rows that follow their
delivery's progress by polling themselves.

Batch actions run synchronously: a batch is at most one page of rows (MAX_BATCH), and each
row is one short transaction plus a Redis call (a few milliseconds), so even a full batch
answers in well under a second and needs no progress component.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ..errors import Conflict, DomainError
from ..extensions import db
from ..models import DELIVERY_STATUSES, INACTIVE_POSTS, Channel, Delivery, Post
from ..services import deliveries as service
from ..services import posts as post_service
from ..timeutil import MAX_YEAR, MIN_YEAR, now_utc
from ..web.access import current_workspace, require, user_zone
from ..web.htmx import int_arg, render, wants_fragment
from ..web.redirects import back, safe_redirect
from . import bp

log = logging.getLogger(__name__)

PER_PAGE = 50
MAX_BATCH = 100
# Tabs in the order shown, each with the statuses it holds.
TABS = {
    "upcoming": ("pending", "queued", "retrying"),
    "publishing": ("publishing",),
    "failed": ("failed",),
    "published": ("published",),
    "cancelled": ("cancelled",),
}
TAB_OF = {s: tab for tab, statuses in TABS.items() for s in statuses}
OPEN_TABS = ("upcoming", "publishing")
FINAL = ("published", "failed", "cancelled")
SORTS = {"due": "Due time, earliest first", "-due": "Due time, latest first",
         "priority": "Priority, highest first", "channel": "Channel, A–Z"}
# Rows poll quickly while something is about to happen to them, slowly otherwise.
POLL_FAST, POLL_SLOW, SOON = 3, 60, timedelta(minutes=10)
SEARCH_MAX = 200
SEARCH_IDS = 2000  # matching posts looked up one by one; more are a subquery


# Reading the filters -------------------------------------------------------------------------

@dataclass
class Filters:
    status: str = "upcoming"          # a tab, or one delivery status inside a tab
    channel_id: int | None = None
    q: str = ""
    start: date | None = None
    end: date | None = None
    sort: str = "due"
    page: int = 1
    errors: dict = field(default_factory=dict)

    @property
    def tab(self) -> str:
        return self.status if self.status in TABS else TAB_OF[self.status]

    @property
    def statuses(self) -> tuple:
        return TABS.get(self.status, (self.status,))

    @property
    def default_sort(self) -> str:
        return "due" if self.tab in OPEN_TABS else "-due"

    @property
    def active(self) -> bool:
        """True when anything narrows the list besides the tab."""
        return bool(self.channel_id or self.q or self.start or self.end)

    def args(self, **changes) -> dict:
        """The query string for this view with `changes`, leaving out what is default."""
        values = {"status": self.status, "channel": self.channel_id, "q": self.q,
                  "from": self.start.isoformat() if self.start else None,
                  "to": self.end.isoformat() if self.end else None,
                  "sort": self.sort, "page": self.page}
        values.update(changes)
        if values["status"] == "upcoming":
            values["status"] = None
        tab = values["status"] or "upcoming"
        default = "due" if TAB_OF.get(tab, tab) in OPEN_TABS else "-due"
        if values["sort"] == default or values["sort"] not in SORTS:
            values["sort"] = None
        if values["page"] == 1:
            values["page"] = None
        return {k: v for k, v in values.items() if v not in (None, "")}


def _date(name: str, errors: dict) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw[:10]) if len(raw) == 10 else None
    except ValueError:
        value = None
    if value is None:
        errors[name] = "Enter a date like 2026-03-31."
    elif not MIN_YEAR <= value.year <= MAX_YEAR:
        errors[name] = f"Choose a date between the years {MIN_YEAR} and {MAX_YEAR}."
        value = None
    return value


def read_filters(channels: list[Channel]) -> Filters:
    """The queue's filters from the query string. An unknown tab, channel or sort (only a
    hand-made address has one) is a 400; a date that cannot be read is shown at its input
    and ignored."""
    f = Filters()
    status = request.args.get("status") or "upcoming"
    if status not in TABS and status not in DELIVERY_STATUSES:
        abort(400, description=f"Unknown status “{status[:40]}”.")
    f.status = status
    raw_channel = request.args.get("channel", "")
    if raw_channel:
        ids = {c.id for c in channels}
        if not (raw_channel.isdigit() and len(raw_channel) < 10 and int(raw_channel) in ids):
            abort(400, description="Unknown channel: choose one from the list.")
        f.channel_id = int(raw_channel)
    f.q = " ".join(request.args.get("q", "").split())[:SEARCH_MAX]
    f.start, f.end = _date("from", f.errors), _date("to", f.errors)
    if f.start and f.end and f.end < f.start:
        f.errors["to"] = "The end date is before the start date."
        f.end = None
    sort = request.args.get("sort") or f.default_sort
    if sort not in SORTS:
        abort(400, description=f"Unknown sort “{sort[:40]}”.")
    f.sort = sort
    f.page = int_arg("page")
    return f


# Querying ------------------------------------------------------------------------------------

def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=user_zone()).astimezone(UTC)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching_posts(workspace_id: int, q: str):
    """The posts whose title or text contains `q`: their ids when there are not many (the
    database then finds their deliveries by post, which is what makes a search fast), else
    a subquery."""
    pattern = _like(q)
    query = select(Post.id).where(Post.workspace_id == workspace_id, or_(
        Post.title.ilike(pattern, escape="\\"), Post.body.ilike(pattern, escape="\\")))
    ids = db.session.scalars(query.limit(SEARCH_IDS + 1)).all()
    return ids if len(ids) <= SEARCH_IDS else query


def _narrowing(workspace_id: int, f: Filters) -> list:
    """Every condition but the status: the tab counts use them too."""
    posts = _matching_posts(workspace_id, f.q) if f.q else None
    if isinstance(posts, list):
        # Only this workspace's posts, so only its deliveries: the workspace condition
        # would only lead SQLite to scan the workspace instead of looking posts up.
        where = [Delivery.post_id.in_(posts)]
    else:
        where = [Delivery.workspace_id == workspace_id]
        if posts is not None:
            where.append(Delivery.post_id.in_(posts))
    if f.channel_id:
        where.append(Delivery.channel_id == f.channel_id)
    # Dates are the user's calendar days, on the delivery's due time.
    if f.start:
        where.append(Delivery.due_at >= _local_midnight(f.start))
    if f.end:
        where.append(Delivery.due_at < _local_midnight(f.end + timedelta(days=1)))
    return where


def _order(f: Filters) -> list:
    # What is still to come goes by when it is next tried; what is done by when it was due.
    when = Delivery.next_attempt_at if f.tab in OPEN_TABS else Delivery.due_at
    later_first = f.sort == "-due" or (f.sort != "due" and f.tab not in OPEN_TABS)
    by_time = [when.desc(), Delivery.id.desc()] if later_first else [when, Delivery.id]
    if f.sort == "priority":
        return [Delivery.priority.desc(), *by_time]
    if f.sort == "channel":
        return [Channel.name, Channel.id, *by_time]
    return by_time


def tab_counts(where: list) -> dict:
    """Deliveries per status under the current filters (one grouped query)."""
    counts = dict.fromkeys(DELIVERY_STATUSES, 0)
    counts.update(db.session.execute(
        select(Delivery.status, func.count()).where(*where).group_by(Delivery.status)).all())
    return counts


def page_of_rows(workspace_id: int, f: Filters, where: list, offset: int) -> list[Delivery]:
    """One page of deliveries, in two steps: the ids (from the indexes alone, without the
    joins), then those rows with their post and channel."""
    query = select(Delivery.id).where(*where, Delivery.status.in_(f.statuses))
    if f.sort == "channel":
        query = query.join(Channel, Channel.id == Delivery.channel_id)
    ids = db.session.scalars(query.order_by(*_order(f)).limit(PER_PAGE).offset(offset)).all()
    if not ids:
        return []
    rows = db.session.scalars(select(Delivery).where(
        Delivery.id.in_(ids), Delivery.workspace_id == workspace_id).options(
        joinedload(Delivery.post).lazyload(Post.channels))).unique().all()
    by_id = {d.id: d for d in rows}
    return [by_id[i] for i in ids if i in by_id]


def _channels(workspace_id: int) -> list[Channel]:
    return db.session.scalars(select(Channel).where(Channel.workspace_id == workspace_id)
                              .order_by(Channel.name, Channel.id)).all()


def poll_seconds(delivery: Delivery) -> int | None:
    """How often a row asks for its delivery again: never once it is final."""
    if delivery.status in FINAL:
        return None
    if delivery.status == "publishing" or delivery.next_attempt_at <= now_utc() + SOON:
        return POLL_FAST
    return POLL_SLOW


def post_paused(delivery: Delivery) -> bool:
    return any(s.status == "paused" for s in delivery.post.schedules)


def _row_context() -> dict:
    return {"poll_seconds": poll_seconds, "post_paused": post_paused, "FINAL": FINAL}


# The page --------------------------------------------------------------------------------------

def _tabs_context(workspace_id: int) -> dict:
    """The filters, the narrowing conditions and the tab bar's counts."""
    channels = _channels(workspace_id)
    f = read_filters(channels)
    where = _narrowing(workspace_id, f)
    counts = tab_counts(where)
    tabs = [(tab, sum(counts[s] for s in statuses),
             ", ".join(f"{counts[s]} {s}" for s in statuses) if len(statuses) > 1 else "")
            for tab, statuses in TABS.items()]
    return {"f": f, "channels": channels, "where": where, "counts": counts, "tabs": tabs,
            "queue_url": lambda **changes: url_for("queue.queue", **f.args(**changes))}


def _queue_context(workspace_id: int) -> dict:
    context = _tabs_context(workspace_id)
    f, counts = context["f"], context["counts"]
    total = sum(counts[s] for s in f.statuses)
    pages = max(1, -(-total // PER_PAGE))
    f.page = min(f.page, pages)
    rows = page_of_rows(workspace_id, f, context.pop("where"),
                        (f.page - 1) * PER_PAGE) if total else []
    return {**context, "total": total, "pages": pages, "rows": rows, "per_page": PER_PAGE,
            "sorts": SORTS, "self_url": url_for("queue.queue", **f.args()), **_row_context()}


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
    workspace = current_workspace()
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.workspace_id != workspace.id:
        if wants_fragment():
            return "", 286
        abort(404, description=f"Delivery {delivery_id} not found.")
    return _row_response(delivery)


def _row_response(delivery: Delivery, notice: str | None = None, triggers=()):
    final = delivery.status in FINAL
    response = make_response(render_template("queue/_queue_row.html", d=delivery, preserve=True,
                                             notice=notice, **_row_context()),
                             286 if final else 200)
    events = list(triggers)
    if final:
        # The tab counts are out of date now, and a failure has written a notification.
        events.append("queue-counts-changed")
        if delivery.status == "failed":
            events.append("notifications-changed")
    if events:
        response.headers["HX-Trigger"] = ", ".join(dict.fromkeys(events))
    return response


# Single-delivery actions (the post page and the rows use them) ---------------------------------

def _act(delivery_id: int, action, done: str):
    require("editor")
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


@bp.post("/deliveries/<id:delivery_id>/cancel")
def delivery_cancel(delivery_id):
    return _act(delivery_id, service.cancel, "Delivery cancelled.")


# Batch actions ---------------------------------------------------------------------------------

@dataclass
class Outcome:
    delivery_id: int
    label: str
    done: bool
    reason: str = ""


@dataclass
class Action:
    verb: str            # what the summary says was done: "3 cancelled"
    button: str
    allowed: tuple       # delivery statuses the action applies to (per-row actions)
    per_post: bool = False


ACTIONS = {
    "publish_now": Action("sent to publish now", "Publish now", ("pending", "queued", "retrying")),
    "pause": Action("paused", "Pause", (), per_post=True),
    "resume": Action("resumed", "Resume", (), per_post=True),
    "retry": Action("sent to retry", "Retry", ("failed",)),
    "cancel": Action("cancelled", "Cancel", ("pending", "queued", "retrying")),
}
# Why a delivery in this status is left alone.
NOT_APPLICABLE = {
    "published": "already published", "cancelled": "already cancelled",
    "publishing": "being published right now", "failed": "it failed (retry it instead)",
    "pending": "not failed", "queued": "not failed", "retrying": "not failed (still retrying)",
}
POST_CONFLICTS = {
    "the post has no active schedule to pause": "its post is not active (already paused, "
                                                "finished or cancelled)",
    "the post is not paused": "its post is not paused",
}


def _label(delivery: Delivery) -> str:
    post = delivery.post
    text = post.title or (post.body[:50] + ("…" if len(post.body) > 50 else ""))
    return f"“{text}” → {delivery.channel.name}"


def _skip_reason(action: Action, delivery: Delivery) -> str | None:
    if action.per_post:
        return None
    if delivery.status not in action.allowed:
        return NOT_APPLICABLE.get(delivery.status, f"it is {delivery.status}")
    if action is ACTIONS["publish_now"]:
        # It would wait anyway: say so instead of pretending it went out.
        if delivery.post.status in INACTIVE_POSTS:
            return {"draft": "its post is a draft (schedule it first)",
                    "pending_approval": "its post is waiting for approval",
                    }.get(delivery.post.status, f"its post is {delivery.post.status}")
        if post_paused(delivery):
            return "its post is paused (resume it first)"
        if delivery.channel.paused:
            return "its channel is paused"
    return None


def selected_ids() -> list[int]:
    ids = [int(raw) for raw in request.form.getlist("ids") if raw.isdigit() and len(raw) < 10]
    return list(dict.fromkeys(ids))


def _load(workspace_id: int, ids: list[int]) -> dict[int, Delivery]:
    rows = db.session.scalars(select(Delivery).where(
        Delivery.id.in_(ids), Delivery.workspace_id == workspace_id)).unique().all()
    return {d.id: d for d in rows}


def _run(step, label: str) -> str | None:
    """Run one row's step; its failure is that row's outcome, never the batch's."""
    try:
        step()
    except DomainError as exc:
        db.session.rollback()
        return exc.message
    except Exception:
        db.session.rollback()
        log.exception("batch step failed for %s", label)
        return "could not be changed (an unexpected error, logged for the admin)"
    return None


def run_batch(workspace_id: int, user_id: int, name: str, ids: list[int]) -> list[Outcome]:
    """Apply action `name` to each delivery, one by one: a row that cannot be changed is
    skipped with its reason and the others go on."""
    action = ACTIONS[name]
    found = _load(workspace_id, ids)
    labels = {i: _label(d) for i, d in found.items()}
    outcomes: list[Outcome] = []
    post_results: dict[int, str | None] = {}
    for delivery_id in ids:
        delivery = found.get(delivery_id)
        if delivery is None:
            outcomes.append(Outcome(delivery_id, f"Delivery {delivery_id}", False, "not found"))
            continue
        label = labels[delivery_id]
        if action.per_post:
            # Pause and resume act on the post; its other rows get the same outcome.
            post_id = delivery.post_id
            if post_id not in post_results:
                call = post_service.pause if name == "pause" else post_service.resume

                def step(post_id=post_id, call=call):
                    call(post_service.get(workspace_id, post_id), user_id)

                error = _run(step, label)
                post_results[post_id] = POST_CONFLICTS.get(error, error)
            reason = post_results[post_id]
        else:
            reason = _skip_reason(action, delivery)
            if reason is None:
                call = {"publish_now": service.publish_now, "retry": service.retry,
                        "cancel": service.cancel}[name]

                def step(delivery_id=delivery_id, call=call):
                    call(service.get(workspace_id, delivery_id), user_id)

                reason = _run(step, label)
                if reason and reason.startswith(f"delivery {delivery_id} is "):
                    # Changed meanwhile: say what it is now, in the same words as above.
                    db.session.expire_all()
                    now = db.session.get(Delivery, delivery_id)
                    reason = NOT_APPLICABLE.get(now.status, reason) if now else "not found"
        outcomes.append(Outcome(delivery_id, label, reason is None, reason or ""))
    return outcomes


def summarize(name: str, outcomes: list[Outcome]) -> str:
    """“3 cancelled, 1 skipped: already published”."""
    done = sum(o.done for o in outcomes)
    parts = [f"{done} {ACTIONS[name].verb}"]
    reasons: dict[str, int] = {}
    for o in outcomes:
        if not o.done:
            reasons[o.reason] = reasons.get(o.reason, 0) + 1
    parts += [f"{n} skipped: {reason}" for reason, n in reasons.items()]
    return ", ".join(parts)


def _next_url() -> str:
    """The queue page the batch form came from (its tab and filters), else the queue."""
    default = url_for("queue.queue")
    target = safe_redirect(request.form.get("next"), default)
    return target if urlsplit(target).path == default else default


@bp.post("/queue/batch")
def queue_batch():
    """Apply one action to the selected deliveries. Cancelling asks first (a page, or a
    panel above the table with HTMX); the answer says what happened to each row."""
    require("editor")
    workspace = current_workspace()
    name = request.form.get("action", "")
    if name not in ACTIONS:
        abort(400, description="Unknown action: choose one of the buttons.")
    ids = selected_ids()
    next_url = _next_url()
    problem = None
    if not ids:
        problem = "Select at least one delivery first (the boxes at the start of each row)."
    elif len(ids) > MAX_BATCH:
        problem = f"Select at most {MAX_BATCH} deliveries at a time."
    if problem:
        if wants_fragment():
            return render_template("queue/_queue_result.html", problem=problem)
        flash(problem, "error")
        return redirect(next_url, 303)
    if name == "cancel" and request.form.get("confirm") != "yes":
        found = _load(workspace.id, ids)
        rows = [(found[i], _skip_reason(ACTIONS[name], found[i])) for i in ids if i in found]
        return render("queue/queue_confirm.html", "queue/_queue_confirm.html", rows=rows,
                      missing=len(ids) - len(rows), next_url=next_url,
                      cancellable=sum(1 for _, reason in rows if reason is None))
    outcomes = run_batch(workspace.id, current_user.id, name, ids)
    summary = summarize(name, outcomes)
    if wants_fragment():
        response = make_response(render_template(
            "queue/_queue_result.html", name=name, outcomes=outcomes, summary=summary,
            per_post=ACTIONS[name].per_post))
        response.headers["HX-Trigger"] = "queue-changed"
        return response
    flash(summary + ".", "success" if all(o.done for o in outcomes) else "info")
    return redirect(next_url, 303)
