"""The outgoing-request guard, through real HTTP to local servers: one parse of each URL,
refusal of every non-global address when private networks are not allowed, and requests
that go to the address that was checked (so a name that changes its answer between the
check and the connection cannot reach loopback).

Tests normally run with HERALD_ALLOW_PRIVATE_NETWORKS on (the stand-ins listen on
127.0.0.1); here it is turned off where the guard is under test. HERALD_RESOLVER is the
app's own seam for name resolution: tests point it at a function with chosen answers."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests import helpers
from tests.helpers import Api, error_for, input_value, page, soon, submit, token_for
from webapp import create_app
from webapp.extensions import db
from webapp.models import Channel, Delivery
from webapp.publishers import http
from webapp.services.accounts import create_user


def schedule(api, channel_ids) -> list[int]:
    response = api.post("/posts", json={"title": "T", "body": "Hello", "channel_ids": channel_ids,
                                        "schedule": {"at": soon(1.0), "timezone": "UTC"}})
    assert response.status_code == 201, response.json
    return [d["id"] for d in response.json["deliveries"]]


def new_channel(api, platform, url, **config):
    key = "url" if platform == "webhook" else "instance_url"
    if platform == "mastodon":
        config.setdefault("access_token", "good-token")
    return api.post("/channels", json={"name": "C", "platform": platform,
                                       "config": {key: url, **config}})


class Resolver:
    """Answers name look-ups from a table (a list of answers per name is used in turn, the
    last one repeating) and records every question."""

    def __init__(self, answers: dict):
        self.answers = {name: list(a) if isinstance(a[0], list) else [a]
                        for name, a in answers.items()}
        self.asked: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, host: str, port: int) -> list[str]:
        with self.lock:
            self.asked.append(host)
            turns = self.answers[host]
            return turns.pop(0) if len(turns) > 1 else turns[0]


@pytest.fixture
def strict(app):
    """A second app on the same database and Redis with HERALD_ALLOW_PRIVATE_NETWORKS off
    (the production default), and an API client for its admin."""
    strict_app = create_app({**helpers.app_config(app.config["SQLALCHEMY_DATABASE_URI"],
                                                  app.config["REDIS_URL"]),
                             "HERALD_ALLOW_PRIVATE_NETWORKS": False})
    with strict_app.app_context():
        user, workspace = create_user("strict@example.com", "correct horse", "Strict")
        yield strict_app, Api(strict_app.test_client(), token_for(user, workspace.id))
        db.session.remove()
        db.engine.dispose()


def stored_channel(workspace_api, platform, config, secrets=None):
    """A channel row as an older version may have saved it (no validation on the way)."""
    from webapp.crypto import encrypt

    made = new_channel(workspace_api, platform, "https://93.184.215.14/")
    assert made.status_code == 201, made.json
    row = db.session.get(Channel, made.json["id"])
    row.config = config
    row.secrets_encrypted = encrypt(secrets or {})
    db.session.commit()
    return made.json["id"]


# --- the bypass of finding 7 ------------------------------------------------------------


@pytest.mark.parametrize("platform", ["webhook", "mastodon"])
def test_the_backslash_userinfo_bypass_is_refused_and_reaches_nothing(strict, webhook,
                                                                      platform):
    _, api = strict
    url = f"http://127.0.0.1:{webhook.server.server_port}\\@93.184.215.14/x"
    response = new_channel(api, platform, url)
    assert response.status_code == 422, response.json
    field = "config.url" if platform == "webhook" else "config.instance_url"
    assert field in response.json["error"]["fields"]
    assert api.get("/channels").json["total"] == 0
    assert webhook.received == []


def test_a_stored_bypass_url_is_refused_when_publishing_and_checking(app, api, webhook,
                                                                     mastodon, runner):
    """Rows saved before the guard was fixed: the publish and the credential check (which
    sends the bearer token) refuse them for good, and nothing reaches the local servers."""
    hook = stored_channel(api, "webhook", {
        "url": f"http://127.0.0.1:{webhook.server.server_port}\\@93.184.215.14/x"})
    toot = stored_channel(api, "mastodon", {
        "instance_url": f"http://127.0.0.1:{mastodon.server.server_port}\\@93.184.215.14/"},
        {"access_token": "good-token"})
    app.config["HERALD_ALLOW_PRIVATE_NETWORKS"] = False
    check = api.post(f"/channels/{toot}/check")
    assert check.status_code == 200 and check.json["ok"] is False
    rows = runner.until_settled(schedule(api, [hook, toot]))
    assert [(r.status, r.attempts) for r in rows] == [("failed", 1), ("failed", 1)]
    assert all("backslash" in r.last_error for r in rows), [r.last_error for r in rows]
    assert webhook.received == [] and mastodon.received == []


# --- non-global addresses, however they are written -------------------------------------

NON_GLOBAL = [
    "[::7f00:1]", "[64:ff9b::7f00:1]", "[64:ff9b::a00:1]", "[64:ff9b:1::5db8:d70e]",
    "192.0.0.8", "192.0.0.1", "0.0.0.0", "[::]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
    "2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "127.1", "224.0.0.1", "[ff02::1]",
    "[fec0::1]", "[2002:7f00:1::]", "[2002:c0a8:101::1]", "240.0.0.1", "255.255.255.255",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]", "100.64.0.1", "[fe80::1]",
]


@pytest.mark.parametrize("host", NON_GLOBAL)
def test_non_global_addresses_are_refused_at_save(strict, host):
    _, api = strict
    for platform, field in (("webhook", "config.url"), ("mastodon", "config.instance_url")):
        response = new_channel(api, platform, f"http://{host}:8080/hook")
        assert response.status_code == 422, (host, response.json)
        message = response.json["error"]["fields"][field]
        assert "restart" in message and "HERALD_ALLOW_PRIVATE_NETWORKS=1" in message, message
    assert api.get("/channels").json["total"] == 0


@pytest.mark.parametrize("host", ["93.184.215.14", "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]",
                                  "[64:ff9b::5db8:d70e]"])
def test_global_addresses_pass(strict, host):
    _, api = strict
    response = new_channel(api, "webhook", f"https://{host}/hook")
    assert response.status_code == 201, response.json


# --- malformed URLs: 422 naming the field, nothing changed -------------------------------

MALFORMED = [
    "http://127.0.0.1:99999/", "http://h:abc/", "http://[::1/", "http://h:0/", "http://h:/",
    "http://h:+80/", "http://[::1]x/", "http://::1]/", "http://h]/", "ftp://h/", "h/x", "//h/x",
    "http:///x", "http://h/a b", " http://h/", "http://h/\t", "http://h/\x00", "http://h/\n",
    "http://h/\x7f", "http://h/\ud800", "http://h\\x/", "http://u:p@h/", "http://@h/",
    "http://b\u00fccher.example/", "http://h\u3002example/", "javascript:alert(1)", "",
    "http://h.;x/", "http://[v1.x]/", "http://[::1%25eth0]/", "http://%31%32%37.0.0.1/",
    "http://h%2fx/", "http://h:80:80/",
]


@pytest.mark.postgres
@pytest.mark.parametrize("platform", ["webhook", "mastodon"])
def test_malformed_urls_are_refused_on_create_and_change(api, webhook, mastodon, platform):
    field = "config.url" if platform == "webhook" else "config.instance_url"
    key = field.removeprefix("config.")
    good = (webhook.url if platform == "webhook" else mastodon.url) + "/"
    made = new_channel(api, platform, good)
    assert made.status_code == 201, made.json
    for url in MALFORMED:
        created = new_channel(api, platform, url)
        assert created.status_code == 422, (url, created.json)
        assert created.json["error"]["fields"][field], url
        patched = api.patch(f"/channels/{made.json['id']}", json={"config": {key: url}})
        assert patched.status_code == 422, (url, patched.json)
        assert patched.json["error"]["fields"][field], url
    listing = api.get("/channels")
    assert listing.status_code == 200 and listing.json["total"] == 1
    assert listing.json["items"][0]["config"][key] == good


@pytest.mark.postgres
def test_malformed_ports_answer_a_clear_422_with_the_guard_on(strict):
    _, api = strict
    for url, words in (("http://127.0.0.1:99999/", "port"), ("http://h:abc/", "port"),
                       ("http://[::1/", "bracket")):
        response = new_channel(api, "webhook", url)
        assert response.status_code == 422, (url, response.json)
        assert words in response.json["error"]["fields"]["config.url"], response.json
    assert api.get("/channels").status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "\x00", "\x1b[31m", "\x85", "a\rb"])
def test_control_characters_in_any_setting_are_refused(api, webhook, bad):
    made = api.post("/channels", json={"name": "H", "platform": "webhook", "config": {
        "url": webhook.url + "/hook", "secret": "s3cret"}})
    assert made.status_code == 201
    cases = [("webhook", {"url": webhook.url + "/hook", "secret": f"x{bad}y"}, "config.secret"),
             ("mastodon", {"instance_url": "https://93.184.215.14", "access_token": f"t{bad}",
                           "visibility": "public"}, "config.access_token"),
             ("mastodon", {"instance_url": "https://93.184.215.14", "access_token": "t",
                           "visibility": f"public{bad}"}, "config.visibility")]
    for platform, config, field in cases:
        response = api.post("/channels", json={"name": "C", "platform": platform,
                                               "config": config})
        assert response.status_code == 422, (field, response.json)
        assert "character" in response.json["error"]["fields"][field]
    named = api.post("/channels", json={"name": f"Hook{bad}", "platform": "webhook",
                                        "config": {"url": webhook.url + "/hook"}})
    assert named.status_code == 422 and "character" in named.json["error"]["fields"]["name"]
    patched = api.patch(f"/channels/{made.json['id']}", json={"config": {"secret": bad}})
    assert patched.status_code == 422 and "config.secret" in patched.json["error"]["fields"]
    listing = api.get("/channels")
    assert listing.status_code == 200 and listing.json["total"] == 1


# --- the connection goes to the checked address -----------------------------------------


def test_requests_go_to_the_address_that_was_checked(app, api, webhook, mastodon, runner):
    """The names exist only in the app's resolver: the system's could not find them, so a
    request that arrives proves the connection used the checked address; the Host header
    still names the host of the URL."""
    resolver = Resolver({"hook.herald.invalid": ["127.0.0.1"],
                         "toot.herald.invalid": ["127.0.0.1"]})
    app.config["HERALD_RESOLVER"] = resolver
    hook_url = f"http://hook.herald.invalid:{webhook.server.server_port}/hook"
    toot_url = f"http://toot.herald.invalid:{mastodon.server.server_port}"
    hook = new_channel(api, "webhook", hook_url).json["id"]
    toot = new_channel(api, "mastodon", toot_url).json["id"]
    assert api.post(f"/channels/{toot}/check").json ["ok"] is True
    rows = runner.until_settled(schedule(api, [hook, toot]))
    assert [r.status for r in rows] == ["published", "published"]
    [got] = webhook.posts()
    assert got.headers["Host"] == f"hook.herald.invalid:{webhook.server.server_port}"
    assert [r.headers["Host"] for r in mastodon.received] == [
        f"toot.herald.invalid:{mastodon.server.server_port}"] * 2
    # One look-up per request (check, publish), none repeated behind the guard's back.
    assert resolver.asked.count("toot.herald.invalid") == 2
    assert resolver.asked.count("hook.herald.invalid") == 1


def test_the_next_checked_address_is_tried_when_one_refuses(app, api, webhook, runner):
    """A name with several addresses: one that refuses the connection (nothing was sent)
    gives way to the next, as urllib3's own connect does."""
    app.config["HERALD_RESOLVER"] = Resolver({"two.herald.invalid": ["127.0.0.2", "127.0.0.1"]})
    channel = new_channel(api, "webhook",
                          f"http://two.herald.invalid:{webhook.server.server_port}/hook")
    [row] = runner.until_settled(schedule(api, [channel.json["id"]]))
    assert (row.status, row.attempts) == ("published", 1)
    assert len(webhook.posts()) == 1


def test_a_name_that_now_resolves_to_loopback_is_refused_at_publish_time(app, api, webhook,
                                                                         mastodon, runner):
    """Valid when saved (a global address), loopback when sending (DNS rebinding, or a
    record that changed): refused for good with a clear error, nothing sent."""
    app.config["HERALD_ALLOW_PRIVATE_NETWORKS"] = False
    resolver = Resolver({"hook.herald.invalid": [["93.184.215.14"], ["127.0.0.1"]],
                         "toot.herald.invalid": [["93.184.215.14"], ["93.184.215.14", "::1"]]})
    app.config["HERALD_RESOLVER"] = resolver
    hook = new_channel(api, "webhook",
                       f"http://hook.herald.invalid:{webhook.server.server_port}/hook")
    toot = new_channel(api, "mastodon", f"http://toot.herald.invalid:{mastodon.server.server_port}")
    assert hook.status_code == 201 and toot.status_code == 201, (hook.json, toot.json)
    check = api.post(f"/channels/{toot.json['id']}/check").json
    assert check["ok"] is False and "HERALD_ALLOW_PRIVATE_NETWORKS=1" in check["error"]
    rows = runner.until_settled(schedule(api, [hook.json["id"], toot.json["id"]]))
    assert [(r.status, r.attempts) for r in rows] == [("failed", 1), ("failed", 1)]
    for row in rows:
        assert "private or loopback" in row.last_error, row.last_error
        assert "HERALD_ALLOW_PRIVATE_NETWORKS=1" in row.last_error
    assert "127.0.0.1" in rows[0].last_error and "::1" in rows[1].last_error
    assert webhook.received == [] and mastodon.received == []


def test_a_name_that_does_not_resolve_is_a_transient_failure(app, api, runner):
    app.config["HERALD_RESOLVER"] = Resolver({"gone.herald.invalid": [[]]})
    channel = new_channel(api, "webhook", "http://gone.herald.invalid/hook").json["id"]
    [delivery] = schedule(api, [channel])
    runner.until(lambda: db.session.get(Delivery, delivery).status != "queued"
                 and db.session.get(Delivery, delivery).attempts >= 1)
    row = db.session.get(Delivery, delivery)
    assert row.status in ("retrying", "failed") and "cannot resolve" in row.last_error


def test_the_channel_page_shows_the_refusal_and_keeps_the_input(app, client, auth, admin):
    app.config["HERALD_ALLOW_PRIVATE_NETWORKS"] = False
    assert auth.login().status_code == 302
    for url, words in (("http://[::7f00:1]:8080/hook", "HERALD_ALLOW_PRIVATE_NETWORKS=1"),
                       ("http://127.0.0.1:99999/hook", "port"),
                       # (NUL is refused before any form is read: test_schedule_rules.py)
                       ("http://example.org/\x01hook", "U+0001")):
        response = submit(client, "/channels", {
            "name": "Hook", "platform": "webhook", "url": url, "secret": "",
            "instance_url": "", "access_token": "", "rate_limit_per_hour": ""})
        assert response.status_code == 422, url
        body = page(response)
        assert words in (error_for(body, "url") or ""), (url, error_for(body, "url"))
        assert input_value(body, "url") == url
    assert db.session.query(Channel).count() == 0


def certificate(tmp_path, name: str):
    """A CA (its certificate written to ca.pem) and a server certificate for `name` signed
    by it (cert.pem, key.pem)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def made(subject, issuer, key, signer, *, ca, extra=()):
        now = datetime.now(UTC)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True))
        for extension in extra:
            builder = builder.add_extension(extension, False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Herald test CA")])
    ca = made(ca_name, ca_name, ca_key, ca_key, ca=True)
    leaf = made(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), ca_name, key,
                ca_key, ca=False, extra=[x509.SubjectAlternativeName([x509.DNSName(name)])])
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "cert.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"


@pytest.fixture
def tls_webhook(tmp_path, monkeypatch):
    """A webhook receiver speaking TLS with a certificate for secure.herald.invalid, from a
    CA the process trusts (through OpenSSL's SSL_CERT_FILE)."""
    import ssl

    from tests.platforms import Webhook

    ca, cert, key = certificate(tmp_path, "secure.herald.invalid")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    server = Webhook()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    server.start()
    yield server
    server.stop()


def test_tls_checks_the_certificate_for_the_urls_host_at_the_checked_address(app, api,
                                                                             tls_webhook):
    """The socket goes to the checked address; TLS still sends the URL's host (SNI) and
    verifies the certificate against it."""
    port = tls_webhook.server.server_port
    app.config["HERALD_RESOLVER"] = Resolver({"secure.herald.invalid": ["127.0.0.1"],
                                              "other.herald.invalid": ["127.0.0.1"]})
    right = new_channel(api, "webhook", f"https://secure.herald.invalid:{port}/hook").json
    wrong = new_channel(api, "webhook", f"https://other.herald.invalid:{port}/hook").json
    assert api.post(f"/channels/{right['id']}/check").json == {"ok": True}
    [got] = tls_webhook.received
    assert got.headers["Host"] == f"secure.herald.invalid:{port}"
    answer = api.post(f"/channels/{wrong['id']}/check").json
    assert answer == {"ok": False, "error": "connection failed: SSLError"}
    assert len(tls_webhook.received) == 1


def test_a_huge_reply_is_read_only_as_far_as_herald_needs(app):
    """A platform answering an error page of 8 MB (or never ending) must not make the
    worker read it all."""
    class Huge(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(500)
            self.send_header("Content-Length", str(8 * 1024 * 1024))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(128):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # Herald stopped reading: what this test wants

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        reply = http.send("POST", f"http://127.0.0.1:{server.server_port}/hook", timeout=10,
                          allow_private=True, json_body={"hello": "world"})
        assert reply.status_code == 500
        assert len(reply.content) == http.MAX_REPLY_BYTES
    finally:
        server.shutdown()
        server.server_close()
