r"""A busy top of the hour, with the real stack (web API → database → scheduler → workers →
a local HTTP receiver, bench/receiver.py): posts spread over the seconds before the hour go
out while the API is busy taking the hour's posts, and then the hour's posts all fall due in
the same second. Every post is made through the API shortly before its time (the spread
ones 3–15 s ahead, the hour's ones over the whole lead-in), so many are saved within the
planner's lead and get their jobs as they are saved, the others from the planner.

Reports the spread posts' lateness percentiles (receiver's arrival minus due time, for the
posts the API answered before their time: on a loaded machine some are not), how
long the hour's posts took to drain, lost, duplicated and early deliveries, and how many
RQ jobs the workers ran.

    .venv/bin/python -m bench.mixed_top_of_hour --spread 300 --over 20 --burst 1000 --lead-in 35
    .venv/bin/python -m bench.mixed_top_of_hour --spread 300 --over 20 --burst 1000 --lead-in 35 \
        --database postgresql
"""

import argparse
import heapq
import multiprocessing
import re
import statistics
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.lateness import percentile, write_result
from bench.receiver import Receiver
from tests.servers import (
    RedisServer,
    create_postgres_database,
    drop_postgres_database,
)
from tests.stack import Stack

ROOT = Path(__file__).resolve().parent.parent

# The spread posts are made this many seconds before their time, in turn.
SPREAD_LEADS = (3, 5, 8, 11, 15)
JOB_LINE = re.compile(r"\bpublish-\d+-\d+-\d+\b")


def plan_creations(hour: float, args) -> list[tuple[float, str, float]]:
    """(when to make it, kind, due) for every post, soonest made first."""
    began = hour - args.lead_in
    made = [(began + (args.lead_in - 1) * i / args.burst, "burst", hour)
            for i in range(args.burst)]
    for i in range(args.spread):
        due = hour - args.over + int(args.over * i / args.spread)
        made.append((max(began, due - SPREAD_LEADS[i % len(SPREAD_LEADS)]), "spread", due))
    heapq.heapify(made)
    return [heapq.heappop(made) for _ in range(len(made))]


def make_posts(base: str, token: str, channel_id: int, creations) -> tuple[list, list]:
    """Make every post through the API at its planned time, from 8 threads. Returns
    [(kind, delivery, seconds the API took, answered after its time)] and the kinds of
    the posts refused because the API got to them only after their time."""
    answered, refused = [], []
    lock = threading.Lock()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def create(item):
        when, kind, due = item
        time.sleep(max(0.0, when - time.time()))
        at = datetime.fromtimestamp(due, UTC).replace(tzinfo=None)
        began = time.monotonic()
        response = session.post(f"{base}/api/v1/posts", timeout=60, json={
            "body": f"{kind} {when}", "channel_ids": [channel_id],
            "schedule": {"at": at.isoformat(timespec="seconds"), "timezone": "UTC"}})
        took = time.monotonic() - began
        if response.status_code != 201:
            assert "in the past" in response.text, response.text
            with lock:
                refused.append(kind)
            return
        late = time.time() > due
        post = response.json()
        if not post["deliveries"]:  # answered so late it had gone out already
            post = session.get(f"{base}/api/v1/posts/{post['id']}", timeout=60).json()
        with lock:
            answered.append((kind, post["deliveries"][0], took, late))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, creations))
    return answered, refused


def jobs_run(stack: Stack) -> int:
    """Distinct publishing jobs the workers logged as started."""
    found = set()
    for log in stack.workdir.glob("worker-*.log"):
        found.update(JOB_LINE.findall(log.read_text()))
    return len(found)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spread", type=int, default=300, help="posts spread before the hour")
    parser.add_argument("--over", type=float, default=20.0, help="seconds the spread posts span")
    parser.add_argument("--burst", type=int, default=1000, help="posts due at the hour")
    parser.add_argument("--lead-in", type=float, default=35.0,
                        help="seconds before the hour in which every post is made")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2,
                        help="gunicorn processes (the Procfile's default)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="postgresql: a fresh database on HERALD_TEST_POSTGRES's server")
    parser.add_argument("--out")
    args = parser.parse_args()
    out = args.out or ROOT / "bench" / "results" / f"mixed_top_of_hour-{args.database}.json"

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        redis = RedisServer(tmp / "redis").start()
        receiver = Receiver().start()
        env = {"WEB_CONCURRENCY": str(args.web_workers)}
        if args.database == "postgresql":
            database, env["DATABASE_URL"] = create_postgres_database()
        stack = Stack(tmp, redis.url, **env)
        try:
            stack.up(workers=args.workers)
            channel = stack.api("POST", "/channels", json={
                "name": "bench", "platform": "webhook", "config": {"url": receiver.url}}).json()
            hour = float(int(time.time()) + 10 + int(args.lead_in))  # the maker starts first
            creations = plan_creations(hour, args)
            # Made from another process: client threads in this one would hold up the
            # receiver's thread and inflate the lateness it measures.
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as maker:
                answered, refused = maker.submit(make_posts, stack.base, stack.token,
                                                 channel["id"], creations).result()
            total = len(answered)
            due = {d["id"]: datetime.fromisoformat(d["due_at"].replace("Z", "+00:00"))
                   .timestamp() for _, d, _, _ in answered}
            spread_ids = {d["id"] for kind, d, _, _ in answered if kind == "spread"}
            # A post the API answered only after its time was late before the engine had it.
            saved_late = {d["id"] for _, d, _, late in answered if late}

            deadline = hour + 120
            while len(receiver.arrivals) < total and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(2)  # anything arriving twice would arrive now
            got = list(receiver.arrivals)
            keys = [r.idempotency_key for r in got]
            spread = [r.at - due[r.delivery_id] for r in got
                      if r.delivery_id in spread_ids and r.delivery_id not in saved_late]
            burst = [r.at - hour for r in got if r.delivery_id not in spread_ids]
            api = [took for _, _, took, _ in answered]
            result = {
                "spread_posts": args.spread, "spread_over_seconds": args.over,
                "burst_posts": args.burst, "lead_in_seconds": args.lead_in,
                "database": args.database, "workers": args.workers,
                "web_workers": args.web_workers,
                "received": len(got),
                "lost": total - len(set(keys)), "duplicates": len(keys) - len(set(keys)),
                "early": sum(1 for r in got if r.at < due[r.delivery_id]),
                "refused_as_past": len(refused),
                "answered_after_their_time": len(saved_late),
                "spread_p50": round(statistics.median(spread), 3) if spread else None,
                "spread_p95": round(percentile(spread, 95), 3) if spread else None,
                "spread_p99": round(percentile(spread, 99), 3) if spread else None,
                "spread_max": round(max(spread), 3) if spread else None,
                "burst_last_received_after_due_s": round(max(burst), 2) if burst else None,
                "burst_p50": round(statistics.median(burst), 2) if burst else None,
                "burst_per_second": round(len(burst) / max(burst), 1) if burst else None,
                "api_p50_s": round(statistics.median(api), 3),
                "api_p99_s": round(percentile(api, 99), 3),
                "jobs_run": jobs_run(stack),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        finally:
            stack.down()
            receiver.stop()
            redis.stop()
            if args.database == "postgresql":
                drop_postgres_database(database)
    write_result(result, out)


if __name__ == "__main__":
    main()
