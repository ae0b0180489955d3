"""Server-side time of the calendar's month view for a workspace with 2,000 posts in that
month (1,900 one-off posts and 100 weekly ones, some published or failed, over three
channels and two campaigns), next to another workspace's 300 posts that must not show.

The workspace is built through the services in a temporary SQLite database; GET
/calendar?view=month is then timed with Flask's test client (p50 of 20 runs after 3
warm-up runs, wall time and this process's CPU time), counting the SQL statements each
request runs.

    .venv/bin/python -m bench.calendar_month [--posts 2000] [--runs 20]
"""

import argparse
import json
import os
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, update

from webapp import create_app
from webapp.extensions import db
from webapp.models import Campaign, Channel, Delivery
from webapp.services import posts
from webapp.services.accounts import create_user
from webapp.web.sessions import add_sign_in

ROOT = Path(__file__).resolve().parent.parent

ZONE = "Europe/Berlin"



def next_month(today: date) -> date:
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


def build(app, n_posts: int, month: date) -> int:
    """The workspace; returns the user id."""
    rng = random.Random(3)
    with app.app_context():
        db.create_all()
        user, ws = create_user("bench@example.com", "correct horse", "Bench", "admin", ZONE)
        other, other_ws = create_user("other@example.com", "correct horse", "Other", "admin")
        channels = [Channel(workspace_id=ws.id, name=f"Channel {i}", platform="webhook",
                            color=color, config={"url": "http://127.0.0.1:9/"})
                    for i, color in enumerate(("#ef4444", "#10b981", "#3b82f6"), 1)]
        theirs = Channel(workspace_id=other_ws.id, name="Theirs", platform="webhook",
                         config={"url": "http://127.0.0.1:9/"})
        campaigns = [Campaign(workspace_id=ws.id, name=f"Campaign {i}", color=c)
                     for i, c in enumerate(("#8b5cf6", "#f59e0b"), 1)]
        db.session.add_all([*channels, theirs, *campaigns])
        db.session.commit()
        days = (next_month(month) - month).days
        weekly = n_posts // 20

        def at(i):
            day = month + timedelta(days=rng.randrange(days))
            return f"{day.isoformat()}T{rng.randrange(6, 22):02d}:{rng.choice((0, 15, 30, 45)):02d}"

        for i in range(n_posts):
            chosen = rng.sample(channels, rng.choice((1, 1, 2, 3)))
            schedule = {"at": at(i), "timezone": ZONE}
            if i < weekly:
                # Starts in the first week, so its later occurrences are expanded, not rows.
                schedule["at"] = f"{(month + timedelta(days=i % 7)).isoformat()}T09:00"
                schedule["recurrence"] = "weekly"
            posts.create(ws.id, user.id, {
                "title": f"Post {i}", "body": f"Bench post number {i}.",
                "channel_ids": [c.id for c in chosen], "schedule": schedule,
                "campaign_id": campaigns[i % 2].id if i % 3 else None})
        for i in range(300):
            posts.create(other_ws.id, other.id, {"body": f"Not yours {i}",
                                                 "channel_ids": [theirs.id],
                                                 "schedule": {"at": at(i), "timezone": "UTC"}})
        # Some history: published and failed deliveries colour the month too.
        ids = [d for d, in db.session.query(Delivery.id).filter(
            Delivery.workspace_id == ws.id).all()]
        rng.shuffle(ids)
        db.session.execute(update(Delivery).where(Delivery.id.in_(ids[:300])).values(
            status="published", attempts=1, finished_at=datetime.now(UTC)))
        db.session.execute(update(Delivery).where(Delivery.id.in_(ids[300:400])).values(
            status="failed", attempts=1, last_error="HTTP 500"))
        db.session.commit()
        return user.id


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "calendar_month.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                          "SECRET_KEY": "bench", "REDIS_URL": "redis://127.0.0.1:1/0"})
        month = next_month(datetime.now(UTC).date())
        began = time.monotonic()
        user_id = build(app, args.posts, month)
        built_in = time.monotonic() - began

        statements = []
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute",
                         lambda *a, **k: statements.append(1))
        client = app.test_client()
        with app.app_context():
            key, _ = add_sign_in(user_id)
            cookie_value = f"{user_id}:{key}"  # what the session carries
        with client.session_transaction() as session:
            session["_user_id"] = cookie_value
            session["_fresh"] = True
        url = f"/calendar?view=month&date={month.isoformat()}&tz={ZONE}"

        def get():
            statements.clear()
            start, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            assert response.status_code == 200, response.status_code
            return elapsed, cpu, response

        for _ in range(3):
            *_, response = get()
        body = response.get_data(as_text=True)
        runs = [get()[:2] for _ in range(args.runs)]
        times = [wall for wall, _ in runs]
        # CPU time of this process: what the request costs, even when other work shares
        # the cores (wall time then also counts the waits for a core).
        cpu_times = [cpu for _, cpu in runs]
        queries = len(statements)
        items = len(re.findall(r'<li class="cal-item ', body))
        in_month = len(set(re.findall(r'data-ref="[ds]-(?:(\d+)-\d+|\d+)-\d+"', body)))
        assert "Not yours" not in body
        result = {
            "posts_in_month": args.posts, "items_rendered": items,
            "other_workspace_posts": 300, "runs": args.runs,
            "p50_ms": round(statistics.median(times) * 1000, 1),
            "min_ms": round(min(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1),
            "cpu_p50_ms": round(statistics.median(cpu_times) * 1000, 1),
            "load_average": os.getloadavg()[0],
            "sql_statements_per_request": queries, "html_bytes": len(body.encode()),
            "build_seconds": round(built_in, 1), "database": "sqlite", "url": url,
            "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        }
        del in_month
    print(f"month view, {args.posts} posts ({result['items_rendered']} items): "
          f"p50 {result['p50_ms']} ms (min {result['min_ms']}, max {result['max_ms']}), "
          f"CPU p50 {result['cpu_p50_ms']} ms, {queries} SQL statements per request, "
          f"load average {result['load_average']:.1f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
