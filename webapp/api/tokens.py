"""/api/v1/tokens — the caller's own tokens in the token's workspace. Tokens are an admin's
right (like members, channels and settings): listing, making and revoking them needs admin,
on the settings page too. Neither a token nor its hash is ever shown after it is made."""

from flask import g, jsonify

from ..extensions import db
from ..services import accounts
from ..timeutil import iso_utc
from . import bp, serializers
from .inputs import json_body


def _token(row) -> dict:
    return {"id": row.id, "name": row.name, "kind": row.kind,
            "created_at": iso_utc(row.created_at), "last_used_at": iso_utc(row.last_used_at)}


@bp.get("/tokens")
def list_tokens():
    query = accounts.token_query(g.membership.user, g.membership.workspace)
    return jsonify(serializers.paginate(query, _token, db.session))


@bp.post("/tokens")
def create_token():
    data = json_body()
    row, plain = accounts.create_token(g.membership.user, g.membership.workspace,
                                       data.get("name"), data.get("kind", "api"))
    # The only time the token is shown.
    return jsonify({"id": row.id, "name": row.name, "kind": row.kind, "token": plain,
                    "created_at": iso_utc(row.created_at)}), 201


@bp.delete("/tokens/<id:token_id>")
def revoke_token(token_id):
    accounts.revoke_token(g.membership.user, g.membership.workspace, token_id)
    return "", 204
