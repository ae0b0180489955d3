"""What the Operations page shows an admin to answer "why did this post not go out": the
workspace's jobs in rq-scheduler, the planner's last pass, the workers and their
heartbeats, the deliveries the planner recovered from dead workers, and failed jobs.

Jobs are shown for this workspace's deliveries only (a job may carry several workspaces'
deliveries: only this one's ids are listed); the workers, the planner and the counts belong
to the installation, shared by every workspace and naming none of their data.
"""

from dataclasses import dataclass, field
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy import select

from ..engine import jobs, metrics
from ..extensions import db
from ..models import IN_JOB, AuditEvent, Delivery
from ..timeutil import now_utc

JOBS_SHOWN = 100
RECOVERED_SHOWN = 20


@dataclass
class ScheduledJob:
    id: str
    # The second its deliveries are due (rq-scheduler hands the job over a moment before);
    # None when rq-scheduler no longer holds it.
    due_at: datetime | None = None
    delivery_ids: list[int] = field(default_factory=list)
    # "scheduler", "queue" (on the queue or running) or "lost" (the planner re-creates it).
    where: str = "scheduler"


@dataclass
class WorkerState:
    name: str
    state: str
    last_heartbeat: datetime | None
    current_job: str | None


@dataclass
class Overview:
    recovered: list[AuditEvent]
    jobs: list[ScheduledJob] = field(default_factory=list)
    planner_last_pass: datetime | None = None
    planner_lag: float | None = None
    workers: list[WorkerState] = field(default_factory=list)
    failed_jobs: int | None = None
    scheduled_jobs: int | None = None
    # What went wrong when Redis did not answer (the Redis parts are then empty).
    redis_error: str | None = None


def overview(workspace_id: int) -> Overview:
    """What the Operations page shows: jobs waiting in rq-scheduler, the planner's last
    pass, workers and their heartbeats, and the deliveries the planner recovered. Redis
    not answering leaves its parts empty instead of failing the page."""
    view = Overview(recovered=_recovered(workspace_id))
    carried = _carried(workspace_id)
    db.session.rollback()  # nothing is held open while Redis answers
    try:
        view.jobs = _jobs(carried)
        view.planner_last_pass = metrics.planner_last_pass()
        if view.planner_last_pass:
            view.planner_lag = max(0.0, (now_utc() - view.planner_last_pass).total_seconds())
        view.workers = [WorkerState(w.name, w.get_state(), w.last_heartbeat,
                                    w.get_current_job_id()) for w in jobs.workers()]
        view.failed_jobs = jobs.failed_count()
        view.scheduled_jobs = jobs.scheduled_count()
    except RedisError as exc:
        view.redis_error = type(exc).__name__
    return view


def _recovered(workspace_id: int) -> list[AuditEvent]:
    """The latest deliveries the planner took back from a worker that had died."""
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.workspace_id == workspace_id,
                                 AuditEvent.action == "delivery.recovered")
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(RECOVERED_SHOWN)))


def _carried(workspace_id: int) -> dict[str, list[int]]:
    """{job id: this workspace's delivery ids it carries}, soonest job first."""
    carried: dict[str, list[int]] = {}
    for job_id, delivery_id in db.session.execute(
            select(Delivery.job_id, Delivery.id)
            .where(Delivery.workspace_id == workspace_id, Delivery.job_id.is_not(None),
                   Delivery.status.in_(IN_JOB))
            .order_by(Delivery.next_attempt_at, Delivery.id).limit(JOBS_SHOWN * 10)):
        if job_id in carried or len(carried) < JOBS_SHOWN:
            carried.setdefault(job_id, []).append(delivery_id)
    return carried


def _jobs(carried: dict[str, list[int]]) -> list[ScheduledJob]:
    ids = list(carried)
    found = [ScheduledJob(job_id, at and at + jobs.HANDED_OVER_AHEAD, carried[job_id])
             for job_id, at in zip(ids, jobs.handed_over_at(ids), strict=True)]
    gone = [job for job in found if job.due_at is None]
    for job, exists in zip(gone, jobs.jobs_exist([j.id for j in gone]), strict=True):
        job.where = "queue" if exists else "lost"
    # Those rq-scheduler still holds by their time; those past it after them.
    return sorted(found, key=lambda j: (j.due_at is None,
                                        j.due_at.timestamp() if j.due_at else 0, j.id))
