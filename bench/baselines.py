"""Baselines: what a user would deploy instead of Herald, measured like Herald is.

1. Lateness with plain rq-scheduler + plain RQ workers. An `rqscheduler` process (run with
   its default interval, then with `--interval 1`) and `rq worker` processes (RQ's default,
   forking `Worker`; and, at 1 s, `SimpleWorker`, to show the scheduler's own share) publish
   N posts due over a window of seconds: each job
   (bench/baseline_jobs.py `post`) POSTs to a local HTTP receiver, which records when the
   request arrives. Lateness = arrival − due. Due times are spread evenly over the window,
   so most are not whole seconds (rq-scheduler keeps only whole seconds, rounded down).
2. Burst: N empty jobs (`noop`) already on the queue, then `rq worker --burst` processes
   started: time from starting them until the last job is finished, with RQ's default
   forking `Worker` and with its `SimpleWorker`.

Every run has its own private redis-server on a free port (started and stopped here; the
Redis on 6379 is never touched). Results go to bench/results/baselines.json.

    .venv/bin/python -m bench.baselines [--posts 2000] [--window 60] [--jobs 5000]
                                        [--workers 2] [--only lateness|burst]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis
from rq import Queue, Worker
from rq_scheduler import Scheduler

from bench import baseline_jobs
from tests.platforms import Webhook
from tests.servers import RedisServer

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent

# rq-scheduler's own default (`rqscheduler --interval`, and `Scheduler(interval=60)`).
DEFAULT_INTERVAL = "default (60 s)"


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Processes:
    """The subprocesses one run starts, each in its own session so that stopping it also
    stops what it forked (RQ's work horses); they are stopped by their own ids only."""

    def __init__(self, workdir: Path, redis_url: str):
        self.workdir = workdir
        # From the repository root, as the bench itself runs: the jobs are
        # `bench.baseline_jobs.*`, imported by that name in the workers.
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "RQ_REDIS_URL": redis_url}
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, *command: str) -> subprocess.Popen:
        with open(self.workdir / f"{name}-{len(self.started)}.log", "w") as log:
            process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append(process)
        return process

    def stop(self) -> None:
        for process in self.started:
            _signal_group(process, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process, signal.SIGKILL)
            process.wait(10)


def _signal_group(process: subprocess.Popen, sig) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def rq_worker(processes: Processes, redis_url: str, worker_class: str, burst=False):
    return processes.start(
        "worker", str(BIN / "rq"), "worker", "--url", redis_url, "--path", str(ROOT),
        "--worker-class", worker_class, "--logging_level", "WARNING",
        *(["--burst"] if burst else []))


def wait_for_workers(connection: Redis, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while Worker.count(connection=connection) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} RQ workers did not start")
        time.sleep(0.1)


def lateness(tmp: Path, interval: float | None, posts: int, window: float, workers: int,
             worker_class: str) -> dict:
    """Plain rq-scheduler (interval None: its default) and `workers` plain RQ workers."""
    name = f"{'default' if interval is None else f'{interval:g}s'}-{worker_class}"
    redis = RedisServer(tmp / f"redis-lateness-{name}").start()
    receiver = Webhook().start()
    processes = Processes(redis.workdir, redis.url)
    connection = Redis.from_url(redis.url)
    try:
        # The scheduler is already running when posts are scheduled, as in a deployment.
        scheduler_started = time.time()
        processes.start("scheduler", str(BIN / "rqscheduler"), "--url", redis.url, "--quiet",
                        *([] if interval is None else ["--interval", str(interval)]))
        for _ in range(workers):
            rq_worker(processes, redis.url, worker_class)
        wait_for_workers(connection, workers)

        scheduler = Scheduler(connection=connection)
        start = datetime.now(UTC) + timedelta(seconds=3 + posts / 500)
        due = {}
        for i in range(posts):
            # Aware UTC: rq_scheduler.utils.to_unix() takes utctimetuple(), right for aware
            # datetimes (a naive one would be read as UTC, whatever it meant).
            at = start + timedelta(seconds=window * i / posts)
            due[i] = at.timestamp()
            scheduler.enqueue_at(at, baseline_jobs.post, receiver.url, i, due[i])
        assert datetime.now(UTC) < start, "posts were not all scheduled before the first was due"

        # A post can wait up to one interval for the scheduler, then for the workers.
        deadline = start.timestamp() + window + (interval or 60) + 60
        while len(receiver.posts()) < posts and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(1)
        got = receiver.posts()
    finally:
        processes.stop()
        receiver.stop()
        redis.stop()
    numbers = [r.json()["number"] for r in got]
    late = [r.at - r.json()["due"] for r in got]
    early = [x for x in late if x < 0]
    return {
        "scheduler_interval": DEFAULT_INTERVAL if interval is None else f"{interval:g} s",
        "posts": posts, "window_seconds": window, "workers": workers,
        "worker_class": worker_class,
        "received": len(got), "lost": posts - len(set(numbers)),
        "duplicates": len(numbers) - len(set(numbers)),
        "p50": round(statistics.median(late), 3), "p95": round(percentile(late, 95), 3),
        "p99": round(percentile(late, 99), 3), "max": round(max(late), 3),
        "early": len(early), "most_early": round(-min(early), 3) if early else 0.0,
        "scheduler_started_before_first_due_seconds": round(
            start.timestamp() - scheduler_started, 1),
    }


def burst(tmp: Path, worker_class: str, jobs: int, workers: int) -> dict:
    """`jobs` empty jobs on the queue, then `workers` burst workers of `worker_class`."""
    redis = RedisServer(tmp / f"redis-burst-{worker_class}").start()
    processes = Processes(redis.workdir, redis.url)
    connection = Redis.from_url(redis.url)
    queue = Queue(connection=connection)
    try:
        for first in range(0, jobs, 1000):
            with connection.pipeline() as pipe:
                queue.enqueue_many([Queue.prepare_data(baseline_jobs.noop)
                                    for _ in range(first, min(jobs, first + 1000))],
                                   pipeline=pipe)
                pipe.execute()
        assert queue.count == jobs, queue.count
        began = time.perf_counter()
        started = [rq_worker(processes, redis.url, worker_class, burst=True)
                   for _ in range(workers)]
        # Finished jobs stay in the registry for RQ's default result TTL (500 s).
        while queue.finished_job_registry.get_job_count(cleanup=False) < jobs:
            if all(p.poll() is not None for p in started):
                break
            time.sleep(0.05)
        done_in = time.perf_counter() - began
        for process in started:
            process.wait(60)
        exited_in = time.perf_counter() - began
        finished = queue.finished_job_registry.get_job_count(cleanup=False)
        failed = queue.failed_job_registry.get_job_count(cleanup=False)
    finally:
        processes.stop()
        redis.stop()
    return {
        "worker_class": worker_class, "jobs": jobs, "worker_processes": workers,
        "finished": finished, "failed": failed,
        "all_done_seconds": round(done_in, 1),
        "jobs_per_second": round(finished / done_in, 1),
        "workers_exited_seconds": round(exited_in, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the posts span")
    parser.add_argument("--jobs", type=int, default=5000, help="empty jobs in the burst")
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    parser.add_argument("--only", choices=("lateness", "burst"))
    parser.add_argument("--out", default=str(BENCH / "results" / "baselines.json"))
    args = parser.parse_args()

    # Other work on the same cores slows the workers: the load is recorded with the figures.
    result = {"machine_cores": os.cpu_count(), "load_average_at_start": os.getloadavg()[0],
              "lateness": [], "burst": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.only != "burst":
            # RQ's default worker forks for every job; SimpleWorker shows what the
            # scheduler alone costs when the workers are not the limit.
            for interval, worker_class in ((None, "rq.worker.Worker"), (1.0, "rq.worker.Worker"),
                                           (1.0, "rq.worker.SimpleWorker")):
                run = lateness(tmp, interval, args.posts, args.window, args.workers,
                               worker_class)
                print(json.dumps(run))
                result["lateness"].append(run)
        if args.only != "lateness":
            for worker_class in ("rq.worker.Worker", "rq.worker.SimpleWorker"):
                run = burst(tmp, worker_class, args.jobs, args.workers)
                print(json.dumps(run))
                result["burst"].append(run)
    result["load_average_at_end"] = os.getloadavg()[0]
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")

    if result["lateness"]:
        print(f"\nLateness: {args.posts} posts over {args.window:g} s, rq-scheduler + "
              f"{args.workers} RQ worker processes, seconds")
        print(f"  {'scheduler interval':20} {'worker class':24} {'p50':>7} {'p95':>7} "
              f"{'p99':>7} {'max':>7} {'early':>6} {'most early':>10} {'lost':>5} {'dup':>4}")
        for r in result["lateness"]:
            print(f"  {r['scheduler_interval']:20} {r['worker_class']:24} {r['p50']:7.2f} "
                  f"{r['p95']:7.2f} {r['p99']:7.2f} {r['max']:7.2f} {r['early']:6} "
                  f"{r['most_early']:10.2f} {r['lost']:5} {r['duplicates']:4}")
    if result["burst"]:
        print(f"\nBurst: {args.jobs} empty jobs, {args.workers} worker processes")
        print(f"  {'worker class':24} {'all done':>9} {'jobs/s':>7} {'failed':>7}")
        for r in result["burst"]:
            print(f"  {r['worker_class']:24} {r['all_done_seconds']:8.1f}s "
                  f"{r['jobs_per_second']:7.1f} {r['failed']:7}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
