"""Top of the hour: thousands of deliveries due in the same second, with the real stack (web
API → database → scheduler → workers → a local HTTP receiver, bench/receiver.py). Reports
how long after the due second the last one was received, lateness percentiles, lost and
duplicated deliveries, and the resident memory of the web and worker processes after the
burst.

    .venv/bin/python -m bench.burst --channels 50 --posts 100 --workers 2

Each post goes to every channel: 100 posts × 50 channels = 5,000 deliveries.
"""

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.lateness import percentile, write_result
from bench.receiver import Receiver
from tests.servers import RedisServer
from tests.stack import Stack

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def group_rss(pgid: int) -> list[float]:
    """Resident memory of each process in a process group (a gunicorn master and its
    worker, say), in MB."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().split(b"\0")[0]
            if int(fields[2]) == pgid and b"python" in command:
                found.append(round(rss_mb(int(entry.name)), 1))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--posts", type=int, default=100, help="each goes to every channel")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "burst.json"))
    args = parser.parse_args()
    total = args.channels * args.posts

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        redis = RedisServer(tmp / "redis").start()
        receiver = Receiver().start()
        stack = Stack(tmp, redis.url)
        try:
            stack.up(workers=args.workers)
            channel_ids = [stack.api("POST", "/channels", json={
                "name": f"channel {i}", "platform": "webhook",
                "config": {"url": f"{receiver.url}/c{i}"}}).json()["id"]
                for i in range(args.channels)]
            due = datetime.now(UTC).replace(microsecond=0) + timedelta(
                seconds=30 + args.posts / 5)
            at = due.replace(tzinfo=None).isoformat(timespec="seconds")
            for i in range(args.posts):
                response = stack.api("POST", "/posts", timeout=60, json={
                    "body": f"post {i}", "channel_ids": channel_ids,
                    "schedule": {"at": at, "timezone": "UTC"}})
                assert response.status_code == 201, response.text
            assert datetime.now(UTC) < due - timedelta(seconds=10), "created too late"

            deadline = due.timestamp() + 120
            while len(receiver.arrivals) < total and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(2)  # anything arriving twice would arrive now
            got = list(receiver.arrivals)
            keys = [r.idempotency_key for r in got]
            bodies = [(r.path, r.body) for r in got]
            lateness = [r.at - due.timestamp() for r in got]
            rss = {name: [mb for p in processes for mb in group_rss(p.pid)]
                   for name, processes in stack.processes.items()}
            result = {
                "deliveries": total, "channels": args.channels, "posts": args.posts,
                "workers": args.workers, "received": len(got),
                "lost": total - len(set(keys)),
                "duplicates_by_key": len(keys) - len(set(keys)),
                "duplicates_by_content": len(bodies) - len(set(bodies)),
                "early": sum(1 for x in lateness if x < 0),
                "last_received_after_due_s": round(max(lateness), 2) if got else None,
                "p50": round(statistics.median(lateness), 2) if got else None,
                "p99": round(percentile(lateness, 99), 2) if got else None,
                "rss_mb_after_burst": rss,
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        finally:
            stack.down()
            receiver.stop()
            redis.stop()
    write_result(result, args.out)


if __name__ == "__main__":
    main()
