"""/api/v1/hooks — lifecycle webhooks (admins only)."""

from flask import g, jsonify

from ..extensions import db
from ..services import hooks
from . import bp, serializers
from .inputs import json_body


@bp.post("/hooks")
def create_hook():
    hook = hooks.create(g.workspace_id, g.user_id, json_body())
    return jsonify(serializers.hook(hook)), 201


@bp.get("/hooks")
def list_hooks():
    return jsonify(serializers.paginate(hooks.search(g.workspace_id), serializers.hook,
                                        db.session))


@bp.delete("/hooks/<id:hook_id>")
def delete_hook(hook_id):
    hooks.delete(hooks.get(g.workspace_id, hook_id), g.user_id)
    return "", 204
