"""/api/v1/members: the team as API.md gives it — admins only, another workspace's member
is 404, bad input 422 with fields, the last admin 409; an invitation's link, once."""

import pytest
from sqlalchemy import select

from tests.api.helpers import assert_error, assert_utc_times
from tests.helpers import PASSWORD, count, submit
from webapp.extensions import db
from webapp.models import ApiToken, Invitation, Membership, User

pytestmark = pytest.mark.postgres

MEMBER_KEYS = {"id", "user_id", "email", "role", "joined_at"}
INVITATION_KEYS = {"id", "email", "role", "expires_at", "url"}


def own_id(api) -> int:
    [me] = [m for m in api.get("/members").json["items"] if m["email"] == "admin@example.com"]
    return me["id"]


def test_list_members_pages_like_every_list(api, api_member):
    api_member("ed@example.com", "editor")
    listed = api.get("/members?per_page=1")
    assert listed.status_code == 200
    assert listed.json["total"] == 2 and listed.json["per_page"] == 1
    [first] = listed.json["items"]
    assert set(first) == MEMBER_KEYS and first["email"] == "admin@example.com"
    assert first["role"] == "admin" and assert_utc_times(listed.json) == 1
    second = api.get("/members?page=2&per_page=1").json["items"]
    assert [m["email"] for m in second] == ["ed@example.com"]
    assert_error(api.get("/members?per_page=0"), 422, "validation_error", "per_page")


def test_invite_then_accept_then_the_member_is_listed(app, api, client):
    created = api.post("/members", json={"email": "  New@Example.com", "role": "approver"})
    assert created.status_code == 201, created.json
    assert set(created.json) == INVITATION_KEYS and assert_utc_times(created.json) == 1
    assert created.json["email"] == "new@example.com"
    path = "/" + created.json["url"].split("/", 3)[3]
    assert path.startswith("/invite/")
    browser = app.test_client()
    joined = submit(browser, path, {"password": PASSWORD, "confirm": PASSWORD})
    assert joined.status_code == 303
    emails = {m["email"]: m["role"] for m in api.get("/members").json["items"]}
    assert emails == {"admin@example.com": "admin", "new@example.com": "approver"}
    # Once only.
    assert app.test_client().get(path).status_code == 404


def test_change_a_role_and_remove_a_member(api, api_member):
    editor = api_member("ed@example.com", "editor")
    member_id = next(m["id"] for m in api.get("/members").json["items"]
                     if m["email"] == "ed@example.com")
    changed = api.patch(f"/members/{member_id}", json={"role": "viewer"})
    assert changed.status_code == 200 and changed.json["role"] == "viewer"
    assert set(changed.json) == MEMBER_KEYS
    assert editor.get("/channels").status_code == 200
    removed = api.delete(f"/members/{member_id}")
    assert removed.status_code == 204 and removed.get_data() == b""
    # Their token for this workspace opens nothing any more, and is gone.
    assert_error(editor.get("/channels"), 401)
    assert count(ApiToken, ApiToken.user_id == db.session.scalar(
        select(User.id).where(User.email == "ed@example.com"))) == 0
    assert_error(api.delete(f"/members/{member_id}"), 404, "not_found")


def test_the_last_admin_is_409(api, api_member):
    me = own_id(api)
    assert_error(api.patch(f"/members/{me}", json={"role": "editor"}), 409, "conflict")
    assert_error(api.delete(f"/members/{me}"), 409, "conflict")
    assert api.get("/members").json["items"][0]["role"] == "admin"
    # Once another admin exists, the first may step down.
    api_member("second@example.com", "admin")
    assert api.patch(f"/members/{me}", json={"role": "editor"}).status_code == 200


@pytest.mark.parametrize("role", ["viewer", "editor", "approver"])
def test_non_admins_get_403_on_every_call(api, api_member, role):
    me = own_id(api)
    other = api_member(f"{role}@example.com", role)
    for response in [other.get("/members"),
                     other.post("/members", json={"email": "x@example.com", "role": "admin"}),
                     other.patch(f"/members/{me}", json={"role": "viewer"}),
                     other.delete(f"/members/{me}")]:
        assert_error(response, 403, "forbidden")
    assert count(Invitation) == 0
    assert db.session.get(Membership, me).role == "admin"


def test_another_workspaces_member_is_404(api, outsider):
    theirs = outsider.get("/members").json["items"][0]["id"]
    assert_error(api.patch(f"/members/{theirs}", json={"role": "viewer"}), 404, "not_found")
    assert_error(api.patch(f"/members/{theirs}", json={"role": "nope"}), 404, "not_found")
    assert_error(api.delete(f"/members/{theirs}"), 404, "not_found")
    assert db.session.get(Membership, theirs) is not None


@pytest.mark.parametrize("body, field", [
    ({"email": "not-an-address", "role": "editor"}, "email"),
    ({"email": "a\u0000b@example.com", "role": "editor"}, "email"),
    ({"email": "\ud800@example.com", "role": "editor"}, "email"),
    ({"email": "a@" + "b" * 100_000 + ".example", "role": "editor"}, "email"),
    ({"email": 12, "role": "editor"}, "email"),
    ({"role": "editor"}, "email"),
    ({"email": "ok@example.com", "role": "owner"}, "role"),
    ({"email": "ok@example.com", "role": ["admin"]}, "role"),
    ({"email": "ok@example.com"}, "role"),
    ({"email": "admin@example.com", "role": "viewer"}, "email"),  # a member already
])
def test_bad_invitations_are_422_and_change_nothing(api, body, field):
    assert_error(api.post("/members", json=body), 422, "validation_error", field)
    assert count(Invitation) == 0


def test_bad_role_changes_are_422_and_change_nothing(api, api_member):
    api_member("ed@example.com", "editor")
    ed = next(m["id"] for m in api.get("/members").json["items"]
              if m["email"] == "ed@example.com")
    for body in [{"role": "owner"}, {"role": None}, {}, {"role": "admin\u0000"},
                 {"role": "x" * 100_000}]:
        assert_error(api.patch(f"/members/{ed}", json=body), 422, "validation_error", "role")
    assert_error(api.patch(f"/members/{ed}", data="{", content_type="application/json"),
                 400, "bad_request")
    assert db.session.get(Membership, ed).role == "editor"
