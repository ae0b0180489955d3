"""Two schedulers and four workers (scenario d), and Redis losing its data, going away or
freezing (scenario c) on a private redis-server: the database is the source of truth, so
nothing is lost or sent twice, and the web app keeps accepting schedules."""

import pytest

from tests.reliability.harness import FAST, KnownBug, dump, exactly_once, running_stack
from tests.reliability.scenarios import (
    many_processes,
    redis_flushall,
    redis_frozen,
    redis_lost_during_a_slow_request,
    redis_outage_mid_job,
    redis_restart,
)

pytestmark = pytest.mark.slow


def test_two_schedulers_and_four_workers_publish_exactly_once_across_a_flushall_and_a_restart(
        tmp_path, shared, receiver):
    with running_stack(tmp_path / "stack", workers=4, schedulers=2, env=FAST,
                       shared=shared) as stack:
        many = many_processes(stack, receiver, n=24, over=2)
        flushed = redis_flushall(stack, receiver, n=8, over=3)
        # Stopped while no job runs (the next tests have one running), for 4 s covering
        # the first posts' time.
        restarted = redis_restart(stack, receiver, n=8, over=3, stop_at=-3, down=4,
                                  create_while_down=0)
    wrong = [f"two schedulers, four workers: {w}" for w in exactly_once(many)]
    if (many["schedulers"], many["workers"]) != (2, 4):
        wrong.append(f"{many['schedulers']} schedulers and {many['workers']} workers ran")
    wrong += [f"flushall: {w}" for w in exactly_once(flushed)]
    wrong += [f"restart: {w}" for w in exactly_once(restarted)]
    if restarted["workers_died"]:
        wrong.append(f"restart: {restarted['workers_died']} workers died with Redis down")
    assert not wrong, f"{wrong}\n{dump(many)}\n{dump(flushed)}\n{dump(restarted)}"


def test_while_redis_is_frozen_or_stopped_schedules_are_accepted_and_nothing_is_lost(
        tmp_path, shared, receiver):
    with running_stack(tmp_path / "stack", env=FAST, shared=shared) as stack:
        # Frozen for longer than the app's Redis socket timeout (10 s); posts made while
        # frozen or stopped are due within seconds, so they want their job at once.
        frozen = redis_frozen(stack, receiver, frozen=12, n=4, created_while_frozen=2)
        stopped = redis_restart(stack, receiver, n=2, over=1, create_while_down=1)
    wrong = [f"frozen: {w}" for w in exactly_once(frozen)]
    wrong += [f"stopped: {w}" for w in exactly_once(stopped)]
    wrong += [f"answered {a} while Redis was unavailable"
              for a in frozen["schedule_answers_while_frozen"]
              + stopped["schedule_answers_while_down"] if a["status"] != 201]
    assert not wrong, f"{wrong}\n{dump(frozen)}\n{dump(stopped)}"


def test_redis_losing_its_data_while_a_worker_is_inside_a_request(tmp_path, shared, receiver):
    # The HTTP timeout (10 s) is longer than heartbeat lifetime + one beat (5 + 1 s).
    env = {**FAST, "HERALD_HTTP_TIMEOUT": "10"}
    with running_stack(tmp_path / "stack", env=env, shared=shared) as stack:
        outage = redis_outage_mid_job(stack, receiver)
        slow = redis_lost_during_a_slow_request(stack, receiver, answer_after=8, fault_at=7,
                                                fault="flushall", fault_for=3)
    # Redis stopped while a job runs: that worker lives on, the other keeps publishing.
    wrong = [f"outage: {w}" for w in exactly_once(outage)]
    if not outage["worker_in_the_job_survived"]:
        wrong.append("outage: the worker running a job when Redis went away exited")
    wrong += [f"slow: {w}" for w in exactly_once(slow, resends=1)]
    assert not wrong, f"{wrong}\n{dump(outage)}\n{dump(slow)}"
    if slow["duplicates_by_key"]:
        raise KnownBug(f"a live worker's delivery was sent again: {dump(slow)}")
