"""Local HTTP servers that behave like the platforms Herald publishes to, errors included.

Each records every request it receives (time, headers, body) and answers from a script of
responses, so tests can make it fail, throttle, hang or succeed.
"""

import json
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

            do_GET = do_POST = do_HEAD = do_DELETE = _handle

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
