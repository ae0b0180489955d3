"""Bulk scheduling through the real HTTP path: a CSV file of 10,000 posts uploaded to the
import page of a running web process (gunicorn, the Procfile's `web`), then the planner
writing their deliveries.

A private environment is set up in a temporary directory: a SQLite database migrated with
the release step, a private redis-server on a free port, a user and 50 webhook channels
(made through the JSON API). Only the web process runs, so nothing else writes deliveries
while the planner is measured.

1. Import: a signed-in requests.Session fetches the form's CSRF token, then POSTs the file;
   the wall time is from sending the request to receiving the response (a redirect to the
   result page), and the web process's CPU time over that request is read from /proc (it
   does not grow when other work shares the cores). Posts are spread evenly over the next
   `--days` days, on 1 to 3 channels each, with local times in a few zones.
2. Planner: passes of `planner.plan()` in this process, back to back, until every delivery
   of those posts (all due within the planner's 7-day window) is written. In production the
   scheduler process runs one pass every HERALD_PLANNER_INTERVAL (5 s).

Figures are printed and written to bench/results/bulk_schedule.json.

    .venv/bin/python -m bench.bulk_schedule [--posts 10000] [--channels 50] [--days 6]
"""

import argparse
import csv
import io
import json
import os
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select

from tests.servers import RedisServer
from tests.stack import Stack
from webapp import create_app
from webapp.engine import planner
from webapp.extensions import db
from webapp.models import Delivery

ROOT = Path(__file__).resolve().parent.parent

EMAIL, PASSWORD = "bench@example.com", "bench-password"
# The user's own zone (an empty cell) and three others, in turn.
ZONES = ["", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def build_csv(posts: int, channels: list[str], days: float) -> tuple[bytes, int]:
    """The file, and how many deliveries its posts make (one per post and channel)."""
    # Far enough ahead that none falls due while the bench runs, and inside the window.
    start = datetime.now(UTC) + timedelta(minutes=15)
    step = timedelta(days=days) / posts
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["title", "body", "at", "timezone", "channels"])
    deliveries = 0
    for i in range(posts):
        zone = ZONES[i % len(ZONES)]
        local = (start + i * step).astimezone(ZoneInfo(zone or "UTC"))
        chosen = [channels[(i + k) % len(channels)] for k in range(i % 3 + 1)]
        deliveries += len(chosen)
        writer.writerow([f"Bulk {i}", f"Bulk post number {i}, scheduled from a CSV file.",
                         local.strftime("%Y-%m-%d %H:%M"), zone, ";".join(chosen)])
    return out.getvalue().encode(), deliveries


def token_from(session: requests.Session, url: str) -> str:
    response = session.get(url, timeout=30)
    response.raise_for_status()
    return TOKEN.search(response.text).group(1)


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or busy starting
        time.sleep(0.2)
    raise RuntimeError("the web process did not start")


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of the processes of a process group, from /proc (Linux):
    what the web process spent, whatever else shares the machine."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # After the command name: state, ppid, pgrp, ..., utime (12th), stime (13th).
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def import_over_http(stack: Stack, content: bytes) -> dict:
    session = requests.Session()
    response = session.post(f"{stack.base}/login", timeout=30, allow_redirects=False, data={
        "email": EMAIL, "password": PASSWORD, "csrf_token": token_from(session,
                                                                       f"{stack.base}/login")})
    assert response.status_code == 302, response.status_code
    token = token_from(session, f"{stack.base}/posts/import")
    web = stack.processes["web"][0].pid  # its own session: the group is the web process
    cpu = group_cpu_seconds(web)
    started = time.perf_counter()
    response = session.post(f"{stack.base}/posts/import", timeout=120, allow_redirects=False,
                            data={"csrf_token": token},
                            files={"file": ("bulk.csv", content, "text/csv")})
    seconds = time.perf_counter() - started
    cpu = group_cpu_seconds(web) - cpu
    assert response.status_code == 303, (response.status_code, response.text[:3000])
    result = session.get(stack.base + response.headers["Location"], timeout=30).text
    summary = re.search(r"([\d,]+) posts scheduled and\s+([\d,]+) drafts? saved", result)
    return {"seconds": seconds, "cpu_seconds": cpu, "summary": " ".join(summary.group(0).split())}


def plan_until_written(stack: Stack, redis_url: str, expected: int) -> dict:
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{stack.workdir / 'herald.db'}",
                      "REDIS_URL": redis_url, "SECRET_KEY": "e2e-secret"})
    passes = []
    with app.app_context():
        written = 0
        started = time.perf_counter()
        while written < expected:
            began = time.perf_counter()
            done = planner.plan()
            passes.append({"seconds": round(time.perf_counter() - began, 3), **done})
            written = db.session.scalar(select(func.count()).select_from(Delivery))
            if not done["materialized"]:
                break  # nothing more to write: some posts are outside the window
        total = time.perf_counter() - started
        db.session.remove()
    return {"seconds": total, "passes": passes, "written": written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--days", type=float, default=6.0,
                        help="the posts are spread over this many days (at most 7: the "
                             "planner writes deliveries 7 days ahead)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "bulk_schedule.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        redis = RedisServer(tmp / "redis").start()
        stack = Stack(tmp, redis.url)
        try:
            stack.flask("db", "upgrade")  # the release step
            stack.flask("users", "create", EMAIL, "--password", PASSWORD)
            stack.token = stack.flask("tokens", "create", EMAIL).strip().splitlines()[-1]
            stack.start("web")
            wait_ready(stack.base)
            names = []
            for i in range(args.channels):
                response = stack.api("POST", "/channels", json={
                    "name": f"Hook {i:02d}", "platform": "webhook",
                    "config": {"url": f"http://127.0.0.1:9/hook/{i}"}})
                assert response.status_code == 201, response.text
                names.append(response.json()["name"])
            content, expected = build_csv(args.posts, names, args.days)
            imported = import_over_http(stack, content)
            planned = plan_until_written(stack, redis.url, expected)
        finally:
            stack.down()
            redis.stop()

    seconds = imported["seconds"]
    result = {
        "posts": args.posts, "channels": args.channels, "days": args.days,
        "csv_bytes": len(content), "result_page": imported["summary"],
        "import_seconds": round(seconds, 3), "rows_per_second": round(args.posts / seconds),
        "import_web_cpu_seconds": round(imported["cpu_seconds"], 2),
        "deliveries_expected": expected, "deliveries_written": planned["written"],
        "planner_seconds": round(planned["seconds"], 2),
        "planner_passes": len(planned["passes"]), "passes": planned["passes"],
        "database": "sqlite", "web": "gunicorn, 1 worker process, 4 threads",
        # This machine is shared: how busy it was, over the last 1, 5 and 15 minutes.
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"import of {args.posts:,} posts over HTTP ({len(content) / 2**20:.1f} MB of CSV): "
          f"{seconds:.2f} s, {result['rows_per_second']:,} rows/s ({imported['summary']}); "
          f"the web process used {imported['cpu_seconds']:.2f} s of CPU")
    print(f"planner: {planned['written']:,} of {expected:,} deliveries written in "
          f"{planned['seconds']:.1f} s over {len(planned['passes'])} passes back to back")
    print(f"load average (1, 5, 15 min): {result['load_average']}; written to "
          f"{Path(args.out).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
