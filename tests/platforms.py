"""Local HTTP servers that behave like the platforms Herald publishes to, errors included.

Each records every request it receives (time, headers, body) and answers from a script of
responses, so tests can make it fail, throttle, hang or succeed.
"""

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    # Like a platform's front end, take many connections at once (the default backlog of 5
    # would make a burst of concurrent requests wait for SYN retries).
    request_queue_size = 1024


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes
    at: float
    client_port: int | None = None  # the sender's side of the connection

    def json(self):
        return json.loads(self.body)


@dataclass
class Reply:
    """A scripted answer. `status=None` means "answer as the platform normally would",
    after `delay` seconds (the platform has acted, but the client may have given up)."""

    status: int | None = 200
    body: dict | list | str | bytes | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class Platform:
    """Base: a threaded server on a free port. Subclasses implement `answer()`."""

    def __init__(self):
        self.received: list[Received] = []
        self.script: list[Reply] = []  # replies used first, in order
        # Replies for one path, used before `script` (so channels on different paths of
        # one server can each be given their own behaviour).
        self.by_path: dict[str, list[Reply]] = {}
        self.lock = threading.Lock()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                got = Received(self.command, self.path, dict(self.headers), body, time.time(),
                               self.client_address[1])
                with platform.lock:
                    platform.received.append(got)
                    path_script = platform.by_path.get(self.path.split("?")[0])
                    if path_script:
                        reply = path_script.pop(0)
                    else:
                        reply = platform.script.pop(0) if platform.script else None
                if reply is None:
                    reply = platform.answer(got)
                elif reply.status is None:
                    reply = Reply(**{**platform.answer(got).__dict__, "delay": reply.delay})
                if reply.delay:
                    time.sleep(reply.delay)
                payload = (reply.body if isinstance(reply.body, str | bytes)
                           else json.dumps({} if reply.body is None else reply.body))
                # Bytes go out as they are (not UTF-8, a NUL, half a character...).
                data = payload if isinstance(payload, bytes) else payload.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle

            def log_message(self, *args):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, got: Received) -> Reply:
        raise NotImplementedError

    def posts(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received
                    if r.method == "POST" and (path is None or r.path == path)]


class Webhook(Platform):
    """A webhook receiver: 200 with an id and url for every POST."""

    def answer(self, got):
        n = len(self.received)
        return Reply(200, {"id": f"hook-{n}", "url": f"{self.url}/items/{n}"})


class Mastodon(Platform):
    """The parts of a Mastodon instance Herald uses: statuses with Idempotency-Key and the
    500-character limit, deleting a status (404 once it is gone), and verify_credentials.
    Accepts one access token."""

    def __init__(self, token: str = "good-token"):
        super().__init__()
        self.token = token
        self.statuses: dict[str, dict] = {}  # by Idempotency-Key
        self.deleted: list[str] = []  # ids of the statuses deleted, in order
        self.next_id = 1000

    def live_ids(self) -> set[str]:
        """The ids of the statuses that are up (posted, not deleted)."""
        with self.lock:
            return {s["id"] for s in self.statuses.values()} - set(self.deleted)

    def deletes(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.method == "DELETE"]

    def answer(self, got):
        if got.headers.get("Authorization") != f"Bearer {self.token}":
            return Reply(401, {"error": "The access token is invalid"})
        if got.path == "/api/v1/accounts/verify_credentials" and got.method == "GET":
            return Reply(200, {"id": "1", "username": "herald"})
        if got.method == "DELETE" and got.path.startswith("/api/v1/statuses/"):
            status_id = got.path.rsplit("/", 1)[1]
            with self.lock:
                found = [s for s in self.statuses.values() if s["id"] == status_id]
                if not found or status_id in self.deleted:
                    return Reply(404, {"error": "Record not found"})
                self.deleted.append(status_id)
            return Reply(200, found[0])
        if got.path != "/api/v1/statuses" or got.method != "POST":
            return Reply(404, {"error": "Record not found"})
        text = got.json().get("status", "")
        if len(text) > 500:
            return Reply(422, {"error": "Validation failed: Text character limit of 500 exceeded"})
        key = got.headers.get("Idempotency-Key")
        with self.lock:
            if key and key in self.statuses:
                return Reply(200, self.statuses[key])
            self.next_id += 1
            status = {"id": str(self.next_id), "url": f"{self.url}/@herald/{self.next_id}",
                      "content": text}
            if key:
                self.statuses[key] = status
        return Reply(200, status)


def _rate_limited(platform: "Platform") -> bool:
    """Whether the platform throttles this request (`platform.throttle` requests left to
    refuse)."""
    with platform.lock:
        if platform.throttle > 0:
            platform.throttle -= 1
            return True
    return False


class Discord(Platform):
    """A Discord channel webhook at /api/webhooks/<id>/<token>: ?wait=true answers with the
    message, 2,000 characters, 429 with `retry_after` in the body, DELETE of a message."""

    def __init__(self, webhook_id: str = "1234", token: str = "good-token"):
        super().__init__()
        self.webhook_id, self.token = webhook_id, token
        self.messages: dict[str, dict] = {}
        self.next_id = 5000
        self.throttle = 0
        self.retry_after = 1.5

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/api/webhooks/{self.webhook_id}/{self.token}"

    def answer(self, got):
        path, _, query = got.path.partition("?")
        match = re.fullmatch(r"/api/webhooks/([^/]+)/([^/]+)(?:/messages/([^/]+))?", path)
        if not match:
            return Reply(404, {"message": "404: Not Found", "code": 0})
        if match[1] != self.webhook_id:
            return Reply(404, {"message": "Unknown Webhook", "code": 10015})
        if match[2] != self.token:
            return Reply(401, {"message": "Invalid Webhook Token", "code": 50027})
        if _rate_limited(self):
            return Reply(429, {"message": "You are being rate limited.",
                               "retry_after": self.retry_after, "global": False},
                         headers={"Retry-After": str(int(self.retry_after) + 1)})
        if match[3]:
            if got.method != "DELETE":
                return Reply(405, {"message": "405: Method Not Allowed", "code": 0})
            with self.lock:
                found = self.messages.pop(match[3], None)
            return (Reply(204, "") if found
                    else Reply(404, {"message": "Unknown Message", "code": 10008}))
        if got.method == "GET":
            return Reply(200, {"id": self.webhook_id, "type": 1, "name": "Herald news",
                               "channel_id": "42", "guild_id": "7", "token": self.token})
        if got.method != "POST":
            return Reply(405, {"message": "405: Method Not Allowed", "code": 0})
        content = got.json().get("content", "")
        if not content:
            return Reply(400, {"message": "Cannot send an empty message", "code": 50006})
        if len(content) > 2000:
            return Reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": {
                "content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH",
                                         "message": "Must be 2000 or fewer in length."}]}}})
        with self.lock:
            self.next_id += 1
            message = {"id": str(self.next_id), "channel_id": "42", "content": content,
                       "webhook_id": self.webhook_id}
            self.messages[message["id"]] = message
        if "wait=true" not in query:
            return Reply(204, "")
        return Reply(200, message)


class Telegram(Platform):
    """The Bot API at /bot<token>/<method>: sendMessage (4,096 UTF-16 units), deleteMessage
    (only within 48 hours: `age()` makes a message older), getMe; 429 with
    parameters.retry_after."""

    def __init__(self, token: str = "123456:good-token-abc", chat: str = "@heraldnews"):
        super().__init__()
        self.token, self.chat = token, chat
        self.messages: dict[int, dict] = {}
        self.next_id = 100
        self.throttle = 0
        self.retry_after = 2

    def age(self, message_id: int, hours: float) -> None:
        """Make a message `hours` older."""
        with self.lock:
            self.messages[message_id]["date"] -= int(hours * 3600)

    @staticmethod
    def _error(code: int, description: str, **extra) -> Reply:
        return Reply(code, {"ok": False, "error_code": code, "description": description,
                            **extra})

    def answer(self, got):
        match = re.fullmatch(r"/bot([^/]*)/(\w+)", got.path.split("?")[0])
        if not match:
            return self._error(404, "Not Found")
        if match[1] != self.token:
            return self._error(401, "Unauthorized")
        method = match[2]
        body = got.json() if got.body else {}
        if method == "getMe":
            return Reply(200, {"ok": True, "result": {
                "id": 123456, "is_bot": True, "first_name": "Herald", "username": "herald_bot"}})
        if method not in ("sendMessage", "deleteMessage"):
            return self._error(404, "Not Found: method not found")
        if str(body.get("chat_id")) != self.chat:
            return self._error(400, "Bad Request: chat not found")
        if _rate_limited(self):
            return self._error(429, f"Too Many Requests: retry after {self.retry_after}",
                               parameters={"retry_after": self.retry_after})
        if method == "deleteMessage":
            with self.lock:
                message = self.messages.get(body.get("message_id"))
                if message is None:
                    return self._error(400, "Bad Request: message to delete not found")
                if time.time() - message["date"] > 48 * 3600:
                    return self._error(400, "Bad Request: message can't be deleted")
                del self.messages[body["message_id"]]
            return Reply(200, {"ok": True, "result": True})
        text = body.get("text") or ""
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return self._error(400, "Bad Request: message is too long")
        with self.lock:
            self.next_id += 1
            message = {"message_id": self.next_id, "date": int(time.time()), "text": text,
                       "chat": {"id": -1001, "type": "channel", "title": "Herald news",
                                "username": self.chat.lstrip("@")}}
            self.messages[self.next_id] = message
        return Reply(200, {"ok": True, "result": message})


class Slack(Platform):
    """Slack's Web API: chat.postMessage, chat.delete, auth.test with a Bearer bot token;
    errors as HTTP 200 {"ok": false, "error"}, the rate limit as 429 with Retry-After."""

    def __init__(self, token: str = "xoxb-good-token", channel: str = "C0123456789"):
        super().__init__()
        self.token, self.channel = token, channel
        self.messages: dict[str, dict] = {}
        self.next_ts = 1_700_000_000
        self.throttle = 0
        self.retry_after = 2

    def answer(self, got):
        method = got.path.split("?")[0].lstrip("/")
        auth = got.headers.get("Authorization", "")
        if not auth:
            return Reply(200, {"ok": False, "error": "not_authed"})
        if auth != f"Bearer {self.token}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return Reply(200, {"ok": True, "url": "https://acme.slack.com/", "team": "Acme",
                               "user": "herald", "team_id": "T1", "user_id": "U1"})
        if method not in ("chat.postMessage", "chat.delete"):
            return Reply(404, {"ok": False, "error": "unknown_method"})
        if _rate_limited(self):
            return Reply(429, {"ok": False, "error": "ratelimited"},
                         headers={"Retry-After": str(self.retry_after)})
        body = got.json()
        if body.get("channel") != self.channel:
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        if method == "chat.delete":
            with self.lock:
                found = self.messages.pop(body.get("ts"), None)
            if found is None:
                return Reply(200, {"ok": False, "error": "message_not_found"})
            return Reply(200, {"ok": True, "channel": self.channel, "ts": body["ts"]})
        text = body.get("text") or ""
        if not text:
            return Reply(200, {"ok": False, "error": "no_text"})
        if len(text) > 40_000:
            return Reply(200, {"ok": False, "error": "msg_too_long"})
        with self.lock:
            self.next_ts += 1
            ts = f"{self.next_ts}.000100"
            self.messages[ts] = {"text": text, "ts": ts}
        return Reply(200, {"ok": True, "channel": self.channel, "ts": ts,
                           "message": {"text": text, "ts": ts}})


class Devto(Platform):
    """Forem's API: POST /articles (title required, at most 4 tags), PUT /articles/<id>,
    GET /users/me, with the `api-key` header; 429 with Retry-After."""

    def __init__(self, key: str = "good-key"):
        super().__init__()
        self.key = key
        self.articles: dict[int, dict] = {}
        self.next_id = 900
        self.throttle = 0
        self.retry_after = 2

    def answer(self, got):
        path = got.path.split("?")[0]
        if got.headers.get("api-key") != self.key:
            return Reply(401, {"error": "unauthorized", "status": 401})
        if path == "/users/me" and got.method == "GET":
            return Reply(200, {"id": 1, "username": "herald_writer", "name": "Herald"})
        if _rate_limited(self):
            return Reply(429, {"error": "Rate limit reached, try again in "
                                        f"{self.retry_after} seconds", "status": 429},
                         headers={"Retry-After": str(self.retry_after)})
        match = re.fullmatch(r"/articles(?:/(\d+))?", path)
        if not match:
            return Reply(404, {"error": "not found", "status": 404})
        article = (got.json() or {}).get("article") or {}
        if match[1]:
            if got.method != "PUT":
                return Reply(404, {"error": "not found", "status": 404})
            with self.lock:
                found = self.articles.get(int(match[1]))
                if found is None:
                    return Reply(404, {"error": "not found", "status": 404})
                found.update({k: v for k, v in article.items() if k in ("published",)})
            return Reply(200, found)
        if got.method != "POST":
            return Reply(404, {"error": "not found", "status": 404})
        if not (article.get("title") or "").strip():
            return Reply(422, {"error": "Title can't be blank", "status": 422})
        tags = article.get("tags") or []
        if len(tags) > 4:
            return Reply(422, {"error": "Tag list exceed the maximum of 4 tags",
                               "status": 422})
        if any(not re.fullmatch(r"[0-9a-z]+", t) for t in tags):
            return Reply(422, {"error": "Tag contains non-alphanumeric characters",
                               "status": 422})
        with self.lock:
            self.next_id += 1
            found = {"id": self.next_id, "title": article["title"],
                     "body_markdown": article.get("body_markdown", ""),
                     "published": bool(article.get("published")), "tags": tags,
                     "url": f"{self.url}/herald_writer/article-{self.next_id}"}
            self.articles[self.next_id] = found
        return Reply(201, found)
