"""Publishing cost per delivery in-process: N deliveries due in the same second, one RQ
SimpleWorker draining their jobs against a local HTTP receiver (SQLite, a private Redis).
`--batch-size 1` gives the cost of one job per delivery, for comparison.

    .venv/bin/python -m bench.worker_job --deliveries 300
    .venv/bin/python -m bench.worker_job --deliveries 300 --batch-size 1
"""

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.platforms import Webhook
from tests.servers import RedisServer
from webapp import create_app
from webapp.engine import jobs, planner
from webapp.extensions import db
from webapp.services import channels, posts
from webapp.services.accounts import create_user
from worker import HeraldWorker

ROOT = Path(__file__).resolve().parent.parent


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    n = args.deliveries
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp) / "redis").start()
        hook = Webhook().start()
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                          "REDIS_URL": redis.url, "HERALD_ALLOW_PRIVATE_NETWORKS": True,
                          "SECRET_KEY": "bench",
                          "HERALD_BATCH_SIZE": args.batch_size})
        try:
            with app.app_context():
                db.create_all()
                user, workspace = create_user("bench@example.com", "password1", "Bench")
                channel = channels.create(workspace.id, user.id, {
                    "name": "hook", "platform": "webhook", "config": {"url": hook.url}})
                # Far enough ahead that the planner, not each creation, gives the jobs.
                due = (datetime.now(UTC) + timedelta(seconds=20 + n / 10)).replace(microsecond=0)
                began = time.perf_counter()
                for i in range(n):
                    posts.create(workspace.id, user.id, {
                        "body": f"post {i}", "channel_ids": [channel.id],
                        "schedule": {"at": due.replace(tzinfo=None).isoformat(),
                                     "timezone": "UTC"}})
                create_ms = (time.perf_counter() - began) / n * 1000
                planner.plan()  # gives jobs to those not yet given one at creation
                queued = jobs.scheduler().count()
                time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.1)
                began = time.perf_counter()
                jobs.scheduler().enqueue_jobs()
                move_ms = (time.perf_counter() - began) / queued * 1000
                began = time.perf_counter()
                HeraldWorker([jobs.queue()], connection=jobs.redis()).work(
                    burst=True, logging_level="WARNING")
                per_delivery_ms = (time.perf_counter() - began) / n * 1000
                result = {"deliveries": n, "batch_size": args.batch_size, "jobs": queued,
                          "received": len(hook.posts()),
                          "create_post_ms": round(create_ms, 1),
                          "scheduler_move_ms_per_job": round(move_ms, 2),
                          "worker_ms_per_delivery": round(per_delivery_ms, 2),
                          "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
        finally:
            hook.stop()
            redis.stop()
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results" / f"worker_job_batch{args.batch_size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
