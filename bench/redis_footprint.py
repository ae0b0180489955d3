"""Redis memory for 100,000 future posts spread over a year: Herald next to one
rq-scheduler job per post.

Herald: the posts are imported in-process with the CSV import service (services.imports,
files of at most its row limit) into a temporary SQLite database, across `--channels`
webhook channels, one channel each; then planner passes run until one does nothing (steady
state: deliveries written for the next 7 days, jobs for those within the 10-minute
horizon). Baseline: the same number of jobs given straight to rq-scheduler
(`Scheduler.enqueue_at(time, fn, post_id)` of a trivial module-level function), at the
same times. Each side has its own private redis-server on a free port (started and
stopped here; the Redis on 6379 is never touched); the figure is INFO `used_memory` minus
that server's own when empty. Target for Herald: <= 20 MB.

Figures are printed and written to bench/results/redis_footprint.json.

    .venv/bin/python -m bench.redis_footprint [--posts 100000] [--channels 20] [--days 365]
"""

import argparse
import csv
import io
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis
from rq_scheduler import Scheduler

from tests.servers import RedisServer
from webapp import create_app
from webapp.engine import jobs, planner
from webapp.extensions import db
from webapp.models import Channel
from webapp.services import imports
from webapp.services.accounts import create_user

ROOT = Path(__file__).resolve().parent.parent

TARGET_MB = 20
MB = 2**20


def publish(post_id: int) -> None:
    """The baseline's job: what it does does not matter, only what it stores."""


def used_memory(client: Redis) -> int:
    return client.info("memory")["used_memory"]


def due_times(posts: int, days: float) -> list[datetime]:
    """Evenly spread, to the minute, from a few minutes from now: the first ones fall within
    the planner's horizon (so Herald holds their jobs), and none is past by the time its
    file is imported."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=3)
    step = timedelta(days=days) / posts
    return [(start + i * step).replace(second=0) for i in range(posts)]


def files(times: list[datetime], channels: list[str]):
    """CSV files of at most the import's row limit."""
    for first in range(0, len(times), imports.MAX_ROWS):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["body", "at", "timezone", "channels"])
        for i in range(first, min(first + imports.MAX_ROWS, len(times))):
            writer.writerow([f"Post {i} of the year", times[i].strftime("%Y-%m-%d %H:%M"),
                             "UTC", channels[i % len(channels)]])
        yield out.getvalue().encode()


def herald(tmp: Path, times: list[datetime], n_channels: int) -> dict:
    redis = RedisServer(tmp / "herald-redis").start()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'herald.db'}",
                          "REDIS_URL": redis.url, "SECRET_KEY": "bench", "SMTP_URL": ""})
        with app.app_context():
            empty = used_memory(jobs.redis())
            db.create_all()
            user, workspace = create_user("bench@example.com", "correct horse", "Bench")
            channels = [Channel(workspace_id=workspace.id, name=f"Hook {i:02d}",
                                platform="webhook", config={"url": f"http://127.0.0.1:9/{i}"})
                        for i in range(n_channels)]
            db.session.add_all(channels)
            db.session.commit()
            names = [c.name for c in channels]
            started = time.perf_counter()
            for number, content in enumerate(files(times, names)):
                imports.import_csv(workspace.id, user.id, content, "UTC", f"year-{number}.csv")
            imported = time.perf_counter() - started
            started = time.perf_counter()
            passes = []
            while True:
                done = planner.plan()
                passes.append(done)
                if not done["materialized"] and not done["enqueued"]:
                    break
            planned = time.perf_counter() - started
            used = used_memory(jobs.redis()) - empty
            keys = jobs.redis().dbsize()
            db.session.remove()
    finally:
        redis.stop()
    return {"used_bytes": used, "used_mb": round(used / MB, 2), "keys": keys,
            "import_seconds": round(imported, 1), "planner_seconds": round(planned, 1),
            "planner_passes": len(passes),
            "deliveries_written": sum(p["materialized"] for p in passes),
            "jobs_enqueued": sum(p["enqueued"] for p in passes)}


def baseline(tmp: Path, times: list[datetime]) -> dict:
    redis = RedisServer(tmp / "baseline-redis").start()
    try:
        client = Redis.from_url(redis.url)
        empty = used_memory(client)
        scheduler = Scheduler(queue_name="baseline", connection=client)
        started = time.perf_counter()
        for post_id, at in enumerate(times, start=1):
            scheduler.enqueue_at(at, publish, post_id)
        enqueued = time.perf_counter() - started
        used = used_memory(client) - empty
        keys = client.dbsize()
        client.close()
    finally:
        redis.stop()
    return {"used_bytes": used, "used_mb": round(used / MB, 2), "keys": keys,
            "enqueue_seconds": round(enqueued, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--days", type=float, default=365)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "redis_footprint.json"))
    args = parser.parse_args()

    times = due_times(args.posts, args.days)
    with tempfile.TemporaryDirectory() as tmp:
        ours = herald(Path(tmp), times, args.channels)
        theirs = baseline(Path(tmp), times)
    result = {
        "posts": args.posts, "days": args.days, "channels": args.channels,
        "herald": ours, "rq_scheduler_one_job_per_post": theirs, "target_mb": TARGET_MB,
        "herald_meets_target": ours["used_mb"] <= TARGET_MB,
        # This machine is shared: how busy it was, over the last 1, 5 and 15 minutes.
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.posts:,} posts over {args.days:g} days, Redis used_memory above empty:")
    print(f"  Herald (planner at steady state):  {ours['used_mb']:8.2f} MB, {ours['keys']:,} "
          f"keys ({ours['deliveries_written']:,} deliveries written, "
          f"{ours['jobs_enqueued']:,} jobs; target <= {TARGET_MB} MB)")
    print(f"  rq-scheduler, one job per post:    {theirs['used_mb']:8.2f} MB, "
          f"{theirs['keys']:,} keys ({theirs['enqueue_seconds']} s to enqueue)")
    print(f"  import {ours['import_seconds']} s, planner {ours['planner_seconds']} s over "
          f"{ours['planner_passes']} passes")
    print(f"load average (1, 5, 15 min): {result['load_average']}; written to "
          f"{Path(args.out).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
