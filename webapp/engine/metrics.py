"""Prometheus metrics of the engine (GET /metrics shows them, see docs/operations.md).

What happens in a process (a delivery published late, a retry, a platform's error) is
counted where it happens; what the database and Redis already know (deliveries by status,
the queue, the planner's last pass) is read when Prometheus scrapes, so it is right whichever
process answers. With PROMETHEUS_MULTIPROC_DIR set (gunicorn, and every process of one
machine pointing at the same directory), prometheus-client keeps each process's counts in
files there and a scrape adds them up; without it, a scrape shows this process's counts.
"""

import os
import re
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import DELIVERY_STATUSES, Delivery
from ..timeutil import now_utc
from . import jobs

# Not in prometheus-client's global registry: a scrape builds its own (see exposition),
# which in multiprocess mode must not hold the live objects as well.
LATENESS = Histogram(
    "herald_delivery_lateness_seconds",
    "Seconds from a delivery's due time to the moment it was recorded published.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600), registry=None)
RETRIES = Counter("herald_delivery_retries",
                  "Attempts that failed and were given another one.", registry=None)
PLATFORM_ERRORS = Counter("herald_platform_errors",
                          "Publish attempts that failed, by class of error.",
                          ["error_class"], registry=None)

PLANNER_LAST_PASS = "herald:planner:last-pass"

_HTTP_STATUS = re.compile(r"HTTP (\d{3})\b")


def observe_published(due_ats: list[datetime | None], at: datetime) -> None:
    """Deliveries recorded published `at`. One whose due time was not loaded (recorded
    without publish_batch preparing it) is left out rather than failing the recording."""
    for due_at in due_ats:
        if due_at is not None:
            LATENESS.observe(max(0.0, (at - due_at).total_seconds()))


def count_retry() -> None:
    """Count one attempt that will be tried again."""
    RETRIES.inc()


def count_platform_error(error: str | None, transient: bool) -> None:
    """Count one failed attempt under its error class (see error_class)."""
    PLATFORM_ERRORS.labels(error_class=error_class(error, transient)).inc()


def error_class(error: str | None, transient: bool) -> str:
    """A few stable names for an error text (a label must not take one value per message):
    the HTTP status a platform answered with, a timeout, a failed connection, or else
    whether it was transient or permanent."""
    text = error or ""
    status = _HTTP_STATUS.match(text)
    if status:
        return f"http_{status.group(1)}"
    if text.startswith("timed out"):
        return "timeout"
    if text.startswith("connection failed"):
        return "connection"
    return "other_transient" if transient else "other_permanent"


def planner_passed(at: datetime) -> None:
    """Note a finished planner pass, for the planner lag (metrics, the Operations page)."""
    jobs.redis().set(PLANNER_LAST_PASS, at.timestamp())


def planner_last_pass() -> datetime | None:
    """When the planner last finished a pass (kept in Redis by the scheduler), if ever."""
    raw = jobs.redis().get(PLANNER_LAST_PASS)
    return datetime.fromtimestamp(float(raw), UTC) if raw else None


class StateCollector:
    """The gauges read at scrape time from the database and Redis. A part that does not
    answer is reported down (herald_up) and its gauges left out: the scrape still answers,
    and the alert on that part is what fires."""

    def collect(self):
        up = GaugeMetricFamily("herald_up", "Whether the part answered this scrape.",
                               labels=["part"])
        try:
            families = [self._deliveries()]
            up.add_metric(["db"], 1)
        except SQLAlchemyError:
            db.session.rollback()
            families = []
            up.add_metric(["db"], 0)
        try:
            families += self._redis()
            up.add_metric(["redis"], 1)
        except RedisError:
            up.add_metric(["redis"], 0)
        yield up
        yield from families

    def _deliveries(self):
        counts = dict(db.session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)).all())
        db.session.rollback()
        by_status = GaugeMetricFamily("herald_deliveries", "Deliveries by status.",
                                      labels=["status"])
        for status in DELIVERY_STATUSES:
            by_status.add_metric([status], counts.get(status, 0))
        return by_status

    def _redis(self):
        queued = GaugeMetricFamily("herald_queue_jobs",
                                   "Jobs waiting: on the RQ queue, or in rq-scheduler.",
                                   labels=["where"])
        queued.add_metric(["queue"], jobs.queue().count)
        queued.add_metric(["scheduler"], jobs.scheduled_count())
        last = planner_last_pass()
        lag = GaugeMetricFamily(
            "herald_planner_lag_seconds",
            "Seconds since the planner's last finished pass (absent if none is known).")
        if last is not None:
            lag.add_metric([], max(0.0, (now_utc() - last).total_seconds()))
        return [queued, lag]


def exposition() -> bytes:
    """The text Prometheus scrapes."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for metric in (LATENESS, RETRIES, PLATFORM_ERRORS):
            registry.register(metric)
    registry.register(StateCollector())
    return generate_latest(registry)

