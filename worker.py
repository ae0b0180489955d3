"""The worker process (Procfile `worker`): an RQ worker that publishes deliveries.

It runs jobs in-process (no fork per job: forking costs more than publishing) and keeps a
heartbeat in Redis from a small thread, so the planner can tell a dead worker's deliveries
from a slow one's.
"""

import logging
import os
import socket
import threading
import time
import uuid

from redis.exceptions import RedisError
from rq import SimpleWorker

from webapp import create_app
from webapp.engine import jobs
from webapp.extensions import db


class HeraldWorker(SimpleWorker):
    job_class = jobs.HeraldJob
    # Set by SIGTERM/SIGINT: work() has then ended because it was asked to.
    stopping = False

    def request_stop(self, signum, frame):
        self.stopping = True
        super().request_stop(signum, frame)

    def execute_job(self, job, queue):
        try:
            return super().execute_job(job, queue)
        finally:
            db.session.remove()  # each job starts with a fresh session


def heartbeat(app, name: str, stop: threading.Event) -> None:
    period = jobs.beat_period(app.config["HERALD_HEARTBEAT_TTL"])
    with app.app_context():
        while not stop.is_set():
            try:
                jobs.beat("worker", name)
            except Exception as exc:  # Redis down: keep trying, recovery waits for us
                logging.warning("heartbeat failed: %s", type(exc).__name__)
            stop.wait(period)


def build_worker(app, name: str) -> HeraldWorker:
    """The RQ worker of this process (RQ's constructor already talks to Redis), on a
    connection of its own: its idle dequeue blocks for worker_ttl - 15 s, so the socket
    timeout is the whole TTL. Jobs and the heartbeat thread use jobs.redis()."""
    ttl = app.config["HERALD_WORKER_TTL"]
    return HeraldWorker([app.config["HERALD_QUEUE"]], name=name, worker_ttl=ttl,
                        connection=jobs.blocking_redis(socket_timeout=ttl))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    name = f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
    # Its writes (claim, record) are on a post's way out: they go ahead of the web's.
    app = create_app({"HERALD_PROCESS_NAME": name, "HERALD_WRITES_FIRST": True})
    stop = threading.Event()
    threading.Thread(target=heartbeat, args=(app, name, stop), daemon=True).start()
    with app.app_context():
        while True:
            worker = None
            try:
                # Inside the try: RQ's constructor talks to Redis too.
                worker = build_worker(app, name)
                worker.work(with_scheduler=False, logging_level="INFO")
            except RedisError as exc:
                logging.warning("worker lost Redis (%s); retrying in 1 s", exc)
            if worker is not None and worker.stopping:  # SIGTERM: do not start again
                break
            # RQ's loop also ends without raising, on a Redis timeout or an error it does not
            # expect: a worker process that exited then would stop `make run` altogether.
            time.sleep(1)
    stop.set()


if __name__ == "__main__":
    main()
