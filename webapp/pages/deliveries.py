"""Deliveries: the queue as a table (status tabs, 50 a page) and the retry/cancel actions."""

from flask import abort, flash, request
from flask_login import current_user
from sqlalchemy import func, select

from ..errors import Conflict
from ..extensions import db
from ..models import DELIVERY_STATUSES, OPEN, Delivery
from ..services import deliveries as service
from . import bp
from .context import back, current_workspace, int_arg, render, require

PER_PAGE = 50


@bp.get("/deliveries")
def deliveries():
    workspace = current_workspace()
    status = request.args.get("status") or None
    if status is not None and status not in DELIVERY_STATUSES:
        abort(400, description=f"Unknown status “{status[:40]}”.")
    query = select(Delivery).where(Delivery.workspace_id == workspace.id)
    if status:
        query = query.where(Delivery.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // PER_PAGE))
    page = min(int_arg("page"), pages)
    # What is still to come reads soonest first; what is done, latest first.
    order = ((Delivery.next_attempt_at, Delivery.id) if status in OPEN
             else (Delivery.due_at.desc(), Delivery.id.desc()))
    rows = db.session.scalars(query.order_by(*order)
                              .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    counts = dict(db.session.execute(select(Delivery.status, func.count()).where(
        Delivery.workspace_id == workspace.id).group_by(Delivery.status)).all())
    return render("pages/deliveries.html", "pages/_deliveries_table.html", deliveries=rows,
                  status=status, statuses=DELIVERY_STATUSES, counts=counts, total=total,
                  page=page, pages=pages, per_page=PER_PAGE)


def _act(delivery_id: int, action, done: str):
    require("editor")
    delivery = service.get(current_workspace().id, delivery_id)
    post_id = delivery.post_id
    try:
        action(delivery, current_user.id)
    except Conflict as exc:
        db.session.rollback()
        flash(f"Nothing changed: {exc.message}.", "error")
    else:
        flash(done, "success")
    return back("pages.post_detail", post_id=post_id)


@bp.post("/deliveries/<id:delivery_id>/retry")
def delivery_retry(delivery_id):
    return _act(delivery_id, service.retry, "Trying again now.")


@bp.post("/deliveries/<id:delivery_id>/cancel")
def delivery_cancel(delivery_id):
    return _act(delivery_id, service.cancel, "Delivery cancelled.")
