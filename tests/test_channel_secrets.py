"""Channel URLs are secrets: below admin only scheme, host and port are shown, in pages and
API alike; admins see the rest but never a userinfo password. And a refused private-network
URL says how to allow it, keeping what was typed."""

import html
import re
from collections import Counter

import pytest

from tests.factories import make_post, member, workspace_id
from tests.helpers import (
    PASSWORD,
    Api,
    count,
    error_for,
    input_value,
    page,
    show,
    sign_in,
    submit,
    token_for,
)
from webapp.extensions import db
from webapp.models import Channel, Delivery

SECRETS = ("s3cr3t-path", "q-token")


@pytest.fixture
def secret_channel(api, webhook):
    """A webhook channel whose URL carries a secret path and a secret query (user:pass@
    is refused when saving; see test_a_password_saved_before_the_check_is_never_shown)."""
    url = f"{webhook.url}/s3cr3t-path?token=q-token"
    response = api.post("/channels", json={"name": "Secret hook", "platform": "webhook",
                                           "config": {"url": url}})
    assert response.status_code == 201, response.json
    return db.session.get(Channel, response.json["id"])


def hostport(webhook) -> str:
    return webhook.url.split("://", 1)[1]


def assert_no_secret(text: str, where: str) -> None:
    text = text.replace("<wbr>", "")  # a URL may wrap after its slashes: read it whole
    for secret in SECRETS:
        assert secret not in text, (where, secret)


def test_the_api_masks_the_url_below_admin_only(client, api, secret_channel, webhook):
    plain = api.post("/channels", json={"name": "Plain", "platform": "webhook",
                                        "config": {"url": webhook.url}}).json
    whole = f"{webhook.url}/s3cr3t-path?token=q-token"
    for role, expected in [("viewer", f"http://{hostport(webhook)}/•••"),
                           ("editor", f"http://{hostport(webhook)}/•••"),
                           ("approver", f"http://{hostport(webhook)}/•••"), ("admin", whole)]:
        if role == "admin":
            caller = api
        else:
            user = member(role)
            caller = Api(client, token_for(user, workspace_id(user)))
        listed = caller.get("/channels")
        assert listed.status_code == 200
        shown = {c["id"]: c["config"] for c in listed.json["items"]}
        assert shown[secret_channel.id] == {"url": expected, "secret_set": False}, role
        assert shown[plain["id"]]["url"] == webhook.url  # nothing to hide: shown as it is
        one = caller.get(f"/channels/{secret_channel.id}")
        assert one.json["config"]["url"] == expected, role
        if role != "admin":
            assert_no_secret(listed.get_data(as_text=True) + one.get_data(as_text=True), role)


def test_a_password_saved_before_the_check_is_never_shown(client, auth, api, admin, secret_channel,
                                                         webhook):
    """The URL check refuses user:pass@ now; a row saved before it keeps its password out
    of every answer, admins' included."""
    secret_channel.config = {"url": f"http://hook-user:pa55word@{hostport(webhook)}/x"}
    db.session.commit()
    shown = f"http://hook-user:•••@{hostport(webhook)}/x"
    assert api.get(f"/channels/{secret_channel.id}").json["config"]["url"] == shown
    assert auth.login().status_code == 302
    assert shown in html.unescape(show(client, "/channels")).replace("<wbr>", "")
    edit = show(client, f"/channels/{secret_channel.id}/edit")
    assert input_value(edit, "url") == shown and "pa55word" not in edit
    viewer = member("viewer")
    listed = Api(client, token_for(viewer, workspace_id(viewer))).get("/channels")
    assert listed.json["items"][0]["config"]["url"] == f"http://{hostport(webhook)}/•••"


def test_the_channel_pages_mask_the_url_below_admin_only(app, admin, secret_channel, webhook):
    whole = f"{webhook.url}/s3cr3t-path?token=q-token"
    for role in ("viewer", "editor", "admin"):
        client = app.test_client()
        email = "admin@example.com" if role == "admin" else member(role).email
        assert sign_in(client, email, PASSWORD).status_code == 302
        # Read as text: a URL may wrap after its slashes (<wbr>).
        body = html.unescape(show(client, "/channels")).replace("<wbr>", "")
        if role == "admin":
            assert whole in body
            edit = show(client, f"/channels/{secret_channel.id}/edit")
            assert input_value(edit, "url") == whole
        else:
            assert f"http://{hostport(webhook)}/•••" in body
            assert_no_secret(body, role)


LINK = re.compile(r'(?:href|hx-get)="(/[^"#]*)"')


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_no_page_or_api_answer_below_admin_holds_the_url(app, client, auth, admin, secret_channel,
                                                         role):
    """Every GET route (ids of real rows filled in) and every link the pages show, as a
    viewer and as an editor: the calendar panel, queue, post page and (for the editor) the
    composer included. The URL's secret parts appear in none of them."""
    post = make_post(admin, [secret_channel.id])
    delivery = db.session.query(Delivery).filter_by(post_id=post.id).first()
    ids = {"channel_id": secret_channel.id, "post_id": post.id, "delivery_id": delivery.id}
    user = member(role)
    api = Api(client, token_for(user, workspace_id(user)))
    assert auth.login(user.email, PASSWORD).status_code == 302
    todo = [rule.build({k: ids[k] for k in rule.arguments}, append_unknown=False)[1]
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods and rule.endpoint != "static"
            and not set(rule.arguments) - set(ids)]
    # Each page with at most three of its queries: the calendar's and the queue's links to
    # the next month or page never end, and a fourth month says nothing new.
    seen, opened, variants = set(), set(), Counter()
    while todo and len(seen) < 400:
        path = html.unescape(todo.pop())
        if (path in seen or path.startswith(("/static/", "/logout"))
                or variants[path.split("?")[0]] >= 3):
            continue
        seen.add(path)
        variants[path.split("?")[0]] += 1
        response = client.get(path, headers=api.headers if path.startswith("/api/") else {})
        assert response.status_code != 500, path
        body = response.get_data(as_text=True)
        assert_no_secret(body, path)
        if response.status_code == 200:
            opened.add(path.split("?")[0])
            todo.extend(LINK.findall(body))
    assert any(p.startswith("/calendar/item") for p in opened), sorted(opened)
    assert {"/channels", "/queue", f"/posts/{post.id}", "/api/v1/channels"} <= opened
    if role == "editor":
        assert "/posts/new" in opened and f"/posts/{post.id}/edit" in opened


# A refused private-network URL ---------------------------------------------------------------

@pytest.fixture
def strict(app):
    """The app as it runs by default: private networks refused (tests allow them)."""
    app.config["HERALD_ALLOW_PRIVATE_NETWORKS"] = False
    return app


HINT = "HERALD_ALLOW_PRIVATE_NETWORKS=1"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://localhost/hook",
                                 "http://10.1.2.3/hook", "http://169.254.169.254/latest",
                                 "http://[::1]/hook"])
def test_a_private_address_says_how_to_allow_it_and_keeps_the_input(strict, client, auth, admin,
                                                                    api, url):
    assert auth.login().status_code == 302
    response = submit(client, "/channels", {"name": "Local", "platform": "webhook",
                                            "color": "#3b82f6", "url": url,
                                            "secret": "typed-secret"})
    assert response.status_code == 422
    body = page(response)
    assert "restart the server with " + HINT in error_for(body, "url")
    assert input_value(body, "url") == url
    assert input_value(body, "secret") == "typed-secret"
    assert input_value(body, "name") == "Local"

    answer = api.post("/channels", json={"name": "Local", "platform": "webhook",
                                         "config": {"url": url, "secret": "typed-secret"}})
    assert answer.status_code == 422
    assert "restart the server with " + HINT in answer.json["error"]["fields"]["config.url"]
    assert "typed-secret" not in answer.get_data(as_text=True)
    assert count(Channel) == 0


@pytest.mark.parametrize("url", ["http://exa mple.com/hook", "ftp://example.com/hook",
                                 "not a url"])
def test_a_malformed_url_does_not_mention_the_private_network_setting(strict, client, auth, admin,
                                                                       url):
    assert auth.login().status_code == 302
    response = submit(client, "/channels", {"name": "Bad", "platform": "webhook",
                                            "color": "#3b82f6", "url": url,
                                            "secret": "typed-secret"})
    assert response.status_code == 422
    body = page(response)
    assert error_for(body, "url") and HINT not in body
    assert input_value(body, "secret") == "typed-secret"
    assert count(Channel) == 0


def test_the_mastodon_token_is_kept_too(strict, client, auth, admin):
    assert auth.login().status_code == 302
    response = submit(client, "/channels", {"name": "Masto", "platform": "mastodon",
                                            "color": "#3b82f6",
                                            "instance_url": "http://192.168.1.20",
                                            "access_token": "typed-token"})
    assert response.status_code == 422
    body = page(response)
    assert HINT in error_for(body, "instance_url")
    assert input_value(body, "access_token") == "typed-token"
    assert re.search(r'name="access_token"[^>]*type="password"|type="password"[^>]*'
                     r'name="access_token"', body)
