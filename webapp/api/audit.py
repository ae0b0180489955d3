"""/api/v1/audit: the workspace's audit log, newest first, for approvers and admins."""

from flask import g, jsonify, request

from ..services import audit
from ..services.validation import Errors
from . import bp, serializers
from .inputs import period_args


@bp.get("/audit")
def list_audit():
    errors = Errors()
    filters = audit.read_filters(request.args, errors)
    errors.raise_if_any("invalid filters")
    filters.start, filters.end = period_args()
    page, per_page = serializers.page_args()
    found = audit.search(g.workspace_id, filters, page, per_page)
    return jsonify({"items": [serializers.audit_event(r.event) for r in found.rows],
                    "page": found.page, "per_page": found.per_page, "total": found.total})
