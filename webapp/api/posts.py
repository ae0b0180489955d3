"""/api/v1/posts"""

from datetime import UTC, datetime, timedelta

from flask import g, jsonify, request
from sqlalchemy import exists, select

from ..errors import ValidationError
from ..extensions import db
from ..models import OPEN, Delivery, Post, Schedule, pattern_of, post_channels
from ..models.posts import POST_STATUSES
from ..services import posts
from ..timeutil import now_utc
from . import bp, serializers
from .auth import require
from .inputs import int_arg, json_body, period_args

RECENT_DELIVERIES = 200
MAX_OCCURRENCES = 100  # ?limit= of /posts/{id}/occurrences
# Open-ended searches for occurrences look ten years ahead, and never past the calendar's
# end (where converting to a local time would overflow).
OPEN_ENDED = timedelta(days=3653)
LATEST = datetime(9999, 12, 29, tzinfo=UTC)


def _render(post: Post, upcoming_only: bool = False):
    query = select(Delivery).where(Delivery.post_id == post.id)
    if upcoming_only:
        query = query.where(Delivery.status.in_(OPEN)).order_by(Delivery.due_at)
    else:
        query = query.order_by(Delivery.due_at.desc(), Delivery.id.desc())
    return serializers.post(post, db.session.scalars(query.limit(RECENT_DELIVERIES)).all())


@bp.post("/posts")
def create_post():
    require("editor")
    post = posts.create(g.workspace_id, g.user_id, json_body())
    return jsonify(_render(post, upcoming_only=True)), 201


@bp.get("/posts")
def list_posts():
    query = select(Post).where(Post.workspace_id == g.workspace_id)
    status = request.args.get("status")
    if status:
        if status not in POST_STATUSES:
            raise ValidationError.field("status", f"must be one of {', '.join(POST_STATUSES)}")
        query = query.where(Post.status == status)
    channel_id = int_arg("channel_id")
    if channel_id:
        query = query.where(exists().where(post_channels.c.post_id == Post.id,
                                           post_channels.c.channel_id == channel_id))
    campaign_id = int_arg("campaign_id")
    if campaign_id:
        query = query.where(Post.campaign_id == campaign_id)
    start, end = period_args()
    if start or end:
        query = query.where(Post.id.in_(_posts_with_occurrences(start, end)))
    query = query.order_by(Post.id.desc())
    return jsonify(serializers.paginate(query, _render, db.session))


def _posts_with_occurrences(start, end) -> list[int]:
    """Ids of the workspace's posts with a delivery or a scheduled occurrence in [start, end]."""
    deliveries = select(Delivery.post_id).where(Delivery.workspace_id == g.workspace_id)
    if start:
        deliveries = deliveries.where(Delivery.due_at >= start)
    if end:
        deliveries = deliveries.where(Delivery.due_at <= end)
    ids = set(db.session.scalars(deliveries.distinct()))
    schedules = db.session.scalars(
        select(Schedule).join(Post).where(Post.workspace_id == g.workspace_id,
                                          Schedule.status.in_(("active", "paused")),
                                          Schedule.next_run_at.is_not(None)))
    for schedule in schedules:
        if schedule.post_id in ids:
            continue
        lower = max(start or now_utc(), schedule.next_run_at)
        if lower >= LATEST:
            continue
        upper = min(end or LATEST, LATEST)
        if end is None and lower < LATEST - OPEN_ENDED:
            upper = lower + OPEN_ENDED
        if pattern_of(schedule).between(lower, upper, limit=1):
            ids.add(schedule.post_id)
    return list(ids)


@bp.get("/posts/<id:post_id>")
def get_post(post_id):
    return jsonify(_render(posts.get(g.workspace_id, post_id)))


@bp.patch("/posts/<id:post_id>")
def update_post(post_id):
    require("editor")
    post = posts.update_post(posts.get(g.workspace_id, post_id), g.user_id, json_body())
    return jsonify(_render(post))


def _act(post_id: int, action):
    """An editor's action on one post (cancel, pause, resume, publish now): the post after."""
    require("editor")
    return jsonify(_render(action(posts.get(g.workspace_id, post_id), g.user_id)))


@bp.delete("/posts/<id:post_id>")
def delete_post(post_id):
    return _act(post_id, posts.cancel)


@bp.post("/posts/<id:post_id>/pause")
def pause_post(post_id):
    return _act(post_id, posts.pause)


@bp.post("/posts/<id:post_id>/resume")
def resume_post(post_id):
    return _act(post_id, posts.resume)


@bp.post("/posts/<id:post_id>/publish-now")
def publish_now(post_id):
    return _act(post_id, posts.publish_now)


@bp.get("/posts/<id:post_id>/occurrences")
def occurrences(post_id):
    post = posts.get(g.workspace_id, post_id)
    limit = int_arg("limit", 10, high=MAX_OCCURRENCES)
    return jsonify({"items": [serializers.occurrence(o)
                              for o in posts.occurrences(post, limit)]})
