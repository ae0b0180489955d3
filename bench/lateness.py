"""Lateness of publishing with the real stack: web API → database → scheduler → worker →
a local HTTP receiver (bench/receiver.py). Posts are spread over a window of seconds;
lateness is the time the receiver got the request minus the delivery's due time.

    .venv/bin/python -m bench.lateness --posts 2000 --window 60 --workers 2
"""

import argparse
import json
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.receiver import Receiver
from tests.servers import RedisServer
from tests.stack import Stack

ROOT = Path(__file__).resolve().parent.parent


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the posts span")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "lateness.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        redis = RedisServer(tmp / "redis").start()
        receiver = Receiver().start()
        stack = Stack(tmp, redis.url)
        try:
            stack.up(workers=args.workers)
            channel = stack.api("POST", "/channels", json={
                "name": "bench", "platform": "webhook", "config": {"url": receiver.url}}).json()
            # Leave time to create every post before the first is due.
            start = datetime.now(UTC).replace(microsecond=0) + timedelta(
                seconds=10 + args.posts / 20)

            def create(i):
                due = start + timedelta(seconds=args.window * i / args.posts)
                response = stack.api("POST", "/posts", json={
                    "body": f"post {i}", "channel_ids": [channel["id"]],
                    "schedule": {"at": due.replace(tzinfo=None).isoformat(timespec="seconds"),
                                 "timezone": "UTC"}})
                assert response.status_code == 201, response.text
                return response.json()["deliveries"][0]

            began = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                deliveries = list(pool.map(create, range(args.posts)))
            created_in = time.monotonic() - began
            assert datetime.now(UTC) < start, "posts were not all created before the first was due"
            due = {d["id"]: datetime.fromisoformat(d["due_at"].replace("Z", "+00:00")).timestamp()
                   for d in deliveries}
            deadline = time.time() + (start.timestamp() - time.time()) + args.window + 60
            while len(receiver.arrivals) < args.posts and time.time() < deadline:
                time.sleep(0.5)
            time.sleep(2)
            got = list(receiver.arrivals)
            keys = [r.idempotency_key for r in got]
            lateness = [r.at - due[r.delivery_id] for r in got]
            result = {
                "posts": args.posts, "window_seconds": args.window, "workers": args.workers,
                "received": len(got), "duplicates": len(keys) - len(set(keys)),
                "lost": args.posts - len(set(keys)),
                "early": sum(1 for x in lateness if x < 0),
                "p50": round(statistics.median(lateness), 3),
                "p95": round(percentile(lateness, 95), 3),
                "p99": round(percentile(lateness, 99), 3),
                "max": round(max(lateness), 3),
                "created_in_seconds": round(created_in, 1),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        finally:
            stack.down()
            receiver.stop()
            redis.stop()
    write_result(result, args.out)



def write_result(result: dict, out: str) -> None:
    """Print a bench's figures and keep them in `out` (bench/results/...)."""
    print(json.dumps(result, indent=2))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(result, indent=2) + "\n")

if __name__ == "__main__":
    main()
