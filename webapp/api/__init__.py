"""The JSON API, /api/v1 (the contract is ../shared/API.md; openapi.py describes it)."""

from flask import Blueprint

from ..web.errors import API_PREFIX

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)

from . import (  # noqa: E402,F401
    approvals,
    audit,
    auth,
    campaigns,
    channels,
    deliveries,
    feeds,
    hooks,
    members,
    openapi,
    posts,
    templates,
    tokens,
)
