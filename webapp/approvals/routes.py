"""The Approvals page (approvers and admins): posts waiting for review, oldest first, each
as every channel will show it with its times; approve or reject with a comment; the
workspace's approval setting (admins)."""

from flask import flash, redirect, request, url_for
from flask_login import current_user

from ..errors import Conflict, ValidationError
from ..extensions import db
from ..services import approvals as service
from ..services import posts, reviews
from ..timeutil import now_utc
from ..web.access import current_workspace
from ..web.htmx import int_arg, render
from ..web.redirects import safe_redirect
from . import bp
from .forms import DecisionForm, ModeForm

PER_PAGE = 20
TIMES_SHOWN = 3


@bp.app_context_processor
def _waiting():
    """`approvals_waiting()` for the navigation (drawn for approvers and admins only)."""
    def approvals_waiting() -> int:
        return db.session.scalar(service.count(service.search(current_workspace().id,
                                                              "pending")))
    return {"approvals_waiting": approvals_waiting}


@bp.get("/approvals")
def approvals():
    workspace = current_workspace()
    page = int_arg("page", 1)
    query = service.search(workspace.id, "pending")
    total = db.session.scalar(service.count(query))
    waiting = db.session.scalars(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    first_due = service.first_due([a.post_id for a in waiting])
    times = {a.post_id: posts.occurrences(a.post, TIMES_SHOWN) for a in waiting}
    review_links = {a.post_id: reviews.of_post(a.post) for a in waiting}
    # Not "waiting": base.html's navigation sets that name for its counter.
    return render("approvals/approvals.html", requests=waiting, total=total, page=page,
                  pages=max(1, -(-total // PER_PAGE)), first_due=first_due, times=times,
                  review_links=review_links, now=now_utc(),
                  form=DecisionForm(), mode_form=ModeForm(approval=workspace.approval),
                  workspace=workspace)


def _back() -> str:
    return safe_redirect(request.form.get("next"), url_for("approvals.approvals"))


def _decide(post_id: int, decide, done: str):
    post = posts.get(current_workspace().id, post_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash("Nothing changed: the form expired; try again.", "error")
        return redirect(_back(), 303)
    try:
        decide(post, current_user.id, form.comment.data)
    except (Conflict, ValidationError) as exc:
        db.session.rollback()
        message = exc.fields.get("comment") if exc.fields else None
        flash(f"Nothing changed: {'the comment ' + message if message else exc.message}.",
              "error")
    else:
        flash(done, "success")
    return redirect(_back(), 303)


@bp.post("/approvals/<id:post_id>/approve")
def approve(post_id):
    return _decide(post_id, service.approve, "Approved: it goes out at its times.")


@bp.post("/approvals/<id:post_id>/reject")
def reject(post_id):
    return _decide(post_id, service.reject,
                   "Sent back to its author as a draft, with your comment.")


@bp.post("/approvals/setting")
def setting():
    form = ModeForm()
    if not form.validate_on_submit() or form.mode() is None:
        flash("Nothing changed: choose one of the two settings.", "error")
    else:
        service.set_mode(current_workspace(), form.mode(), current_user.id)
        flash("Approval setting saved.", "success")
    return redirect(url_for("approvals.approvals"), 303)
