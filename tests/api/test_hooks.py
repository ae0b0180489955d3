"""/api/v1/hooks: lifecycle webhooks, admins only, their secrets write-only."""

import pytest
from sqlalchemy import select

from tests.api.helpers import assert_error
from webapp.extensions import db
from webapp.models import AuditEvent, Hook

pytestmark = pytest.mark.postgres

HOOK_KEYS = {"id", "url", "events", "has_secret", "created_at"}
SECRET = "hook-api-secret-5f1"


def test_an_admin_adds_lists_and_removes_a_hook(api):
    created = api.post("/hooks", json={"url": "https://example.com/events", "secret": SECRET,
                                       "events": ["delivery.published", "delivery.failed",
                                                  "delivery.published"]})
    assert created.status_code == 201, created.json
    hook = created.json
    assert set(hook) == HOOK_KEYS
    assert hook["events"] == ["delivery.published", "delivery.failed"]
    assert hook["has_secret"] is True and hook["created_at"].endswith("Z")
    listed = api.get("/hooks")
    assert listed.status_code == 200
    assert listed.json == {"items": [hook], "page": 1, "per_page": 50, "total": 1}
    unsigned = api.post("/hooks", json={"url": "http://example.com/x", "events": ["post.approved"]})
    assert unsigned.status_code == 201 and unsigned.json["has_secret"] is False
    for response in (created, listed, unsigned):
        assert SECRET not in response.get_data(as_text=True)
    # Stored encrypted, and audited without it.
    row = db.session.get(Hook, hook["id"])
    assert row.secret_encrypted and SECRET not in row.secret_encrypted
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "hook")).all()
    assert [a.action for a in audit] == ["hook.created", "hook.created"]
    assert all(SECRET not in str(a.after) for a in audit)

    assert api.delete(f"/hooks/{hook['id']}").status_code == 204
    assert [h["id"] for h in api.get("/hooks").json["items"]] == [unsigned.json["id"]]
    assert_error(api.delete(f"/hooks/{hook['id']}"), 404, "not_found")
    deleted = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "hook.deleted")).one()
    assert deleted.object_id == hook["id"] and SECRET not in str(deleted.before)


@pytest.mark.parametrize("role", ["viewer", "editor", "approver"])
def test_only_admins_touch_hooks(api, api_member, role):
    hook = api.post("/hooks", json={"url": "https://example.com/e",
                                    "events": ["delivery.failed"]}).json
    member = api_member(f"{role}@example.com", role)
    assert_error(member.get("/hooks"), 403, "forbidden")
    assert_error(member.post("/hooks", json={"url": "https://example.com/e",
                                             "events": ["delivery.failed"]}), 403, "forbidden")
    assert_error(member.delete(f"/hooks/{hook['id']}"), 403, "forbidden")
    assert db.session.scalar(select(db.func.count()).select_from(Hook)) == 1


def test_another_workspaces_hook_is_not_found(api, outsider):
    theirs = outsider.post("/hooks", json={"url": "https://example.com/theirs",
                                           "events": ["delivery.published"]}).json
    assert_error(api.delete(f"/hooks/{theirs['id']}"), 404, "not_found")
    assert api.get("/hooks").json["total"] == 0
    assert outsider.get("/hooks").json["total"] == 1


@pytest.mark.parametrize("body, field", [
    ({"events": ["delivery.failed"]}, "url"),
    ({"url": "ftp://example.com/x", "events": ["delivery.failed"]}, "url"),
    ({"url": "https://user:pw@example.com/", "events": ["delivery.failed"]}, "url"),
    ({"url": "https://example.com/" + "a" * 2000, "events": ["delivery.failed"]}, "url"),
    ({"url": 5, "events": ["delivery.failed"]}, "url"),
    ({"url": "https://example.com/x"}, "events"),
    ({"url": "https://example.com/x", "events": []}, "events"),
    ({"url": "https://example.com/x", "events": "delivery.failed"}, "events"),
    ({"url": "https://example.com/x", "events": ["post.published"]}, "events"),
    ({"url": "https://example.com/x", "events": [{"a": 1}]}, "events"),
    ({"url": "https://example.com/x", "events": ["post.approved"], "secret": 12}, "secret"),
    ({"url": "https://example.com/x", "events": ["post.approved"], "secret": "s" * 201},
     "secret"),
    ({"url": "https://example.com/x", "events": ["post.approved"], "secret": "a\u0007b"},
     "secret"),
    ({"url": "https://example.com/x", "events": ["post.approved"], "secret": "a\u0000b"},
     "secret"),
])
def test_bad_input_is_422_naming_the_field_and_saves_nothing(api, body, field):
    assert_error(api.post("/hooks", json=body), 422, "validation_error", field)
    assert api.get("/hooks").json["total"] == 0


def test_an_address_the_outgoing_check_refuses_is_422(app, api):
    app.config["HERALD_ALLOW_PRIVATE_NETWORKS"] = False
    for url in ("http://127.0.0.1:8080/events", "http://10.0.0.1/", "http://[::1]/"):
        error = assert_error(api.post("/hooks", json={"url": url, "events": ["post.approved"]}),
                             422, "validation_error", "url")
        assert "private or loopback" in error["fields"]["url"]
    assert api.get("/hooks").json["total"] == 0


def test_not_json_is_400(api):
    assert_error(api.post("/hooks", data="x", content_type="text/plain"), 400, "bad_request")
    assert_error(api.post("/hooks", json=[1]), 400, "bad_request")


def test_the_documented_hook_is_what_the_api_returns(api, client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    hook = api.post("/hooks", json={"url": "https://example.com/e",
                                    "events": ["conflict.opened"]}).json
    assert set(schemas["Hook"]["properties"]) == set(hook) == HOOK_KEYS
    assert set(schemas["HookIn"]["properties"]) == {"url", "secret", "events"}
