"""/api/v1/posts"""

from flask import g, jsonify, request

from ..errors import ValidationError
from ..extensions import db
from ..models import POST_STATUSES, Post
from ..services import posts
from . import bp, serializers
from .inputs import int_arg, json_body, period_args

RECENT_DELIVERIES = 200
MAX_OCCURRENCES = 100  # ?limit= of /posts/{id}/occurrences


def render(post: Post, upcoming_only: bool = False):
    """A post in the contract's shape, with its latest deliveries."""
    return serializers.post(post, posts.recent_deliveries(post, RECENT_DELIVERIES, upcoming_only))


@bp.post("/posts")
def create_post():
    post = posts.create(g.workspace_id, g.user_id, json_body())
    return jsonify(render(post, upcoming_only=True)), 201


@bp.get("/posts")
def list_posts():
    status = request.args.get("status")
    if status and status not in POST_STATUSES:
        raise ValidationError.field("status", f"must be one of {', '.join(POST_STATUSES)}")
    start, end = period_args()
    query = posts.search(g.workspace_id, status=status, channel_id=int_arg("channel_id"),
                         campaign_id=int_arg("campaign_id"), start=start, end=end)
    return jsonify(serializers.paginate(query, render, db.session))


@bp.get("/posts/<id:post_id>")
def get_post(post_id):
    return jsonify(render(posts.get(g.workspace_id, post_id)))


@bp.patch("/posts/<id:post_id>")
def update_post(post_id):
    post = posts.update_post(posts.get(g.workspace_id, post_id), g.user_id, json_body())
    return jsonify(render(post))


def _act(post_id: int, action):
    """An editor's action on one post (cancel, pause, resume, publish now): the post after."""
    return jsonify(render(action(posts.get(g.workspace_id, post_id), g.user_id)))


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
