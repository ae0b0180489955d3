"""The permission grid: every route of the app (pages and API, every method), for every role,
signed out too, against the one permission table (webapp/web/permissions.py). A route added
without an entry fails here; so does a view that lets a role do more than the table says.

SQLite only: the grid is a few hundred requests, and the table is read before any view
touches the database, so the backend changes nothing of what it proves."""

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.factories import add_channel, add_delivery, add_notification, make_post, member
from tests.helpers import PASSWORD, TOKEN, Api, page, sign_in, token_for
from webapp.extensions import db
from webapp.models import ROLES, ApiToken, Membership, UserSession
from webapp.services import campaigns, hooks, reviews, team, templates
from webapp.services.accounts import create_user
from webapp.web import permissions
from webapp.web.errors import API_PREFIX

CHECKED_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def routes(app: Flask):
    """(rule, method) for every route and method the app answers, HEAD and OPTIONS aside."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        for method in sorted(rule.methods & CHECKED_METHODS):
            yield rule, method


def is_api(rule) -> bool:
    return rule.rule.startswith(API_PREFIX + "/")


def path_of(rule, ids: dict) -> str:
    """The rule's URL with every parameter filled from `ids`."""
    return PARAMETER.sub(lambda m: str(ids[m.group(1)]), rule.rule)


# Values for parameters whose row does not matter: no import, no invitation link of ours.
HARMLESS = {"event_id": 1, "token": "x" * 43, "filename": "herald.css"}


def workspace_rows(owner, user) -> dict:
    """A row of each kind in the workspace, by the URL parameter that names it."""
    workspace_id = owner.memberships[0].workspace_id
    channel = add_channel(owner)
    post = make_post(owner, [channel.id])
    delivery = add_delivery(post, channel)
    note = add_notification(owner, "Something failed")
    # The member whose role the grid changes and whom it removes: neither the caller nor
    # the owner (it would lock itself out before the grid ends).
    bystander, _ = create_user("bystander@example.com", PASSWORD, "Acme", "viewer")
    membership = db.session.scalar(select(Membership.id).where(
        Membership.user_id == bystander.id))
    hook = hooks.create(workspace_id, owner.id, {"url": "http://127.0.0.1:9/hook",
                                                 "events": ["delivery.failed"]})
    invitation, _ = team.invite(workspace_id, owner.id, "invited@example.com", "viewer")
    campaign = campaigns.create(workspace_id, owner.id, {"name": "Spring"})
    template = templates.create(workspace_id, owner.id, {"name": "Weekly tip",
                                                         "body": "Tip of the week"})
    # A client review link (only a waiting post gets one; this post is made to wait).
    post.status = "pending_approval"
    db.session.commit()
    link, _ = reviews.create(post, owner.id, "Client")
    post.status = "scheduled"
    # Revoking a token must not revoke the one the grid calls the API with.
    spare, _ = ApiToken.issue(user, owner.memberships[0].workspace)
    db.session.add(spare)
    db.session.commit()
    return {**HARMLESS, "post_id": post.id, "delivery_id": delivery.id,
            "channel_id": channel.id, "notification_id": note.id,
            "membership_id": membership, "hook_id": hook.id,
            "invitation_id": invitation.id, "token_id": spare.id, "link_id": link.id,
            "campaign_id": campaign.id, "template_id": template.id,
            "workspace_id": workspace_id}


class Browser:
    """A test client signed in as `user`, signing in again when a route signed it out
    (signing out, signing out everywhere)."""

    def __init__(self, app, user):
        self.client, self.user = app.test_client(), user
        self.token = None

    def ensure_signed_in(self):
        signed_in = db.session.scalar(select(func.count()).select_from(UserSession).where(
            UserSession.user_id == self.user.id))
        if self.token is None or not signed_in:
            assert sign_in(self.client, self.user.email).status_code == 302
            self.token = TOKEN.search(page(self.client.get("/settings"))).group(1)

    def call(self, method: str, path: str, data: dict):
        self.ensure_signed_in()
        if method == "GET":
            return self.client.get(path)
        return self.client.open(path, method=method, data={**data, "csrf_token": self.token})


def test_every_route_is_in_the_table_and_every_entry_is_a_route(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(endpoints - permissions.ENDPOINTS.keys()) == [], "routes without an entry"
    assert sorted(permissions.ENDPOINTS.keys() - endpoints) == [], "entries without a route"
    allowed_values = {permissions.OPEN, permissions.SIGNED_IN, *ROLES}
    assert {v for v in permissions.ENDPOINTS.values()} <= allowed_values


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_do_what_the_table_says_and_nothing_more(app, role):
    owner = member("admin")
    user = member(role)
    ids = workspace_rows(owner, user)
    workspace_id = ids["workspace_id"]
    browser = Browser(app, user)
    api = Api(app.test_client(), token_for(user, workspace_id))
    refused, allowed = [], []
    for rule, method in routes(app):
        rule_needs = permissions.needed(rule.endpoint)
        path = path_of(rule, ids)
        if is_api(rule):
            response = getattr(api, method.lower())(path.removeprefix(API_PREFIX), json={})
        else:
            # The one form whose value decides more than the role: the user's own workspace.
            response = browser.call(method, path, {"workspace_id": workspace_id})
        may = rule_needs in (permissions.OPEN, permissions.SIGNED_IN) or (
            ROLES.index(role) >= ROLES.index(rule_needs))
        response.close()  # a static file's answer holds the file open
        where = (method, rule.rule, rule_needs, response.status_code)
        assert response.status_code != 500, where  # (503: /healthz with no worker)
        if may:
            assert response.status_code != 403, where
            allowed.append(rule.endpoint)
        else:
            assert response.status_code == 403, where
            message = (response.json["error"]["message"] if is_api(rule)
                       else page(response))
            assert f"role ({role}) cannot do this; it needs {rule_needs}" in message, where
            if is_api(rule):
                assert response.json["error"]["code"] == "forbidden"
            refused.append(rule.endpoint)
    # Each role is refused something but the admin; each reads the workspace.
    assert bool(refused) == (role != "admin")
    assert {"dashboard.dashboard", "api.list_posts"} <= set(allowed)


def test_signed_out_every_page_goes_to_sign_in_and_every_api_call_is_401(app):
    owner = member("admin")
    ids = workspace_rows(owner, owner)
    client = app.test_client()
    token = TOKEN.search(page(client.get("/login"))).group(1)
    for rule, method in routes(app):
        if permissions.needed(rule.endpoint) == permissions.OPEN:
            continue
        path = path_of(rule, ids)
        response = client.get(path) if method == "GET" else client.open(
            path, method=method, data={"csrf_token": token})
        response.close()
        where = (method, rule.rule, response.status_code)
        if is_api(rule):
            assert response.status_code == 401, where
            assert response.json["error"]["code"] == "unauthorized", where
        else:
            assert response.status_code == 302, where
            assert response.headers["Location"].startswith("/login"), where


def test_open_routes_answer_signed_out(app):
    """Open means open: none of them sends a stranger away to sign in or refuses them."""
    member("admin")  # not a fresh install: /login shows the form, /signup sends there
    client = app.test_client()
    for rule, method in routes(app):
        if permissions.needed(rule.endpoint) != permissions.OPEN or method != "GET":
            continue
        response = client.get(path_of(rule, HARMLESS))
        response.close()
        where = (rule.rule, response.status_code, response.headers.get("Location"))
        if rule.endpoint == "api.calendar_feed":
            # Its ?token= is the permission: without a feed token, the API's 401.
            assert response.status_code == 401, where
            continue
        assert response.status_code not in (401, 403), where
        assert "next=" not in response.headers.get("Location", ""), where


def test_a_route_missing_from_the_table_is_refused_to_everyone(app):
    app.add_url_rule("/unlisted", "unlisted", lambda: "granted")
    app.add_url_rule(f"{API_PREFIX}/unlisted", "api.unlisted", lambda: "granted")
    admin = member("admin")
    client = app.test_client()
    assert sign_in(client, admin.email).status_code == 302
    response = client.get("/unlisted")
    assert response.status_code == 403 and "granted" not in page(response)
    api = Api(app.test_client(), token_for(admin, admin.memberships[0].workspace_id))
    response = api.get("/unlisted")
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


@pytest.mark.parametrize("endpoint, least", [
    # What the roles mean (docs/teams.md): viewers read everything of the workspace...
    ("queue.queue", "viewer"), ("calendar.index", "viewer"), ("posts.post_detail", "viewer"),
    ("channels.channels", "viewer"), ("notifications.notifications", "viewer"),
    ("api.list_channels", "viewer"),
    # ...and their own settings are theirs;
    ("settings.settings", "viewer"), ("settings.change_password", permissions.SIGNED_IN),
    ("settings.sign_out_everywhere", permissions.SIGNED_IN),
    # editors write posts, deliveries, imports, calendar moves, notification read marks;
    ("posts.post_new", "editor"), ("queue.delivery_retry", "editor"),
    ("imports.post_import", "editor"), ("calendar.move", "editor"),
    ("notifications.notifications_read", "editor"), ("api.create_post", "editor"),
    # approvers approve and read the audit log;
    ("approvals.approve", "approver"), ("audit.audit_log", "approver"),
    ("api.list_audit", "approver"),
    # admins manage members, channels, workspace settings, tokens and webhooks.
    ("team.invite", "admin"), ("channels.channel_check", "admin"),
    ("channels.channel_edit", "admin"), ("api.check_channel", "admin"),
    ("approvals.setting", "admin"), ("settings.create_token", "admin"),
    ("settings.hook_list", "admin"), ("api.create_token", "admin"),
    # Open to strangers.
    ("auth.login", permissions.OPEN), ("team.invitation", permissions.OPEN),
    ("health.healthz", permissions.OPEN), ("api.openapi", permissions.OPEN),
])
def test_the_table_says_what_the_roles_mean(endpoint, least):
    assert permissions.needed(endpoint) == least
