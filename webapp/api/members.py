"""/api/v1/members — the token's workspace's team (admins only)."""

from flask import g, jsonify, url_for

from ..extensions import db
from ..services import team
from ..timeutil import iso_utc
from . import bp, serializers
from .inputs import json_body


@bp.get("/members")
def list_members():
    return jsonify(serializers.paginate(team.members_query(g.workspace_id),
                                        serializers.member, db.session))


@bp.post("/members")
def invite_member():
    """201 with the invitation and its one-time link (this answer is the only place it
    appears; it is e-mailed too when SMTP_URL is set)."""
    body = json_body()
    invitation, token = team.invite(g.workspace_id, g.user_id, body.get("email"),
                                    body.get("role"))
    return jsonify({"id": invitation.id, "email": invitation.email, "role": invitation.role,
                    "expires_at": iso_utc(invitation.expires_at),
                    "url": url_for("team.invitation", token=token, _external=True)}), 201


@bp.patch("/members/<id:membership_id>")
def change_member_role(membership_id):
    body = json_body()
    team.member(g.workspace_id, membership_id)  # another workspace's: 404 before 422
    membership = team.change_role(g.workspace_id, membership_id, body.get("role"), g.user_id)
    return jsonify(serializers.member(membership))


@bp.delete("/members/<id:membership_id>")
def remove_member(membership_id):
    team.remove(g.workspace_id, membership_id, g.user_id)
    return "", 204
