"""/api/v1/channels"""

from flask import g, jsonify

from ..extensions import db
from ..services import channels
from . import bp, serializers
from .inputs import json_body


@bp.post("/channels")
def create_channel():
    channel = channels.create(g.workspace_id, g.user_id, json_body())
    return jsonify(serializers.channel(channel)), 201


@bp.get("/channels")
def list_channels():
    query = channels.search(g.workspace_id)
    return jsonify(serializers.paginate(query, serializers.channel, db.session))


@bp.get("/channels/<id:channel_id>")
def get_channel(channel_id):
    return jsonify(serializers.channel(channels.get(g.workspace_id, channel_id)))


@bp.patch("/channels/<id:channel_id>")
def update_channel(channel_id):
    channel = channels.get(g.workspace_id, channel_id)
    return jsonify(serializers.channel(channels.update(channel, g.user_id, json_body())))


@bp.delete("/channels/<id:channel_id>")
def delete_channel(channel_id):
    channels.delete(channels.get(g.workspace_id, channel_id), g.user_id)
    return "", 204


@bp.post("/channels/<id:channel_id>/check")
def check_channel(channel_id):
    result = channels.check(channels.get(g.workspace_id, channel_id))
    if not result.ok:
        return jsonify({"ok": False, "error": result.error})
    # "account": who the credentials belong to, where the platform says (additive).
    return jsonify({"ok": True} if result.account is None
                   else {"ok": True, "account": result.account})
