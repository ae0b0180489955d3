"""The scheduler process: rq-scheduler moving due jobs onto the queue, plus the planner.

Runs as `flask --app webapp scheduler` (the Procfile's `scheduler`). rq-scheduler's lock
lets only one of several scheduler processes work at a time; the planner runs under the
same lock, so two schedulers never plan at once (and planning twice would be harmless).
"""

import logging
import signal
import threading
import time

from flask import current_app
from redis.exceptions import RedisError
from rq_scheduler import Scheduler

from ..extensions import db
from ..timeutil import now_utc
from . import jobs, metrics, planner

log = logging.getLogger(__name__)


class HeraldScheduler(Scheduler):
    """rq-scheduler that also runs the planner every HERALD_PLANNER_INTERVAL seconds and
    reports a heartbeat for /healthz."""

    def __init__(self, *args, app, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app
        self.next_plan = 0.0
        self.planning: threading.Thread | None = None
        self.stopping = False

    def _install_signal_handlers(self):
        super()._install_signal_handlers()
        stop = signal.getsignal(signal.SIGTERM)

        def note_and_stop(signum, frame):
            self.stopping = True  # run() must not reconnect once asked to stop
            stop(signum, frame)

        signal.signal(signal.SIGINT, note_and_stop)
        signal.signal(signal.SIGTERM, note_and_stop)

    def enqueue_jobs(self):
        enqueued = super().enqueue_jobs()
        with self.app.app_context():
            jobs.beat("scheduler", self.name)
        # The planner runs beside the polling loop, so a long pass (after a bulk import,
        # a Redis restart) never delays jobs that are due now. It only starts here, while
        # this process holds rq-scheduler's lock.
        if time.monotonic() >= self.next_plan and not (self.planning and
                                                       self.planning.is_alive()):
            self.next_plan = time.monotonic() + self.app.config["HERALD_PLANNER_INTERVAL"]
            self.planning = threading.Thread(target=self.plan, name="planner", daemon=True)
            self.planning.start()
        return enqueued

    def plan(self):
        with self.app.app_context():
            try:
                done = planner.plan()
                metrics.planner_passed(now_utc())
                if any(done.values()):
                    log.info("planner: %s", done)
                if done["more"]:  # rows left to write: go on without waiting
                    self.next_plan = 0.0
            except Exception:  # keep scheduling even if one planner pass fails
                db.session.rollback()
                log.exception("planner pass failed")
            finally:
                db.session.remove()

    def heartbeat(self):
        super().heartbeat()
        with self.app.app_context():
            jobs.beat("scheduler", self.name)


def run(interval: float) -> None:
    """The scheduler process (`flask --app webapp scheduler`): rq-scheduler polling every
    `interval` seconds, with the planner beside it; started again if it stops."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(message)s")
    app = current_app._get_current_object()
    while True:
        scheduler = HeraldScheduler(queue_name=app.config["HERALD_QUEUE"],
                                    connection=jobs.redis(), interval=interval, app=app)
        log.info("scheduler %s polling every %.2f s", scheduler.name, interval)
        try:
            scheduler.run()
            return
        except RedisError as exc:
            if scheduler.stopping:
                return
            # Keep going through a Redis restart; the planner then restores lost jobs.
            log.warning("scheduler lost Redis (%s); retrying in 1 s", type(exc).__name__)
            time.sleep(1)
