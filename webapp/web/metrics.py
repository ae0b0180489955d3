"""GET /metrics for Prometheus, behind a bearer token (docs/operations.md).

Not public: the counts tell how busy an installation is and when its posts go out. Without
HERALD_METRICS_TOKEN the page does not exist (404); with it, a request without that token
gets 401.
"""

import hmac

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST

from ..engine import metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape():
    token = current_app.config["HERALD_METRICS_TOKEN"]
    if not token:
        abort(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Constant time: how much of a guess matched must not show in how long the answer took.
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                             token.encode()):
        return Response("a valid bearer token is required\n", 401,
                        {"WWW-Authenticate": 'Bearer realm="metrics"'},
                        mimetype="text/plain")
    return Response(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
