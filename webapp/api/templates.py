"""/api/v1/templates"""

from flask import g, jsonify, request

from ..errors import ValidationError
from ..extensions import db
from ..services import templates
from . import bp, serializers
from .inputs import int_arg, json_body
from .posts import render as render_post

FLAGS = {"true": True, "1": True, "false": False, "0": False, "": False}


def _flag(name: str) -> bool:
    raw = request.args.get(name, "")
    if raw.lower() not in FLAGS:
        raise ValidationError.field(name, "must be true or false")
    return FLAGS[raw.lower()]


@bp.post("/templates")
def create_template():
    template = templates.create(g.workspace_id, g.user_id, json_body())
    return jsonify(serializers.template(template)), 201


@bp.get("/templates")
def list_templates():
    """Favourites first, then the most used, then the most recently used."""
    query = templates.search(g.workspace_id, campaign_id=int_arg("campaign_id"),
                             favorites_only=_flag("favorites_only"))
    return jsonify(serializers.paginate(query, serializers.template, db.session))


@bp.get("/templates/<id:template_id>")
def get_template(template_id):
    return jsonify(serializers.template(templates.get(g.workspace_id, template_id)))


@bp.patch("/templates/<id:template_id>")
def update_template(template_id):
    template = templates.update(templates.get(g.workspace_id, template_id), g.user_id,
                                json_body())
    return jsonify(serializers.template(template))


@bp.delete("/templates/<id:template_id>")
def delete_template(template_id):
    templates.delete(templates.get(g.workspace_id, template_id), g.user_id)
    return "", 204


@bp.post("/templates/<id:template_id>/use")
def use_template(template_id):
    """A post from the template, the body's POST /posts fields overriding it."""
    template = templates.get(g.workspace_id, template_id)
    body = json_body() if request.get_data(cache=True).strip() else {}
    post = templates.use(template, g.user_id, body)
    return jsonify(render_post(post, upcoming_only=True)), 201


@bp.post("/templates/<id:template_id>/favorite")
def favorite_template(template_id):
    template = templates.toggle_favorite(templates.get(g.workspace_id, template_id),
                                         g.user_id)
    return jsonify(serializers.template(template))
