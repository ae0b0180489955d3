"""Processes left idle longer than every Redis timeout in play stay connected: the next
post goes out, and no process logs that it lost Redis."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis
from rq import Queue, Worker
from rq.queue import DequeueTimeout

import worker
from tests.reliability.harness import FAST, dump, exactly_once, running_stack, wait_for
from tests.reliability.scenarios import idle_then_publish
from tests.servers import RedisServer
from webapp import create_app
from webapp.engine import jobs

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

# Redis timers short enough to idle past all of them in seconds: a command gets 1 s, RQ's
# blocking dequeue waits 5 s (worker TTL 20 s, less RQ's 15), and the server closes
# connections idle for 3 s (CONFIG SET timeout below).
SHORT_REDIS = {"HERALD_REDIS_SOCKET_TIMEOUT": "1", "HERALD_WORKER_TTL": "20"}
SERVER_IDLE_TIMEOUT = 3
# Past all of those; redis-py retries a timed-out command ten times, so a blocking dequeue
# on a 1 s connection takes about 15 s to fail for good.
IDLE = 25.0


def test_an_idle_worker_stays_connected_and_publishes_the_next_post(
        tmp_path, shared, receiver):
    with running_stack(tmp_path / "stack", workers=1, env={**FAST, **SHORT_REDIS},
                       shared=shared) as stack:
        redis.Redis.from_url(stack.redis.url).config_set("timeout", SERVER_IDLE_TIMEOUT)
        result = idle_then_publish(stack, receiver, idle=IDLE)
    # Published once and not early; how soon is not timed (that depends on the machine):
    # a worker that lost Redis says so in its log.
    wrong = exactly_once(result)
    wrong += [f"lost Redis: {line}" for line in result["lost_redis"]]
    if result["workers_died"]:
        wrong.append("the worker exited")
    assert not wrong, f"{wrong}\n{dump(result)}"


def test_the_worker_waits_for_jobs_on_a_connection_of_its_own(tmp_path):
    """worker.py's heartbeat thread uses Redis before the RQ worker exists: the worker's
    blocking dequeue must not wait on one of those short-timeout connections, and RQ
    lengthening its own connection's timeout must leave the app's alone."""
    server = RedisServer(tmp_path / "redis").start()
    stop = threading.Event()
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'h.db'}",
                          "REDIS_URL": server.url, "SECRET_KEY": "x",
                          "HERALD_REDIS_SOCKET_TIMEOUT": 1.0, "HERALD_WORKER_TTL": 18,
                          # One beat at once, the next long after this test.
                          "HERALD_HEARTBEAT_TTL": 120})
        with app.app_context():
            threading.Thread(target=worker.heartbeat, args=(app, "idle", stop),
                             daemon=True).start()
            wait_for(lambda: jobs.alive("worker"), 10, "the first heartbeat")
            rq_worker = worker.build_worker(app, "idle")
            try:
                # Nothing is queued: an idle worker's wait, dequeue_timeout (3 s) long.
                with pytest.raises(DequeueTimeout):
                    Queue.dequeue_any(rq_worker.queues, rq_worker.dequeue_timeout,
                                      connection=rq_worker.connection)
            finally:
                rq_worker.connection.close()
            assert jobs.redis().connection_pool.connection_kwargs["socket_timeout"] == 1.0
    finally:
        stop.set()
        server.stop()


def test_a_worker_whose_rq_loop_ends_on_its_own_starts_it_again(tmp_path):
    """RQ's work() returns, instead of raising, on an error it does not expect (here Redis
    answering WRONGTYPE for the queue): the process must not exit, which would stop every
    process `make run` started, but go on once Redis answers properly again."""
    server = RedisServer(tmp_path / "redis").start()
    env = {**os.environ, "REDIS_URL": server.url, "SECRET_KEY": "x",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
           # RQ's idle dequeue then waits 1 s, so the broken queue is met at once.
           "HERALD_WORKER_TTL": "16"}
    log = open(tmp_path / "worker.log", "w")
    process = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        connection = redis.Redis.from_url(server.url)
        wait_for(lambda: Worker.all(connection=connection), 30, "the RQ worker")
        connection.set("rq:queue:herald", "not a list")
        wait_for(lambda: "quitting" in (tmp_path / "worker.log").read_text(), 30,
                 "RQ's loop to end")
        connection.delete("rq:queue:herald")
        wait_for(lambda: process.poll() is not None or Worker.all(connection=connection), 30,
                 "the RQ worker again")
        assert process.poll() is None, (tmp_path / "worker.log").read_text()
    finally:
        process.terminate()
        process.wait(30)
        log.close()
        server.stop()
