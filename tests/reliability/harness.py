"""What the fault-injection scenarios share: a whole stack with its own Redis, a platform
that counts what it receives, an SMTP inbox, and the means to hurt processes.

Everything here is black-box: Herald is driven through its HTTP API and the Procfile's
processes, and judged by what the receiving endpoint saw and what the API reports.
"""

import email
import email.policy
import fcntl
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

from tests.platforms import Platform, Received, Reply
from tests.servers import RedisServer, free_port
from tests.stack import Stack

# Timers for the test suite: a dead worker's delivery is recovered after ~6 s instead of
# ~20 s, the planner passes every second, retries come after 1 and 2 s, a hung platform is
# given up after 2 s. bench/faults.py runs the same scenarios with the defaults.
FAST = {
    "HERALD_RETRY_DELAYS": "1,2",
    "HERALD_HEARTBEAT_TTL": "5",
    "HERALD_PLANNER_INTERVAL": "1",
    "HERALD_HTTP_TIMEOUT": "2",
}


# --- the stack -------------------------------------------------------------------------

_template_lock = threading.Lock()


def released_database(shared: Path) -> tuple[Path, str]:
    """A database after the release step, with a user and its API token, made once in
    `shared` (by whichever process gets there first: pytest-xdist workers share it) and
    copied for each stack, since the release step costs ~7 s of CLI start-ups."""
    target = shared / "herald-released"
    with _template_lock, open(shared / "herald-released.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "token").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            stack = Stack(target, "redis://127.0.0.1:1/0")  # the release needs no Redis
            stack.release()
            (target / "token").write_text(stack.token)
        return target / "herald.db", (target / "token").read_text()


@contextmanager
def running_stack(workdir: Path, *, workers: int = 2, schedulers: int = 1,
                  env: dict | None = None, shared: Path | None = None):
    """The Procfile's processes against a private Redis and a fresh SQLite file (a copy of
    a released database kept in `shared`, by default `workdir`'s parent); stopped
    (SIGTERM, then SIGKILL) however the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    redis = RedisServer(workdir / "redis").start()
    stack = Stack(workdir, redis.url, **(env or {}))
    stack.redis = redis
    try:
        source, stack.token = released_database(shared or workdir.parent)
        with closing(sqlite3.connect(source)) as src, \
                closing(sqlite3.connect(stack.database)) as dst:
            src.backup(dst)
        stack.up(workers=workers, schedulers=schedulers, released=True)
        yield stack
    finally:
        stack.down()
        redis.stop()


def running(stack: Stack, name: str) -> list[subprocess.Popen]:
    return [p for p in stack.processes.get(name, []) if p.poll() is None]


def signal_group(process: subprocess.Popen, sig) -> None:
    """Signal a process the stack started (its shell and everything in its group)."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def group_pids(pgid: int) -> list[int]:
    """The live (not zombie) processes of a process group."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces; the fields after it do not.
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state not in ("Z", "X"):
            pids.append(int(entry))
    return pids


def owner_of(stack: Stack, client_port: int, role: str = "worker") -> subprocess.Popen:
    """The stack's process (e.g. the worker) holding the TCP connection whose local port is
    `client_port`: which worker is sending a request the platform has just received."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == client_port:
                inodes.add(f"socket:[{fields[9]}]")
    for process in running(stack, role):
        for pid in group_pids(process.pid):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return process
                except OSError:
                    continue
    raise AssertionError(f"no {role} holds the connection from port {client_port}")


@contextmanager
def write_lock(database: Path):
    """Hold SQLite's write lock (BEGIN IMMEDIATE) from a connection of our own: every
    writer of the stack waits (Herald's busy timeout) until the block ends."""
    conn = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
    finally:
        conn.close()  # rolls back


def failure_notifications(stack: Stack, delivery_id: int) -> int:
    """In-app failure notifications recorded for one delivery (read from the database)."""
    with sqlite3.connect(stack.database, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM notification WHERE delivery_id = ?",
                            (delivery_id,)).fetchone()[0]


def wait_for(condition, timeout: float, what: str = "condition", stack: Stack | None = None,
             every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}"
                                 + (f"\n{stack.logs()}" if stack else ""))
        time.sleep(every)


def sleep_until(when: float) -> None:
    time.sleep(max(0.0, when - time.time()))


# --- the platform ----------------------------------------------------------------------

@dataclass
class Behaviour:
    """How the receiver answers on one path."""

    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # before answering: a long one is a hang
    hold: int = 0       # the first `hold` requests wait for `gate` before answering
    gate: threading.Event = field(default_factory=threading.Event)


class Receiver(Platform):
    """A webhook endpoint that acts like a platform honouring Idempotency-Key (a repeated
    key gets the first answer again) and keeps every request, so the scenarios can count
    what arrived by key and by content. Each path can be given its own behaviour."""

    def __init__(self):
        super().__init__()
        self.behaviour: dict[str, Behaviour] = {}
        self.items: dict[str, dict] = {}     # by Idempotency-Key
        self.answered: dict[str, float] = {}  # key -> when a 2xx answer was sent first
        self.held: dict[str, int] = defaultdict(int)

    def behave(self, path: str, **kwargs) -> Behaviour:
        self.behaviour[path] = Behaviour(**kwargs)
        return self.behaviour[path]

    def answer(self, got: Received) -> Reply:
        path = got.path.split("?")[0]
        how = self.behaviour.get(path, Behaviour())
        with self.lock:
            hold = self.held[path] < how.hold
            self.held[path] += hold
        if hold:
            how.gate.wait(300)
        if how.delay:
            how.gate.wait(how.delay)  # opening the gate also ends a hang (at teardown)
        if not 200 <= how.status < 300:
            return Reply(how.status, {"error": f"scripted {how.status}"}, dict(how.headers))
        key = got.headers.get("Idempotency-Key") or uuid.uuid4().hex
        with self.lock:
            item = self.items.setdefault(key, {"id": f"item-{len(self.items) + 1}",
                                               "url": f"{self.url}/items/{len(self.items) + 1}"})
            self.answered.setdefault(key, time.time())
        return Reply(200, item)

    def stop(self):
        for how in self.behaviour.values():
            how.gate.set()
        super().stop()

    def on(self, path: str) -> list[Received]:
        return self.posts(path)


def webhook_channel(stack: Stack, receiver: Receiver, path: str, name: str | None = None) -> int:
    response = stack.api("POST", "/channels", json={
        "name": name or f"hook {path}", "platform": "webhook",
        "config": {"url": receiver.url + path}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


# --- e-mail ----------------------------------------------------------------------------

class Mailbox:
    """A real SMTP server (aiosmtpd) that keeps the subjects it receives."""

    def __init__(self):
        self.subjects: list[str] = []
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.subjects.append(str(message["Subject"]))
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    def start(self) -> "Mailbox":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def about(self, text: str) -> int:
        with self.lock:
            return sum(text in s for s in self.subjects)


# --- posts and what became of them ----------------------------------------------------

def wall(ts: float, zone: str = "UTC") -> str:
    """The local wall time of a whole-second instant, as the API takes it."""
    from zoneinfo import ZoneInfo

    local = datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(zone))
    return local.replace(tzinfo=None).isoformat(timespec="seconds")


def parse_instant(text: str | None) -> float | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def lead(posts: int, base: float = 2.0) -> float:
    """Seconds to allow before the first of `posts` new posts is due, so that making them
    all (a fraction of a second each on a busy machine) ends before it."""
    return base + 0.15 * posts


def next_second(ahead: float) -> float:
    """The first whole second at least `ahead` seconds from now."""
    return float(int(time.time() + ahead) + 1)


@dataclass
class Planned:
    """A post made by a scenario: where it must arrive and when (`due` None: never)."""

    post_id: int
    channel_id: int
    body: str
    due: float | None
    delivery_ids: list = field(default_factory=list)


def schedule(stack: Stack, channel_id: int, body: str, due: float, zone: str = "UTC",
             timeout: float = 10, **extra) -> Planned:
    response = stack.api("POST", "/posts", timeout=timeout, json={
        "body": body, "channel_ids": [channel_id],
        "schedule": {"at": wall(due, zone), "timezone": zone}, **extra})
    assert response.status_code == 201, response.text
    post = response.json()
    return Planned(post["id"], channel_id, body, due,
                   [d["id"] for d in post["deliveries"]])


def deliveries(stack: Stack) -> dict[int, list[dict]]:
    """Every delivery the API lists, by post."""
    found: dict[int, list[dict]] = defaultdict(list)
    page = 1
    while True:
        data = stack.api("GET", f"/deliveries?per_page=200&page={page}").json()
        for d in data["items"]:
            found[d["post_id"]].append(d)
        if page * data["per_page"] >= data["total"]:
            return found
        page += 1


def settled(stack: Stack, planned: list[Planned]) -> bool:
    """Every post that must go out is recorded published; every other one has nothing
    left to do."""
    rows = deliveries(stack)
    for p in planned:
        mine = rows.get(p.post_id, [])
        if p.due is not None and not any(d["status"] == "published" for d in mine):
            return False
        if p.due is None and any(d["status"] not in ("cancelled", "failed") for d in mine):
            return False
    return True


def settle(stack: Stack, planned: list[Planned], timeout: float,
           quiet: float = 1.5) -> str | None:
    """Wait until everything is settled, then `quiet` seconds more for late copies.
    Returns None, or what was still unsettled after `timeout` seconds (the scenario goes
    on to count what did arrive; `exactly_once()` reports it)."""
    deadline = time.monotonic() + timeout
    while not settled(stack, planned):
        if time.monotonic() > deadline:
            rows = deliveries(stack)
            open_ = [f"post {p.post_id}: {[d['status'] for d in rows.get(p.post_id, [])]}"
                     for p in planned if (p.due is None) == any(
                         d["status"] == "published" for d in rows.get(p.post_id, []))
                     or not rows.get(p.post_id)]
            return f"not settled after {timeout} s: {'; '.join(open_)[:500]}"
        time.sleep(0.5)
    time.sleep(quiet)
    return None


def content(request: Received) -> str:
    return request.json()["body"]


def tally(stack: Stack, receiver: Receiver, planned: list[Planned],
          unsettled: str | None = None) -> dict:
    """What the endpoint received against what the scenario planned.

    duplicates_by_key: requests whose Idempotency-Key had been received before (resends: a
    platform honouring the key drops them). duplicates_by_content: requests whose post
    had been received before, whatever their key. new_key_duplicates: copies of a post
    under a second key, which no platform could recognise. lateness: first arrival of a
    post minus its due time; recorded: when Herald recorded it published, minus due;
    unsettled: what `settle()` reported, if anything.
    """
    by_body: dict[str, list[Received]] = defaultdict(list)
    for request in receiver.posts():
        by_body[content(request)].append(request)
    rows = deliveries(stack)
    result = {"posts": 0, "exactly_once": 0, "lost": 0, "duplicates_by_key": 0,
              "duplicates_by_content": 0, "new_key_duplicates": 0, "received_but_cancelled": 0,
              "early": 0, "max_lateness_s": None, "max_recorded_s": None, "requests": 0,
              "unsettled": unsettled}
    lateness, recorded = [], []
    for p in planned:
        got = by_body.get(p.body, [])
        result["requests"] += len(got)
        keys = {r.headers.get("Idempotency-Key") for r in got}
        if p.due is None:
            result["received_but_cancelled"] += bool(got)
            continue
        result["posts"] += 1
        if not got:
            result["lost"] += 1
            continue
        result["duplicates_by_key"] += len(got) - len(keys)
        result["duplicates_by_content"] += len(got) - 1
        result["new_key_duplicates"] += len(keys) - 1
        published = [d for d in rows.get(p.post_id, []) if d["status"] == "published"]
        if len(keys) == 1 and len(published) == 1:
            result["exactly_once"] += 1
        first = min(r.at for r in got) - p.due
        lateness.append(first)
        result["early"] += first < 0
        for d in published:
            recorded.append(parse_instant(d["finished_at"]) - p.due)
    if lateness:
        result["max_lateness_s"] = round(max(lateness), 2)
    if recorded:
        result["max_recorded_s"] = round(max(recorded), 2)
    return result


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def dump(result: dict) -> str:
    return json.dumps(result, sort_keys=True)


def killed(process: subprocess.Popen, sig=signal.SIGKILL, timeout: float = 60) -> float:
    """Signal a stack process's group and wait until every process in it has ended (the
    Procfile's shell dies at once; the program under it may take its time); returns how
    long that took. SIGKILLs the group if it is still there after `timeout`."""
    started = time.monotonic()
    signal_group(process, sig)
    deadline = started + timeout
    while group_pids(process.pid):
        if time.monotonic() > deadline:
            signal_group(process, signal.SIGKILL)
            raise AssertionError(f"process group {process.pid} still running {timeout} s "
                                 f"after signal {sig}")
        time.sleep(0.05)
    process.wait(10)
    return time.monotonic() - started


# --- judging ---------------------------------------------------------------------------

class KnownBug(AssertionError):
    """Raised by a check that fails because of a reported bug: tests mark it
    `xfail(strict=True, raises=KnownBug)`, so any other failure still fails them."""


def exactly_once(result: dict, *, resends: int = 0) -> list[str]:
    """What is wrong with a tally: anything lost, any copy under a new key, more resends
    (same key) than `resends`, a cancelled post received, or anything early.

    How late posts arrive depends on the machine as much as on Herald, so tests do not
    judge it: `make faults` (bench/faults.py) measures it and docs/benchmarks.md has the
    figures. A post that never arrives within the scenario's settle timeout is lost."""
    wrong = []
    if result.get("unsettled"):
        wrong.append(result["unsettled"])
    if result["lost"]:
        wrong.append(f"{result['lost']} of {result['posts']} posts lost")
    if result["exactly_once"] != result["posts"] - result["lost"]:
        wrong.append(f"only {result['exactly_once']} of {result['posts']} published once")
    if result["new_key_duplicates"]:
        wrong.append(f"{result['new_key_duplicates']} copies under a second key")
    if result["duplicates_by_key"] > resends:
        wrong.append(f"{result['duplicates_by_key']} resends (same key); allowed {resends}")
    if result["duplicates_by_content"] != result["duplicates_by_key"]:
        wrong.append("copies of a post the key would not reveal")
    if result["received_but_cancelled"]:
        wrong.append(f"{result['received_but_cancelled']} cancelled posts received")
    if result["early"]:
        wrong.append(f"{result['early']} posts received before their time")
    return wrong
