"""/api/v1/deliveries, /schedule/upcoming and /queue/stats"""

from datetime import timedelta

from flask import g, jsonify, request

from ..errors import ValidationError
from ..extensions import db
from ..models import DELIVERY_STATUSES
from ..services import deliveries
from . import bp, serializers
from .inputs import int_arg, json_body, period_args

MAX_UPCOMING_HOURS = 168
MAX_STATS_DAYS = 366


@bp.get("/deliveries")
def list_deliveries():
    status = request.args.get("status")
    if status and status not in DELIVERY_STATUSES:
        raise ValidationError.field("status", f"must be one of {', '.join(DELIVERY_STATUSES)}")
    start, end = period_args()
    query = deliveries.search(g.workspace_id, status=status, channel_id=int_arg("channel_id"),
                              post_id=int_arg("post_id"), start=start, end=end)
    return jsonify(serializers.paginate(query, serializers.delivery, db.session))


@bp.post("/deliveries/<id:delivery_id>/retry")
def retry_delivery(delivery_id):
    delivery = deliveries.retry(deliveries.get(g.workspace_id, delivery_id), g.user_id)
    return jsonify(serializers.delivery(delivery))


@bp.post("/deliveries/<id:delivery_id>/mark-published")
def mark_delivery_published(delivery_id):
    delivery = deliveries.get(g.workspace_id, delivery_id)
    # The body is optional: {"external_url"?}.
    data = json_body() if request.get_data(cache=True).strip() else {}
    delivery = deliveries.mark_published(delivery, g.user_id, data.get("external_url"))
    return jsonify(serializers.delivery(delivery))


@bp.post("/deliveries/<id:delivery_id>/cancel")
def cancel_delivery(delivery_id):
    delivery = deliveries.cancel(deliveries.get(g.workspace_id, delivery_id), g.user_id)
    return jsonify(serializers.delivery(delivery))


@bp.get("/schedule/upcoming")
def upcoming():
    hours = int_arg("hours", 24, high=MAX_UPCOMING_HOURS)
    rows = deliveries.upcoming(g.workspace_id, timedelta(hours=hours))
    return jsonify({"hours": hours, "count": len(rows),
                    "items": [serializers.delivery(d) for d in rows]})


@bp.get("/queue/stats")
def queue_stats():
    return jsonify(deliveries.stats(g.workspace_id, int_arg("days", 7, high=MAX_STATS_DAYS)))
