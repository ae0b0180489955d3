"""Recovery with the real stack: what a Redis FLUSHALL, a Redis restart and a worker killed
mid-publish (SIGKILL) cost in lateness, and whether anything is lost or sent twice.

    .venv/bin/python bench/recovery.py
"""

import json
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis as redis_lib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.platforms import Reply, Webhook  # noqa: E402
from tests.servers import RedisServer  # noqa: E402
from tests.stack import Stack  # noqa: E402


def schedule(stack, channel, seconds_ahead, n):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds_ahead)
    due = {}
    for i in range(n):
        at = start + timedelta(seconds=i % 5)
        post = stack.api("POST", "/posts", json={
            "body": f"r{i}", "channel_ids": [channel],
            "schedule": {"at": at.replace(tzinfo=None).isoformat(), "timezone": "UTC"}}).json()
        d = post["deliveries"][0]
        due[d["id"]] = datetime.fromisoformat(d["due_at"].replace("Z", "+00:00")).timestamp()
    return due


def settle(stack, receiver, due, timeout):
    """Wait until every delivery is published (as Herald records it), then count what the
    receiver got."""
    deadline = time.time() + timeout
    finished = {}
    while time.time() < deadline:
        rows = stack.api("GET", "/deliveries?status=published&per_page=200").json()["items"]
        finished = {d["id"]: d["finished_at"] for d in rows}
        if len(finished) >= len(due):
            break
        time.sleep(0.5)
    time.sleep(2)
    got = receiver.posts()
    keys = [r.headers["Idempotency-Key"] for r in got]
    ids = {int(r.headers["X-Herald-Delivery"]) for r in got}
    first = {}
    for r in got:
        first.setdefault(int(r.headers["X-Herald-Delivery"]), r.at)
    lateness = [first[i] - due[i] for i in first]
    return {"posts": len(due), "published_once": len(ids & set(due)),
            "lost": len(set(due) - ids), "requests": len(got),
            "duplicate_keys": len(keys) - len(set(keys)),
            "early": sum(1 for x in lateness if x < 0),
            "max_lateness_seconds": round(max(lateness), 2) if lateness else None,
            "max_seconds_until_recorded_published": round(max(
                datetime.fromisoformat(f.replace("Z", "+00:00")).timestamp() - due[i]
                for i, f in finished.items()), 2) if finished else None}


def scenario(name, tmp, action, n=20, hold=None):
    redis = RedisServer(tmp / name / "redis").start()
    receiver = Webhook().start()
    (tmp / name).mkdir(parents=True, exist_ok=True)
    stack = Stack(tmp / name, redis.url)
    try:
        stack.up(workers=2)
        channel = stack.api("POST", "/channels", json={
            "name": "r", "platform": "webhook", "config": {"url": receiver.url}}).json()["id"]
        if hold:
            receiver.script = [Reply(200, {"id": "held"}, delay=hold)]
        due = schedule(stack, channel, 6, n)
        action(stack, redis, receiver)
        result = settle(stack, receiver, due, 120)
    finally:
        stack.down()
        receiver.stop()
        redis.stop()
    print(name, json.dumps(result))
    return result


def flushall(stack, redis, receiver):
    time.sleep(2)
    redis_lib.Redis.from_url(redis.url).flushall()


def restart(stack, redis, receiver):
    time.sleep(2)
    redis.stop()
    time.sleep(3)
    redis.start()


def kill_worker_mid_publish(stack, redis, receiver):
    while not receiver.posts():
        time.sleep(0.05)
    for worker in stack.processes["worker"]:
        stack.kill(worker, signal.SIGKILL)
    stack.start("worker")
    stack.start("worker")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results = {
            "redis_flushall": scenario("flushall", tmp, flushall),
            "redis_restart": scenario("restart", tmp, restart),
            "worker_sigkill_mid_publish": scenario("sigkill", tmp, kill_worker_mid_publish,
                                                   n=1, hold=5),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    out = ROOT / "bench" / "results" / "recovery.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
