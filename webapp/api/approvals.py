"""/api/v1/workspace, /approvals and a post's approve / reject (API.md, "Approvals")."""

from flask import g, jsonify, request

from ..errors import ValidationError
from ..extensions import db
from ..models import APPROVAL_STATUSES, Workspace
from ..services import approvals, posts
from . import bp, serializers
from .inputs import json_body, optional_json_body
from .posts import render


@bp.get("/workspace")
def get_workspace():
    return jsonify(serializers.workspace(db.session.get(Workspace, g.workspace_id)))


@bp.patch("/workspace")
def update_workspace():
    data = json_body()
    workspace = db.session.get(Workspace, g.workspace_id)
    if "approval" in data:
        approvals.set_mode(workspace, data["approval"], g.user_id)
    return jsonify(serializers.workspace(workspace))


@bp.get("/approvals")
def list_approvals():
    status = request.args.get("status", "pending")
    if status not in APPROVAL_STATUSES:
        raise ValidationError.field("status", f"must be one of {', '.join(APPROVAL_STATUSES)}")
    query = approvals.search(g.workspace_id, status)
    return jsonify(serializers.paginate(query, serializers.approval, db.session))


@bp.post("/posts/<id:post_id>/approve")
def approve_post(post_id):
    post = posts.get(g.workspace_id, post_id)
    return jsonify(render(approvals.approve(post, g.user_id, optional_json_body().get("comment"))))


@bp.post("/posts/<id:post_id>/reject")
def reject_post(post_id):
    post = posts.get(g.workspace_id, post_id)
    return jsonify(render(approvals.reject(post, g.user_id, json_body().get("comment"))))
