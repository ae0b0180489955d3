"""Fixtures of the JSON API's tests: API clients for other members and workspaces."""

import pytest

from tests.helpers import PASSWORD, Api, token_for
from webapp.services.accounts import create_user


@pytest.fixture
def api_member(app, client):
    """Makes a member of a workspace (made if new) and returns an API client with their
    token: api_member("ed@example.com", "editor")."""
    def make(email, role, workspace="Acme") -> Api:
        user, ws = create_user(email, PASSWORD, workspace, role)
        return Api(client, token_for(user, ws.id))
    return make


@pytest.fixture
def outsider(api_member):
    """An admin of another workspace."""
    return api_member("outsider@example.com", "admin", workspace="Elsewhere")
