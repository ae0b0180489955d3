"""The queue page with 100,000 deliveries in one workspace: how long GET /queue takes.

A temporary SQLite database is filled with SQLAlchemy core (bulk inserts), then the first
page of the upcoming tab and of the failed tab is fetched with the test client, whole page
and HTMX fragment, and the dashboard (whose figures average the waits of every published
delivery of the last 14 days), ~20 times each (after a warm-up); the median (p50) and p90
are printed and written to bench/results/queue_page.json. Target: p50 <= 100 ms.

It runs with the indexes the models declare, and then, if any of the indexes this page
asks for is missing from them, again with those created here (CREATE INDEX):

    delivery (workspace_id, status, next_attempt_at)   -- upcoming/publishing tabs, counts
    delivery (workspace_id, status, due_at)            -- failed/published/cancelled tabs

    .venv/bin/python -m bench.queue_page [--deliveries 100000] [--runs 21]
"""

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from webapp import create_app
from webapp.extensions import db
from webapp.models import Channel, Delivery, Notification, Post
from webapp.services.accounts import create_user
from webapp.web.sessions import add_sign_in

ROOT = Path(__file__).resolve().parent.parent

PROPOSED_INDEXES = {
    "ix_delivery_workspace_status_next_attempt": ("workspace_id", "status", "next_attempt_at"),
    "ix_delivery_workspace_status_due": ("workspace_id", "status", "due_at"),
}
# Share of deliveries per status: mostly history, a good part still to come.
MIX = [("published", 0.58), ("pending", 0.22), ("queued", 0.08), ("retrying", 0.01),
       ("publishing", 0.002), ("failed", 0.03), ("cancelled", 0.078)]
CHANNELS, POSTS = 8, 5_000
PATHS = {
    "upcoming_page": ("/queue", {}),
    "upcoming_fragment": ("/queue", {"HX-Request": "true"}),
    "failed_page": ("/queue?status=failed", {}),
    "failed_fragment": ("/queue?status=failed", {"HX-Request": "true"}),
    "upcoming_page_2_sorted_by_priority": ("/queue?sort=priority&page=2", {}),
    "upcoming_search_one_post": ("/queue?q=Post+123:", {}),
    "failed_search_a_fifth_of_posts": ("/queue?status=failed&q=launch", {}),
    # Counts, the week ahead, the chart and services.deliveries.stats (the averages).
    "dashboard": ("/", {}),
}



def fill(workspace_id: int, user_id: int, deliveries: int, seed: int = 7) -> dict:
    """Channels, posts and `deliveries` deliveries, with SQLAlchemy core in chunks."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    db.session.execute(insert(Channel), [
        {"workspace_id": workspace_id, "name": f"Channel {i}", "platform": "webhook",
         "color": "#3b82f6", "config": {"url": "http://127.0.0.1:9/"}, "slots": [],
         "paused": False, "created_at": now, "updated_at": now} for i in range(CHANNELS)])
    channel_ids = [i for (i,) in db.session.execute(text("SELECT id FROM channel"))]
    words = ["launch", "sale", "news", "tip", "event", "update", "release", "story"]
    db.session.execute(insert(Post), [
        {"workspace_id": workspace_id, "author_id": user_id, "title": "",
         "body": f"Post {i}: {rng.choice(words)} {rng.choice(words)} and more text",
         "overrides": {}, "tags": [], "priority": rng.randint(1, 10), "status": "scheduled",
         "created_at": now, "updated_at": now} for i in range(POSTS)])
    post_ids = [i for (i,) in db.session.execute(text("SELECT id FROM post"))]
    statuses = [s for s, _ in MIX]
    weights = [w for _, w in MIX]
    made = dict.fromkeys(statuses, 0)
    chunk = 10_000
    for start in range(0, deliveries, chunk):
        rows = []
        for _ in range(min(chunk, deliveries - start)):
            status = rng.choices(statuses, weights)[0]
            made[status] += 1
            if status in ("pending", "queued", "retrying", "publishing"):
                due = now + timedelta(minutes=rng.randint(-5, 60 * 24 * 7))
            else:
                due = now - timedelta(minutes=rng.randint(1, 60 * 24 * 60))
            finished = due + timedelta(seconds=rng.randint(1, 30)) if status in (
                "published", "failed", "cancelled") else None
            rows.append({
                "workspace_id": workspace_id, "post_id": rng.choice(post_ids),
                "channel_id": rng.choice(channel_ids), "due_at": due,
                "next_attempt_at": due + timedelta(minutes=5) if status == "retrying" else due,
                "status": status, "priority": rng.randint(1, 10),
                "attempts": 1 if status in ("published", "failed", "retrying") else 0,
                "retry_base": 0, "idempotency_key": uuid.uuid4().hex,
                "last_error": "HTTP 400: rejected" if status in ("failed", "retrying") else None,
                "warnings": [], "started_at": due if finished else None,
                "finished_at": finished, "created_at": now})
        db.session.execute(insert(Delivery), rows)
    db.session.execute(insert(Notification), [
        {"workspace_id": workspace_id, "kind": "delivery_failed", "title": f"Problem {i}",
         "body": "", "read_at": None if i < 40 else now, "created_at": now}
        for i in range(400)])
    db.session.commit()
    return made


def time_paths(client, runs: int) -> dict:
    results = {}
    for name, (path, headers) in PATHS.items():
        for _ in range(3):  # warm-up: templates compiled, pages in SQLite's cache
            assert client.get(path, headers=headers).status_code == 200, path
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get(path, headers=headers)
            samples.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        samples.sort()
        results[name] = {"path": path, "fragment": bool(headers),
                         "p50_ms": round(statistics.median(samples), 1),
                         "p90_ms": round(samples[int(len(samples) * 0.9) - 1], 1),
                         "min_ms": round(samples[0], 1)}
    return results


def query_plans() -> dict:
    """SQLite's plan for the two id queries behind the first page of each tab."""
    plans = {}
    for name, sql in {
        "upcoming_ids": "SELECT id FROM delivery WHERE workspace_id = 1 AND status IN "
                        "('pending', 'queued', 'retrying') ORDER BY next_attempt_at, id "
                        "LIMIT 50",
        "failed_ids": "SELECT id FROM delivery WHERE workspace_id = 1 AND status = 'failed' "
                      "ORDER BY due_at DESC, id DESC LIMIT 50",
        "tab_counts": "SELECT status, count(*) FROM delivery WHERE workspace_id = 1 "
                      "GROUP BY status",
    }.items():
        plans[name] = [row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))]
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                          # The pages read only the database; nothing here may touch Redis.
                          "REDIS_URL": "redis://127.0.0.1:1/0", "SMTP_URL": ""})
        with app.app_context():
            db.create_all()
            user, workspace = create_user("bench@example.com", "correct horse", "Bench",
                                          "admin", "Europe/Berlin")
            started = time.perf_counter()
            made = fill(workspace.id, user.id, args.deliveries)
            fill_seconds = time.perf_counter() - started
            key, _ = add_sign_in(user.id)
            cookie_value = f"{user.id}:{key}"  # what the session carries
            db.session.remove()

            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = cookie_value
                session["_fresh"] = True

            report = {"deliveries": args.deliveries, "by_status": made, "runs": args.runs,
                      "fill_seconds": round(fill_seconds, 1), "target_p50_ms": 100}
            report["model_indexes"] = {"timings": time_paths(client, args.runs),
                                       "plans": query_plans()}
            # The models have declared these indexes since they were proposed here: the
            # second run only happens while one of them is missing.
            existing = {name for (name,) in db.session.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
            missing = {k: v for k, v in PROPOSED_INDEXES.items() if k not in existing}
            for name, columns in missing.items():
                db.session.execute(text(f"CREATE INDEX {name} ON delivery ({', '.join(columns)})"))
            db.session.commit()
            if missing:
                report["proposed_indexes"] = {
                    "indexes": {k: list(v) for k, v in missing.items()},
                    "timings": time_paths(client, args.runs), "plans": query_plans()}
            db.session.remove()

    out = ROOT / "bench" / "results" / "queue_page.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{args.deliveries:,} deliveries ({fill_seconds:.1f} s to fill), "
          f"{args.runs} runs per page, p50 / p90 in ms:")
    for variant in [v for v in ("model_indexes", "proposed_indexes") if v in report]:
        print(f"  {variant}:")
        for name, r in report[variant]["timings"].items():
            print(f"    {name:38} {r['p50_ms']:7.1f} {r['p90_ms']:7.1f}   {r['path']}")
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
