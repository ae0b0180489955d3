"""The fault-injection scenarios, each a function of a running stack and a receiver that
returns what it measured. The tests in this package run them with short timers and assert
on the figures; bench/faults.py runs them with Herald's defaults (and the slow variants) and
records the figures.

Every scenario uses its own paths on the receiver (one channel each), so several can share
a stack one after the other.
"""

import signal
import threading
import time

import redis as redis_lib
import requests

from tests.reliability.harness import (
    Mailbox,
    Planned,
    Receiver,
    failure_notifications,
    killed,
    lead,
    next_second,
    owner_of,
    parse_instant,
    running,
    schedule,
    settle,
    sleep_until,
    tally,
    unique,
    wait_for,
    wall,
    webhook_channel,
    write_lock,
)
from tests.stack import Stack


def _bystanders(stack, receiver, path, n, after=1.0, spacing=0.5):
    """Posts on a channel of their own, due while a fault is being handled: they must
    still go out on time."""
    channel = webhook_channel(stack, receiver, path)
    start = next_second(lead(n, after))
    return [schedule(stack, channel, unique(f"{path[1:]}-{i}"), start + int(i * spacing))
            for i in range(n)]


def _held_request(stack, receiver, path, ahead=3.0):
    """One post whose first request the receiver holds (no answer yet); returns the post
    and the request once it has arrived."""
    how = receiver.behave(path, hold=1)
    channel = webhook_channel(stack, receiver, path)
    post = schedule(stack, channel, unique(path[1:]), next_second(ahead))
    request = wait_for(lambda: receiver.on(path), ahead + 20, f"the request on {path}",
                       stack)[0]
    return post, request, how


def _recovery(stack, post, since: float) -> float | None:
    rows = stack.api("GET", f"/posts/{post.post_id}").json()["deliveries"]
    done = [parse_instant(d["finished_at"]) for d in rows if d["status"] == "published"]
    return round(max(done) - since, 2) if done else None


def sigkill_while_held(stack: Stack, receiver: Receiver, timeout: float = 90) -> dict:
    """a. The platform has the request and has not answered when the worker sending it is
    SIGKILLed; a supervisor starts a new worker. Other posts fall due meanwhile."""
    post, request, how = _held_request(stack, receiver, "/a1-held")
    killed(owner_of(stack, request.client_port))
    killed_at = time.time()
    how.gate.set()  # the platform finishes its side; nobody is listening any more
    stack.start("worker")
    others = _bystanders(stack, receiver, "/a1-others", 6)
    unsettled = settle(stack, [post, *others], timeout)
    result = {"scenario": "sigkill_while_platform_holds_request", **tally(
        stack, receiver, [post, *others], unsettled)}
    result["held"] = tally(stack, receiver, [post])
    result["bystanders"] = tally(stack, receiver, others)
    result["recorded_published_after_kill_s"] = _recovery(stack, post, killed_at)
    result["attempts"] = stack.api("GET", f"/posts/{post.post_id}").json()[
        "deliveries"][0]["attempts"]
    return result


def sigkill_before_status_saved(stack: Stack, receiver: Receiver, timeout: float = 90) -> dict:
    """a. The platform answered, but the worker cannot save the status: the test holds
    SQLite's write lock (BEGIN IMMEDIATE), lets the platform answer, SIGKILLs the worker
    while it waits for the lock, then releases the lock."""
    post, request, how = _held_request(stack, receiver, "/a2-answered")
    victim = owner_of(stack, request.client_port)
    key = request.headers["Idempotency-Key"]
    with write_lock(stack.database):
        how.gate.set()
        wait_for(lambda: key in receiver.answered, 10, "the platform's answer")
        time.sleep(1.0)  # the worker has the answer and waits for the lock to save it
        killed(victim)
        killed_at = time.time()
    stack.start("worker")
    unsettled = settle(stack, [post], timeout)
    result = {"scenario": "sigkill_after_answer_before_status_saved",
              **tally(stack, receiver, [post], unsettled)}
    result["recorded_published_after_kill_s"] = _recovery(stack, post, killed_at)
    result["attempts"] = stack.api("GET", f"/posts/{post.post_id}").json()[
        "deliveries"][0]["attempts"]
    return result


def sigterm_during_deploy(stack: Stack, receiver: Receiver, n: int = 20,
                          timeout: float = 90) -> dict:
    """b. A deploy: a second worker starts, then the first gets SIGTERM (warm shutdown)
    while posts are going out (the platform takes 0.2 s per request)."""
    path = "/b-deploy"
    receiver.behave(path, delay=0.2)
    channel = webhook_channel(stack, receiver, path)
    start = next_second(lead(n, 3))
    planned = [schedule(stack, channel, unique(f"b-{i}"), start + i * 5 // n)
               for i in range(n)]
    old = running(stack, "worker")[0]
    stack.start("worker")
    stack.wait_healthy(len(running(stack, "worker")))
    wait_for(lambda: len(receiver.on(path)) >= 3, 30, "posts going out", stack)
    stopped_after = killed(old, signal.SIGTERM)
    unsettled = settle(stack, planned, timeout)
    log = (stack.workdir / f"worker-{stack.processes['worker'].index(old)}.log").read_text()
    asked = log.find("warm shut down requested")
    return {"scenario": "sigterm_warm_shutdown_during_deploy",
            **tally(stack, receiver, planned, unsettled),
            "old_worker_stopped_after_s": round(stopped_after, 2),
            "old_worker_warm_shutdown": asked >= 0,
            # RQ logs "Job OK" when a job ends: one after the request means it was busy.
            "old_worker_finished_a_job_after_sigterm": asked >= 0 and "Job OK" in log[asked:]}


def _spread(stack, receiver, path, n, ahead, over):
    channel = webhook_channel(stack, receiver, path)
    start = next_second(lead(n, ahead))
    return start, [schedule(stack, channel, unique(f"{path[1:]}-{i}"), start + i * over // n)
                   for i in range(n)]


def redis_flushall(stack: Stack, receiver: Receiver, n: int = 20, over: int = 5,
                   timeout: float = 90) -> dict:
    """c. FLUSHALL on the private Redis while posts are due (over `over` seconds): some
    already sent, some jobs on the queue, the rest waiting in rq-scheduler."""
    start, planned = _spread(stack, receiver, "/c-flushall", n, 3, over)
    sleep_until(start + 1.5)
    redis_lib.Redis.from_url(stack.redis.url).flushall()
    flushed = time.time()
    unsettled = settle(stack, planned, timeout)
    result = tally(stack, receiver, planned, unsettled)
    late = [p for p in planned if p.due >= flushed]
    return {"scenario": "redis_flushall", **result,
            "due_after_fault": len(late)}


def _schedule_while(stack, channel, body, due, timeout) -> tuple[dict, Planned]:
    """Make a post while Redis is unavailable; returns the answer and the post (its id -1
    when the answer was not 201: it is looked up by body afterwards)."""
    began = time.monotonic()
    try:
        response = stack.api("POST", "/posts", timeout=timeout, json={
            "body": body, "channel_ids": [channel],
            "schedule": {"at": wall(due), "timezone": "UTC"}})
        status = response.status_code
    except requests.RequestException as exc:
        response, status = None, type(exc).__name__
    answer = {"status": status, "seconds": round(time.monotonic() - began, 2),
              "due_in_s": round(due - time.time(), 1)}
    return answer, Planned(response.json()["id"] if status == 201 else -1, channel, body, due)


def _find_by_body(stack, planned) -> None:
    if any(p.post_id == -1 for p in planned):
        found = {p["body"]: p["id"] for p in stack.api(
            "GET", "/posts?per_page=200").json()["items"]}
        for p in planned:
            if p.post_id == -1:
                p.post_id = found.get(p.body, -1)


def redis_restart(stack: Stack, receiver: Receiver, n: int = 20, down: float = 3.0,
                  over: int = 6, stop_at: float = 1.5, create_while_down: int = 1,
                  timeout: float = 90) -> dict:
    """c. Redis stopped (no persistence: every job and heartbeat gone) `stop_at` seconds
    after the first of `n` posts spread over `over` seconds is due (negative: before),
    and started again `down` seconds later on the same port. Posts made while it is down
    (due a second or two later) must be accepted. Workers must live through it."""
    path = "/c-restart"
    start, planned = _spread(stack, receiver, path, n, 3 + max(0, -stop_at), over)
    channel = planned[0].channel_id
    workers = running(stack, "worker")
    sleep_until(start + stop_at)
    stack.redis.stop()
    stopped = time.time()
    answers = []
    for i in range(create_while_down):
        answer, post = _schedule_while(stack, channel, unique(f"c-restart-new-{i}"),
                                       next_second(1.5), timeout=down + 30)
        answers.append(answer)
        planned.append(post)
    sleep_until(stopped + down)
    stack.redis.start()
    back = time.time()
    _find_by_body(stack, planned)
    unsettled = settle(stack, [p for p in planned if p.post_id != -1], timeout)
    return {"scenario": "redis_stopped_and_restarted",
            **tally(stack, receiver, planned, unsettled),
            "down_s": down, "schedule_answers_while_down": answers,
            "workers_died": sum(w.poll() is not None for w in workers),
            "published_within_s_of_restart": round(max(
                (r.at for r in receiver.on(path)), default=back) - back, 2)}


def redis_outage_mid_job(stack: Stack, receiver: Receiver, down: float = 3.0, after: int = 4,
                         timeout: float = 60) -> dict:
    """c. Redis goes away while a worker is inside a publishing job (the platform holds
    the request until Redis is gone) and comes back `down` seconds later. The worker must
    live through it; `after` posts made once Redis is back must go out."""
    post, request, how = _held_request(stack, receiver, "/c-midjob")
    victim = owner_of(stack, request.client_port)
    stack.redis.stop()
    how.gate.set()  # the job ends while Redis is gone: RQ cannot record it
    time.sleep(down)
    stack.redis.start()
    time.sleep(5)  # reconnecting
    later = _bystanders(stack, receiver, "/c-midjob-after", after, spacing=0)
    unsettled = settle(stack, [post, *later], timeout)
    return {"scenario": "redis_down_while_a_job_runs",
            **tally(stack, receiver, [post, *later], unsettled),
            "worker_in_the_job_survived": victim.poll() is None,
            "workers_alive": len(running(stack, "worker"))}


def redis_lost_during_a_slow_request(stack: Stack, receiver: Receiver, *,
                                     answer_after: float, fault_at: float,
                                     fault: str = "restart", fault_for: float = 2.0,
                                     timeout: float = 90) -> dict:
    """c. The platform takes `answer_after` seconds to answer (under the HTTP timeout).
    `fault_at` seconds into the request Redis loses its data: restarted empty after being
    down `fault_for` seconds (`fault="restart"`), or flushed every 0.1 s for `fault_for`
    seconds (`"flushall"`). Either wipes the live worker's heartbeat for a while; the
    planner must not take the live worker's delivery for abandoned and send it again."""
    path = "/c-slow"
    how = receiver.behave(path, delay=answer_after)
    channel = webhook_channel(stack, receiver, path)
    post = schedule(stack, channel, unique("c-slow"), next_second(lead(1, 2)))
    request = wait_for(lambda: receiver.on(path), 30, "the slow request", stack)[0]
    sleep_until(request.at + fault_at)
    if fault == "restart":
        stack.redis.stop()
        time.sleep(fault_for)
        stack.redis.start()
    else:
        client = redis_lib.Redis.from_url(stack.redis.url)
        while time.time() < request.at + fault_at + fault_for:
            client.flushall()
            time.sleep(0.1)
    sleep_until(request.at + answer_after + 0.5)
    how.delay = 0  # a resend still to come is answered at once
    unsettled = settle(stack, [post], timeout, quiet=3)
    row = stack.api("GET", f"/posts/{post.post_id}").json()["deliveries"][0]
    got = receiver.on(path)
    return {"scenario": "redis_lost_during_a_slow_request",
            **tally(stack, receiver, [post], unsettled), "fault": fault,
            "answer_after_s": answer_after, "fault_at_s": fault_at, "fault_for_s": fault_for,
            "resent_after_s": [round(r.at - request.at, 2) for r in got[1:]],
            "attempts": row["attempts"]}


def redis_frozen(stack: Stack, receiver: Receiver, frozen: float = 30.0, n: int = 10,
                 created_while_frozen: int = 4, timeout: float = 120) -> dict:
    """c. Redis frozen (SIGSTOP: connections stay open, nothing answers) for `frozen`
    seconds while posts fall due. Posts made while it is frozen (from several clients at
    once; half due a second or two later, half after the thaw) must be accepted (201);
    after SIGCONT everything goes out once."""
    path = "/c-frozen"
    channel = webhook_channel(stack, receiver, path)
    start = next_second(lead(n, 2))
    planned = [schedule(stack, channel, unique(f"c-frozen-{i}"), start + 1 + i * 4 // n)
               for i in range(n)]
    sleep_until(start)
    stack.redis.freeze()
    frozen_at = time.time()
    answers: list[dict] = []

    def create(i):
        due = next_second(1.5) if i % 2 == 0 else float(int(frozen_at + frozen) + 2 + i // 2)
        answer, post = _schedule_while(stack, channel, unique(f"c-frozen-new-{i}"), due,
                                       timeout=frozen + 30)
        answers.append(answer)
        planned.append(post)

    clients = [threading.Thread(target=create, args=(i,)) for i in range(created_while_frozen)]
    try:
        for client in clients:
            client.start()
        sleep_until(frozen_at + frozen)
    finally:
        stack.redis.thaw()
    thawed = time.time()
    for client in clients:
        client.join(60)
    _find_by_body(stack, planned)
    unsettled = settle(stack, [p for p in planned if p.post_id != -1], timeout)
    got = receiver.on(path)
    return {"scenario": "redis_frozen", **tally(stack, receiver, planned, unsettled),
            "frozen_s": frozen, "schedule_answers_while_frozen": answers,
            "published_within_s_of_thaw": round(max(r.at for r in got) - thawed, 2)
            if got else None}


def many_processes(stack: Stack, receiver: Receiver, n: int = 40, over: int = 4,
                   timeout: float = 60) -> dict:
    """d. Two scheduler processes and four workers publishing the same posts."""
    _start, planned = _spread(stack, receiver, "/d-many", n, 2, over)
    unsettled = settle(stack, planned, timeout)
    return {"scenario": "two_schedulers_four_workers",
            **tally(stack, receiver, planned, unsettled),
            "schedulers": len(running(stack, "scheduler")),
            "workers": len(running(stack, "worker"))}


def platform_failing(stack: Stack, receiver: Receiver, mailbox: Mailbox, *,
                     retry_delays: list[int], http_timeout: float, retry_after: int = 3,
                     hang: float = 300, quiet: float = 3.0, timeout: float = 120) -> dict:
    """e. The platform answers 500 forever, 429 with Retry-After forever, or hangs (the
    worker's HTTP timeout must free it); posts on a healthy channel go out meanwhile.

    Measures each failing channel's requests (the policy allows 1 + len(retry_delays)), the
    gaps between them, the notifications of the failed delivery (in-app and e-mail), and
    whether requests keep coming after the delivery failed."""
    modes = {
        "/e-500": {"status": 500},
        "/e-429": {"status": 429, "headers": {"Retry-After": str(retry_after)}},
        "/e-hang": {"delay": hang},
    }
    channels = {}
    for path, how in modes.items():
        receiver.behave(path, **how)
        channels[path] = webhook_channel(stack, receiver, path, name=f"failing {path[1:]}")
    first_due = next_second(lead(len(modes), 1))
    posts = {path: schedule(stack, channel, unique(path[1:]), first_due)
             for path, channel in channels.items()}
    # Due while the failing ones are being tried (the hung one holds a worker).
    bystanders = _bystanders(stack, receiver, "/e-ok", 8)

    def failed(post):
        rows = stack.api("GET", f"/posts/{post.post_id}").json()["deliveries"]
        return rows and rows[0]["status"] == "failed" and rows[0]

    results = {}
    done = {}
    for path, post in posts.items():
        done[path] = wait_for(lambda post=post: failed(post), timeout,
                              f"{path} to fail for good", stack, every=0.5)
    unsettled = settle(stack, bystanders, timeout, quiet=0)
    counted = {path: len(receiver.on(path)) for path in posts}
    wait_for(lambda: all(mailbox.about(f"failing {p[1:]}") for p in posts), 30, "the e-mails")
    time.sleep(quiet)  # a loop would show as more requests, a second notice as more mail
    for path, post in posts.items():
        got = receiver.on(path)
        times = [r.at for r in got]
        gaps = [round(b - a, 2) for a, b in zip(times, times[1:], strict=False)]
        row = done[path]
        results[path[1:]] = {
            "requests": len(got), "allowed": 1 + len(retry_delays),
            "keys": len({r.headers["Idempotency-Key"] for r in got}),
            "gaps_s": gaps, "requests_after_failed": len(got) - counted[path],
            "attempts": row["attempts"], "last_error": row["last_error"],
            "failed_after_s": round(parse_instant(row["finished_at"]) - post.due, 2),
            "in_app_notifications": failure_notifications(stack, row["id"]),
            "emails": mailbox.about(f"failing {path[1:]}"),
        }
    return {"scenario": "platform_failing", "retry_delays": retry_delays,
            "http_timeout_s": http_timeout, "retry_after_s": retry_after, "hang_s": hang,
            **results, "bystanders": tally(stack, receiver, bystanders, unsettled)}


def cancel_or_move_late(stack: Stack, receiver: Receiver, n: int = 20, controls: int = 5,
                        before: float = 1.0, moved_by: int = 5, per_second: int = 4,
                        timeout: float = 60) -> dict:
    """f. `n` posts (`per_second` due in each second), half cancelled (DELETE) and half
    moved `moved_by` seconds later (PATCH) `before` seconds before they are due (one after
    the other); `controls` untouched posts due at the same times. Cancelled posts must
    never arrive, moved ones once at their new time; one a worker already had is refused
    (409) and arrives once at its old time (`too_late`)."""
    path = "/f-late"
    channel = webhook_channel(stack, receiver, path)
    start = next_second(lead(n + controls, 2))
    cancel, move, control = [], [], []
    for i in range(n):
        due = start + i // per_second
        post = schedule(stack, channel, unique(f"f-{i}"), due)
        (cancel if i % 2 == 0 else move).append(post)
    for i in range(controls):
        control.append(schedule(stack, channel, unique(f"f-control-{i}"),
                                start + i % max(1, n // per_second)))
    answers = []
    for post in sorted(cancel + move, key=lambda p: (p.due, p.post_id)):
        sleep_until(post.due - before)
        ahead = post.due - time.time()
        due = post.due
        if post in cancel:
            response = stack.api("DELETE", f"/posts/{post.post_id}")
            post.due = None
        else:
            post.due += moved_by
            response = stack.api("PATCH", f"/posts/{post.post_id}", json={
                "schedule": {"at": wall(post.due), "timezone": "UTC"}})
        if response.status_code == 409:
            # Too late: a worker had it (on a busy machine the request can arrive at the
            # due second itself). It goes out as it was, once, at its old time.
            post.due = due
        answers.append((response.status_code, ahead))
    planned = cancel + move + control
    unsettled = settle(stack, planned, timeout)
    result = {"scenario": "cancel_or_move_1s_before_due",
              **tally(stack, receiver, planned, unsettled),
              "cancelled": len(cancel), "moved": len(move), "controls": len(control),
              "too_late": sum(status == 409 for status, _ in answers),
              "refused": sum(status not in (200, 409) for status, _ in answers),
              "min_seconds_before_due": round(min(ahead for _, ahead in answers), 2)}
    # A moved post must not arrive at its old time: before its new due time is "early".
    result["moved_early"] = tally(stack, receiver, move)["early"]
    return result


# --- DST under three TZ settings ---------------------------------------------------------

DST_CASES = {
    # (local wall time, zone, recurrence, count): what the documented rule says, in UTC.
    "new_york_spring_gap": ("2027-03-14T02:30", "America/New_York", None, None),
    "new_york_fall_fold": ("2027-11-07T01:30", "America/New_York", None, None),
    "berlin_spring_gap": ("2027-03-28T02:30", "Europe/Berlin", None, None),
    "berlin_fall_fold": ("2027-10-31T02:30", "Europe/Berlin", None, None),
    "lord_howe_half_hour_gap": ("2027-10-03T02:15", "Australia/Lord_Howe", None, None),
    "new_york_daily_0230_across_gap": ("2027-03-12T02:30", "America/New_York", "daily", 5),
    "berlin_daily_0230_across_fold": ("2027-10-29T02:30", "Europe/Berlin", "daily", 5),
}
# docs/time.md: a wall time in a gap moves forward by the gap; one in a fold is the first.
DST_EXPECTED = {
    "new_york_spring_gap": ["2027-03-14T07:30:00Z"],
    "new_york_fall_fold": ["2027-11-07T05:30:00Z"],
    "berlin_spring_gap": ["2027-03-28T01:30:00Z"],
    "berlin_fall_fold": ["2027-10-31T00:30:00Z"],
    "lord_howe_half_hour_gap": ["2027-10-02T15:45:00Z"],
    "new_york_daily_0230_across_gap": ["2027-03-12T07:30:00Z", "2027-03-13T07:30:00Z",
                                       "2027-03-14T07:30:00Z", "2027-03-15T06:30:00Z",
                                       "2027-03-16T06:30:00Z"],
    "berlin_daily_0230_across_fold": ["2027-10-29T00:30:00Z", "2027-10-30T00:30:00Z",
                                      "2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z",
                                      "2027-11-02T01:30:00Z"],
}
NEAR_ZONES = ("America/New_York", "Asia/Kolkata", "Europe/London", "Australia/Lord_Howe")


def dst_far(stack: Stack, channel: int) -> dict:
    """The UTC times one stack computes for the DST cases: the created deliveries' due_at
    and the schedule's occurrences."""
    seen = {}
    for name, (at, zone, recurrence, count) in DST_CASES.items():
        schedule_spec = {"at": at, "timezone": zone}
        if recurrence:
            schedule_spec.update(recurrence=recurrence, count=count)
        response = stack.api("POST", "/posts", json={
            "body": unique(name), "channel_ids": [channel], "schedule": schedule_spec})
        assert response.status_code == 201, response.text
        post = response.json()
        occurrences = stack.api("GET", f"/posts/{post['id']}/occurrences?limit=10").json()
        seen[name] = {
            "first_due_at": post["deliveries"][0]["due_at"],
            "occurrences": [o["at"] for o in occurrences["items"]],
            "warnings": sorted({w for o in occurrences["items"] for w in o["warnings"]}),
            "next_run_at": post["schedules"][0]["next_run_at"],
        }
    return seen


def dst_three_zones(stacks: dict[str, Stack], receiver: Receiver, timeout: float = 60) -> dict:
    """g. The same DST posts made in stacks run under different TZ settings must get the
    same UTC times; near-future posts given as wall time + zone go out at the same
    instant, on time, in every stack."""
    channels = {tz: webhook_channel(stack, receiver, f"/g-{i}")
                for i, (tz, stack) in enumerate(stacks.items())}
    far = {tz: dst_far(stack, channels[tz]) for tz, stack in stacks.items()}
    due = next_second(lead(len(stacks) * len(NEAR_ZONES), 2))
    near = {tz: [schedule(stack, channels[tz], unique(f"g-{tz}-{zone}"), due, zone=zone)
                 for zone in NEAR_ZONES] for tz, stack in stacks.items()}
    due_at = {tz: sorted({parse_instant(stack.api("GET", f"/posts/{p.post_id}").json()
                                        ["deliveries"][0]["due_at"]) for p in near[tz]})
              for tz, stack in stacks.items()}
    unsettled = {}

    def wait(tz):
        unsettled[tz] = settle(stacks[tz], near[tz], timeout, 0)

    threads = [threading.Thread(target=wait, args=(tz,)) for tz in stacks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(1.5)
    published = {tz: tally(stack, receiver, near[tz], unsettled[tz])
                 for tz, stack in stacks.items()}
    reference = next(iter(far.values()))
    return {
        "scenario": "dst_under_three_tz_settings",
        "tz_settings": list(stacks),
        "far_identical": all(f == reference for f in far.values()),
        "far_matches_rule": {name: reference[name]["occurrences"][:len(want)] == want
                             and reference[name]["first_due_at"] == want[0]
                             for name, want in DST_EXPECTED.items()},
        "far": far,
        "near_due": due, "near_due_at": due_at,
        "near": published,
    }


# What a process logs when it lost Redis (RQ's worker, our worker and scheduler loops, the
# heartbeat thread) or died of an error.
LOST_REDIS = ("Timeout reading from socket", "could not connect", "lost Redis",
              "Redis connection timeout", "heartbeat failed", "Traceback")


def idle_then_publish(stack: Stack, receiver: Receiver, idle: float,
                      timeout: float = 60) -> dict:
    """Every process left idle for `idle` seconds (after one post, so that the worker has
    run a job), then one post due a second or two later: it must go out, and no process
    may have lost Redis meanwhile."""
    path = "/idle"
    channel = webhook_channel(stack, receiver, path)
    before = schedule(stack, channel, unique("idle-before"), next_second(lead(1)))
    settle(stack, [before], timeout, quiet=0)
    workers = running(stack, "worker")
    time.sleep(idle)
    after = schedule(stack, channel, unique("idle-after"), next_second(lead(1)))
    unsettled = settle(stack, [after], timeout)
    complaints = [f"{log.name}: {line}" for log in sorted(stack.workdir.glob("*.log"))
                  for line in log.read_text().splitlines()
                  if any(sign in line for sign in LOST_REDIS)]
    return {"scenario": "idle_then_publish", **tally(stack, receiver, [after], unsettled),
            "idle_s": idle, "lost_redis": complaints[:20],
            "workers_died": sum(w.poll() is not None for w in workers)}
