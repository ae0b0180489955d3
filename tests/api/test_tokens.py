"""/api/v1/tokens against API.md ("Team, tokens, audit, hooks"): an admin lists, makes and
revokes their own tokens in the token's workspace; the token is shown once, its hash never;
a calendar feed token does not open the API; and the settings page agrees."""

import pytest
from sqlalchemy import select

from tests.api.helpers import assert_error
from tests.helpers import PASSWORD, Api, count, page, show, sign_in, submit, token_for
from webapp.extensions import db
from webapp.models import ApiToken, AuditEvent
from webapp.services.accounts import create_user

pytestmark = pytest.mark.postgres

TOKEN_KEYS = {"id", "name", "kind", "created_at", "last_used_at"}
NEW_TOKEN_KEYS = {"id", "name", "kind", "token", "created_at"}


def make_token(api, name="deploy script", **extra):
    response = api.post("/tokens", json={"name": name, **extra})
    assert response.status_code == 201, response.json
    return response.json


def test_a_new_token_is_shown_once_and_opens_the_api(app, client, api):
    made = make_token(api, "  deploy script  ")
    assert set(made) == NEW_TOKEN_KEYS
    assert (made["name"], made["kind"]) == ("deploy script", "api")
    assert made["token"].startswith("hrld_") and made["created_at"].endswith("Z")
    fresh = Api(client, made["token"])
    assert fresh.get("/channels").status_code == 200
    row = db.session.get(ApiToken, made["id"])
    assert row.token_hash == ApiToken.hash(made["token"])

    listed = api.get("/tokens")
    assert listed.status_code == 200
    body = listed.get_data(as_text=True)
    assert made["token"] not in body and row.token_hash not in body
    assert (listed.json["page"], listed.json["per_page"], listed.json["total"]) == (1, 50, 2)
    mine = {t["id"]: t for t in listed.json["items"]}
    assert all(set(t) == TOKEN_KEYS for t in mine.values())
    assert mine[made["id"]]["name"] == "deploy script"
    assert mine[made["id"]]["last_used_at"].endswith("Z")  # just used, above
    assert count(AuditEvent, AuditEvent.action == "token.created") == 1


def test_a_feed_token_does_not_open_the_api(app, client, api):
    made = make_token(api, "my calendar", kind="feed")
    assert made["kind"] == "feed"
    feed = Api(client, made["token"])
    for method, path in (("get", "/channels"), ("post", "/posts"), ("get", "/tokens")):
        error = assert_error(getattr(feed, method)(path, json={"body": "x"}), 401,
                             "unauthorized")
        assert "calendar feed token" in error["message"]
    assert count(ApiToken, ApiToken.kind == "feed") == 1
    kinds = {t["name"]: t["kind"] for t in api.get("/tokens").json["items"]}
    assert kinds["my calendar"] == "feed"


def test_a_revoked_token_opens_nothing(app, client, api):
    made = make_token(api)
    assert api.delete(f"/tokens/{made['id']}").status_code == 204
    assert_error(Api(client, made["token"]).get("/channels"), 401, "unauthorized")
    assert made["id"] not in [t["id"] for t in api.get("/tokens").json["items"]]
    assert_error(api.delete(f"/tokens/{made['id']}"), 404, "not_found")
    assert count(AuditEvent, AuditEvent.action == "token.revoked") == 1


def test_other_people_s_and_workspaces_tokens_look_like_none(app, client, admin, api,
                                                            api_member, outsider):
    colleague = api_member("second-admin@example.com", "admin")
    theirs = make_token(colleague, "colleague's")
    elsewhere = make_token(outsider, "outsider's")
    # The same person's token for another workspace is not this workspace's either.
    create_user("admin@example.com", PASSWORD, "Elsewhere", "admin")
    other_workspace = [m.workspace_id for m in admin.memberships if m.workspace.name ==
                       "Elsewhere"][0]
    mine_elsewhere = make_token(Api(client, token_for(admin, other_workspace)), "mine there")
    for token in (theirs, elsewhere, mine_elsewhere):
        assert_error(api.delete(f"/tokens/{token['id']}"), 404, "not_found")
        assert Api(client, token["token"]).get("/channels").status_code == 200
    listed = {t["name"] for t in api.get("/tokens").json["items"]}
    assert not listed & {"colleague's", "outsider's", "mine there"}
    # The colleague's own: the test's (unnamed) and the one made above.
    assert {t["name"] for t in colleague.get("/tokens").json["items"]} == {"", "colleague's"}


@pytest.mark.parametrize("role", ["viewer", "editor", "approver"])
def test_tokens_are_an_admin_s_right(app, api, api_member, role):
    made = make_token(api)
    who = api_member(f"{role}@example.com", role)
    before = count(ApiToken)
    for response in (who.get("/tokens"), who.post("/tokens", json={"name": "mine"}),
                     who.delete(f"/tokens/{made['id']}")):
        error = assert_error(response, 403, "forbidden")
        assert role in error["message"] and "admin" in error["message"]
    assert count(ApiToken) == before


@pytest.mark.parametrize("body, field", [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "   "}, "name"), ({"name": None}, "name"),
    ({"name": 7}, "name"), ({"name": "a\u0000b"}, "name"), ({"name": "\ud800"}, "name"),
    ({"name": "x" * 121}, "name"), ({"name": "x" * 100_000}, "name"),
    ({"name": "ok", "kind": "admin"}, "kind"), ({"name": "ok", "kind": None}, "kind"),
    ({"name": "ok", "kind": ["feed"]}, "kind"),
])
def test_bad_input_is_422_naming_the_field_and_makes_nothing(app, api, body, field):
    before = count(ApiToken)
    assert_error(api.post("/tokens", json=body), 422, "validation_error", field)
    assert count(ApiToken) == before


def test_a_body_that_is_not_json_is_400(app, api):
    assert_error(api.post("/tokens", data="name=x", content_type="application/json"), 400)
    assert_error(api.post("/tokens", data="{}", content_type="text/plain"), 400)


def test_ids_that_no_token_can_have_are_404(app, api):
    for token_id in ("0", "2147483648", "%EF%BC%91", "x"):
        assert_error(api.delete(f"/tokens/{token_id}"), 404, "not_found")


def test_the_tokens_list_pages(app, api):
    for n in range(3):
        make_token(api, f"t{n}")
    second = api.get("/tokens?page=2&per_page=2").json
    assert (second["total"], len(second["items"])) == (4, 2)
    assert_error(api.get("/tokens?per_page=201"), 422, "validation_error", "per_page")


def test_the_openapi_schemas_are_what_the_tokens_api_returns(app, client, api):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    made = make_token(api)
    assert set(schemas["NewToken"]["properties"]) == set(made)
    assert set(schemas["Token"]["properties"]) == set(api.get("/tokens").json["items"][0])


# --- the settings page agrees ------------------------------------------------------------


def test_the_settings_page_shows_the_kind_and_makes_feed_tokens(app, client, admin):
    sign_in(client)
    response = submit(client, "/settings/tokens", {"name": "calendar", "kind": "feed"},
                      form_page="/settings")
    assert response.status_code == 200
    assert db.session.scalar(select(ApiToken).where(ApiToken.name == "calendar")).kind == "feed"
    listing = show(client, "/settings")
    assert "calendar feed" in listing
    response = submit(client, "/settings/tokens", {"name": "x", "kind": "root"},
                      form_page="/settings")
    assert response.status_code == 400 and count(ApiToken) == 1


@pytest.mark.parametrize("role", ["viewer", "editor", "approver"])
def test_the_settings_page_keeps_tokens_to_admins(app, client, api, role):
    made = make_token(api)
    create_user(f"{role}@example.com", PASSWORD, "Acme", role)
    sign_in(client, f"{role}@example.com")
    listing = show(client, "/settings")
    assert 'id="tokens"' not in listing and "deploy script" not in listing
    before = count(ApiToken)
    assert submit(client, "/settings/tokens", {"name": "mine"},
                  form_page="/settings").status_code == 403
    response = submit(client, f"/settings/tokens/{made['id']}/revoke", form_page="/settings")
    assert response.status_code == 403 and "admin" in page(response)
    assert count(ApiToken) == before
