"""The JSON API, /api/v1 (the contract is ../shared/API.md; openapi.py describes it)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import auth, channels, deliveries, errors, openapi, posts  # noqa: E402,F401
