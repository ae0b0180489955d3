"""The JSON API's bearer tokens, roles and workspaces, against API.md: every route wants a
valid token, a role decides who may change what, and another workspace's resources look
the same as ones that do not exist."""

import json
import re

import pytest
from sqlalchemy import select

from tests.api.helpers import assert_error, later, make_channel, make_post
from webapp.extensions import db
from webapp.models import Campaign

pytestmark = pytest.mark.postgres


# --- tokens ------------------------------------------------------------------------------


def api_routes(app):
    """(method, path with ids filled in) for every route of the api blueprint."""
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


BAD_AUTHORIZATION = [None, "", "Bearer", "Bearer ", "Bearer not-a-token",
                     "Basic dXNlcjpwYXNz", "Token hrld_x", "bearer  "]


def test_every_route_wants_a_valid_bearer_token(app, client, admin):
    routes = list(api_routes(app))
    assert len(routes) >= 17
    for header in BAD_AUTHORIZATION:
        headers = {"Authorization": header} if header is not None else {}
        for method, path in routes:
            response = client.open(path, method=method, headers=headers, json={})
            error = assert_error(response, 401, "unauthorized")
            assert "token" in error["message"]
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_stops_working_when_its_membership_ends(app, client, api):
    from webapp.models import Membership

    assert api.get("/channels").status_code == 200
    db.session.execute(Membership.__table__.delete())
    db.session.commit()
    assert_error(api.get("/channels"), 401, "unauthorized")


def test_tokens_are_scoped_to_their_workspace(app, client, api, outsider):
    mine = make_channel(api, "Mine")
    theirs = make_channel(outsider, "Theirs")
    assert [c["id"] for c in api.get("/channels").json["items"]] == [mine["id"]]
    assert [c["id"] for c in outsider.get("/channels").json["items"]] == [theirs["id"]]


# --- roles -------------------------------------------------------------------------------

WRITES = [  # method, path, body, the least role that may do it
    ("post", "/channels", {"name": "N", "platform": "webhook",
                           "config": {"url": "http://127.0.0.1:9/x"}}, "admin"),
    ("patch", "/channels/{c}", {"name": "Renamed"}, "admin"),
    ("post", "/channels/{c}/check", None, "admin"),
    ("delete", "/channels/{c}", None, "admin"),
    ("post", "/posts", {"body": "draft"}, "editor"),
    ("patch", "/posts/{p}", {"title": "Changed"}, "editor"),
    ("post", "/posts/{p}/pause", None, "editor"),
    ("post", "/posts/{p}/resume", None, "editor"),
    ("post", "/posts/{p}/publish-now", None, "editor"),
    ("delete", "/posts/{p}", None, "editor"),
    ("post", "/deliveries/{d}/cancel", None, "editor"),
    ("post", "/deliveries/{d}/retry", None, "editor"),
]
ROLES = ["viewer", "editor", "approver", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_roles_decide_who_may_change_what(app, client, api, api_member, role):
    channel = make_channel(api)
    post = make_post(api, [channel["id"]])
    ids = {"c": channel["id"], "p": post["id"], "d": post["deliveries"][0]["id"]}
    who = api_member(f"{role}@example.com", role)
    snapshot = [api.get(p).json for p in ("/channels", "/posts", "/deliveries")]

    for method, path, body, needed in WRITES:
        kwargs = {"json": body} if body is not None else {}
        response = getattr(who, method)(path.format(**ids), **kwargs)
        if ROLES.index(role) < ROLES.index(needed):
            error = assert_error(response, 403, "forbidden")
            assert role in error["message"] and needed in error["message"]
        else:
            assert response.status_code < 500 and response.status_code != 403, \
                (method, path, response.json)
    if role == "viewer":  # refused writes changed nothing
        assert [api.get(p).json for p in ("/channels", "/posts", "/deliveries")] == snapshot
    # Everyone may read.
    for path in ("/channels", "/posts", "/deliveries", "/schedule/upcoming", "/queue/stats",
                 f"/posts/{post['id']}", f"/posts/{post['id']}/occurrences"):
        assert who.get(path).status_code == 200, path


# --- 404: unknown ids and other workspaces' resources ---------------------------------------


def test_unknown_ids_and_other_workspaces_look_the_same(app, client, api, outsider):
    theirs_channel = make_channel(outsider, "Theirs")
    theirs_post = make_post(outsider, [theirs_channel["id"]])
    theirs_delivery = theirs_post["deliveries"][0]["id"]
    ids = {"c": theirs_channel["id"], "p": theirs_post["id"], "d": theirs_delivery}
    paths = [("get", "/channels/{c}"), ("patch", "/channels/{c}"), ("delete", "/channels/{c}"),
             ("post", "/channels/{c}/check"), ("get", "/posts/{p}"), ("patch", "/posts/{p}"),
             ("delete", "/posts/{p}"), ("post", "/posts/{p}/pause"),
             ("post", "/posts/{p}/resume"), ("post", "/posts/{p}/publish-now"),
             ("get", "/posts/{p}/occurrences"), ("post", "/deliveries/{d}/retry"),
             ("post", "/deliveries/{d}/cancel")]
    for method, path in paths:
        answers = set()
        for value in ("existing", 987654, 2**40, 10**25):
            filled = path.format(**{k: (v if value == "existing" else value)
                                    for k, v in ids.items()})
            error = assert_error(getattr(api, method)(filled, json={"title": "x"}), 404,
                                 "not_found")
            answers.add((error["code"], re.sub(r"\d+", "N", error["message"]),
                         json.dumps(error["fields"])))
        # Same words, only the number differs: nothing tells the two apart.
        assert len(answers) == 1, (method, path, answers)
    # Their things are untouched and invisible in our lists and filters.
    assert outsider.get(f"/posts/{theirs_post['id']}").json["status"] == "scheduled"
    assert api.get(f"/deliveries?post_id={theirs_post['id']}").json["total"] == 0
    assert api.get(f"/deliveries?channel_id={theirs_channel['id']}").json["total"] == 0
    assert api.get(f"/posts?channel_id={theirs_channel['id']}").json["total"] == 0
    # Naming their channel in a post is the same 422 as naming one that does not exist.
    for channel_id in (theirs_channel["id"], 987654):
        error = assert_error(api.post("/posts", json={"body": "x", "channel_ids": [channel_id],
                                                      "schedule": {"at": later(),
                                                                   "timezone": "UTC"}}),
                             422, "validation_error", "channel_ids")
        assert error["fields"]["channel_ids"] == f"unknown channel {channel_id}"


def test_campaigns_of_other_workspaces_are_unknown(app, api, outsider):
    from webapp.models import Workspace

    theirs = db.session.scalar(select(Workspace).where(Workspace.name == "Elsewhere"))
    campaign = Campaign(workspace_id=theirs.id, name="Their campaign")
    db.session.add(campaign)
    db.session.commit()
    error = assert_error(api.post("/posts", json={"body": "x", "campaign_id": campaign.id}),
                         422, "validation_error", "campaign_id")
    assert error["fields"]["campaign_id"] == f"unknown campaign {campaign.id}"
