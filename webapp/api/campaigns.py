"""/api/v1/campaigns"""

from flask import g, jsonify

from ..extensions import db
from ..services import campaigns
from . import bp, serializers
from .inputs import json_body


@bp.post("/campaigns")
def create_campaign():
    campaign = campaigns.create(g.workspace_id, g.user_id, json_body())
    return jsonify(serializers.campaign(campaign)), 201


@bp.get("/campaigns")
def list_campaigns():
    query = campaigns.search(g.workspace_id)
    return jsonify(serializers.paginate(query, serializers.campaign, db.session))


@bp.get("/campaigns/<id:campaign_id>")
def get_campaign(campaign_id):
    return jsonify(serializers.campaign(campaigns.get(g.workspace_id, campaign_id)))


@bp.patch("/campaigns/<id:campaign_id>")
def update_campaign(campaign_id):
    """A status of paused pauses every schedule of the campaign's posts; active resumes."""
    campaign = campaigns.get(g.workspace_id, campaign_id)
    campaign, _ = campaigns.update(campaign, g.user_id, json_body())
    return jsonify(serializers.campaign(campaign))


@bp.delete("/campaigns/<id:campaign_id>")
def delete_campaign(campaign_id):
    campaigns.delete(campaigns.get(g.workspace_id, campaign_id), g.user_id)
    return "", 204


@bp.get("/campaigns/<id:campaign_id>/stats")
def campaign_stats(campaign_id):
    stats = campaigns.stats(campaigns.get(g.workspace_id, campaign_id))
    return jsonify(serializers.campaign_stats(stats))
