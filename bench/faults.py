"""Fault injection against the real stack, with Herald's default timers: workers SIGKILLed
mid-publish and SIGTERMed during a deploy, Redis flushed, restarted and frozen for 30 s,
two schedulers with four workers, a platform answering 500 / 429 Retry-After: 120 /
hanging for 300 s, posts cancelled or moved a second before their time, DST under three
TZ settings. Each scenario gets a fresh stack (web, workers, scheduler from the Procfile,
a private redis-server, a SQLite file) and a local webhook endpoint that counts what it
receives by Idempotency-Key and by content.

    .venv/bin/python -m bench.faults                 # everything (about 5½ minutes)
    .venv/bin/python -m bench.faults --only flushall restart

The same scenarios, with short timers, are the tests in tests/reliability/. Results go
to bench/results/faults.json; docs/reliability.md records them.
"""

import argparse
import json
import subprocess
import tempfile
import threading
import time
import traceback
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from tests.reliability import scenarios
from tests.reliability.harness import Mailbox, Receiver, running_stack

ROOT = Path(__file__).resolve().parent.parent

# Only the retry delays are shortened (the default 60, 300, 1800 s would take half an
# hour per failing post); everything else is Herald's default.
RETRY_DELAYS = "1,2"
TZ_SETTINGS = ("UTC", "America/Los_Angeles", "Asia/Kolkata")


def _one(stack_options, run):
    def scenario(tmp):
        receiver = Receiver().start()
        try:
            with running_stack(tmp, **stack_options) as stack:
                return run(stack, receiver)
        finally:
            receiver.stop()
    return scenario


def platform_failing(tmp):
    receiver, mailbox = Receiver().start(), Mailbox().start()
    env = {"HERALD_RETRY_DELAYS": RETRY_DELAYS, "SMTP_URL": mailbox.url}
    try:
        with running_stack(tmp, env=env) as stack:
            return scenarios.platform_failing(
                stack, receiver, mailbox, retry_delays=[1, 2], http_timeout=30.0,
                retry_after=120, hang=300, quiet=30, timeout=420)
    finally:
        receiver.stop()
        mailbox.stop()


def dst(tmp):
    receiver = Receiver().start()
    try:
        with ExitStack() as running:
            stacks = {tz: running.enter_context(running_stack(
                tmp / tz.replace("/", "_"), workers=1, env={"TZ": tz}, shared=tmp.parent))
                for tz in TZ_SETTINGS}
            return scenarios.dst_three_zones(stacks, receiver)
    finally:
        receiver.stop()


SCENARIOS = {
    "sigkill_held": _one({}, scenarios.sigkill_while_held),
    "sigkill_answered": _one({}, scenarios.sigkill_before_status_saved),
    "sigterm_deploy": _one({"workers": 1}, scenarios.sigterm_during_deploy),
    "flushall": _one({}, scenarios.redis_flushall),
    # Stopped while the workers are idle, for 4 s covering the first posts' time.
    "restart": _one({}, lambda stack, receiver: scenarios.redis_restart(
        stack, receiver, stop_at=-3, down=4)),
    # Stopped while posts are going out (jobs running), for 3 s.
    "restart_midstream": _one({}, lambda stack, receiver: scenarios.redis_restart(
        stack, receiver, stop_at=1.5, down=3, create_while_down=0, timeout=60)),
    "outage_mid_job": _one({}, scenarios.redis_outage_mid_job),
    # A slow platform (25 s, under the 30 s HTTP timeout) and Redis restarted empty 21 s
    # into the request (down 2 s): the live worker's heartbeat is gone until its next beat.
    "slow_request_restart": _one({}, lambda stack, receiver:
                                 scenarios.redis_lost_during_a_slow_request(
                                     stack, receiver, answer_after=25, fault_at=21)),
    "frozen": _one({}, lambda stack, receiver: scenarios.redis_frozen(
        stack, receiver, frozen=30, timeout=180)),
    "many": _one({"workers": 4, "schedulers": 2}, scenarios.many_processes),
    "platform_failing": platform_failing,
    "cancel_move": _one({}, scenarios.cancel_or_move_late),
    "dst": dst,
}
# Mostly waiting (Retry-After: 120, a 300 s hang): run beside the others.
BESIDE = {"platform_failing"}


def run(name, tmp, results):
    started = time.monotonic()
    print(f"{name}: running", flush=True)
    try:
        results[name] = SCENARIOS[name](tmp / name)
    except Exception as exc:
        traceback.print_exc()
        results[name] = {"error": f"{type(exc).__name__}: {str(exc)[:2000]}"}
    results[name]["seconds"] = round(time.monotonic() - started, 1)
    results[name]["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results[name]["revision"] = revision()
    print(f"{name}: done in {results[name]['seconds']} s", flush=True)


def row(name, r):
    if "error" in r:
        return f"{name:<18} ERROR {r['error'].splitlines()[0][:100]}"
    if "posts" not in r:
        return None
    extra = {k: r[k] for k in ("schedule_answers_while_down", "schedule_answers_while_frozen",
                               "workers_died", "worker_in_the_job_survived",
                               "recorded_published_after_kill_s", "resent_after_s",
                               "unsettled")
             if r.get(k) not in (None, [])}
    return (f"{name:<18} {r['exactly_once']:>3}/{r['posts']:<3} lost {r['lost']:<2} "
            f"dup key/content {r['duplicates_by_key']}/{r['duplicates_by_content']} "
            f"new-key {r['new_key_duplicates']} cancelled-received "
            f"{r['received_but_cancelled']} early {r['early']} "
            f"max lateness {r['max_lateness_s']} s, recorded {r['max_recorded_s']} s"
            + (f"\n{'':<19}{json.dumps(extra)}" if extra else ""))


def report(results):
    print()
    for name, r in results.items():
        if name in ("measured_at", "revision"):
            continue
        line = row(name, r)
        if line:
            print(line)
        if name == "platform_failing" and "error" not in r:
            for mode in ("e-500", "e-429", "e-hang"):
                m = r[mode]
                print(f"  {mode:<8} requests {m['requests']}/{m['allowed']} gaps {m['gaps_s']} "
                      f"after failed {m['requests_after_failed']} notifications "
                      f"{m['in_app_notifications']} e-mails {m['emails']}")
            print("  " + row("bystanders", r["bystanders"]))
        if name == "dst" and "error" not in r:
            print(f"  identical UTC times under {r['tz_settings']}: {r['far_identical']}; "
                  f"rule: {r['far_matches_rule']}")
            for tz, near in r["near"].items():
                print("  " + row(tz, near))


def revision() -> str:
    """The commit measured, with "+changes" when the working tree differs from it."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout
    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no",
                                     "webapp", "worker.py", "migrations").strip() else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--sequential", action="store_true",
                        help="run the slow waiting scenarios in turn too")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "faults.json")
    args = parser.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        beside = [] if args.sequential else [
            threading.Thread(target=run, args=(name, tmp, results))
            for name in args.only if name in BESIDE]
        for thread in beside:
            thread.start()
        for name in args.only:
            if args.sequential or name not in BESIDE:
                run(name, tmp, results)
        for thread in beside:
            thread.join()
    ordered = {name: results[name] for name in args.only}
    ordered["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    ordered["revision"] = revision()
    report(ordered)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.exists() and set(args.only) != set(SCENARIOS):
        # A partial run updates its scenarios in the existing file (each scenario keeps
        # its own measured_at and revision; the top-level ones say when the file changed).
        ordered = {**json.loads(args.out.read_text()), **ordered}
    args.out.write_text(json.dumps(ordered, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
