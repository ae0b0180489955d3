"""Creating, changing, pausing and cancelling posts and their schedules."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, exists, func, select, update

from ..engine import jobs, planner, post_status, removal
from ..errors import Conflict, DomainError, Forbidden, NotFound, ValidationError
from ..extensions import db
from ..models import (
    CLOSED_CAMPAIGNS,
    IN_JOB,
    MAX_ID,
    OPEN,
    POST_STATUSES,
    UNTRIED,
    WAITING,
    Campaign,
    Channel,
    Delivery,
    Post,
    Schedule,
    pattern_of,
    post_channels,
)
from ..models.audit import record
from ..publishers import PUBLISHERS
from ..timeutil import now_utc
from . import approvals, schedules
from .validation import Errors, in_workspace, integer, text

EDITABLE_STATUSES = ("draft", "scheduled")
# Conflict.reason of pause (nothing active to pause) and resume (nothing paused), and of
# changes refused while a delivery of the post is going out.
NOT_ACTIVE, NOT_PAUSED = "not_active", "not_paused"
BEING_PUBLISHED = "being_published"
TITLE_MAX, BODY_MAX, TAG_MAX = 200, 100_000, 100


def get(workspace_id: int, post_id) -> Post:
    """The workspace's post, or NotFound."""
    return in_workspace(Post, workspace_id, post_id, "post")


def snapshot(post: Post) -> dict:
    """The fields the audit log compares."""
    return {
        "title": post.title, "body": post.body, "status": post.status,
        "priority": post.priority, "channel_ids": [c.id for c in post.channels],
        "schedules": [
            {"at": s.start_local.isoformat(), "timezone": s.timezone, "recurrence": s.rrule,
             "status": s.status} for s in post.schedules
        ],
    }


def _read(workspace_id: int, data: dict,
          post: Post | None) -> tuple[dict, schedules.ScheduleSpec | None]:
    """Validate create/patch fields. For a patch, absent fields keep the post's values."""
    errors = Errors()
    fields: dict = {}
    partial = post is not None

    def given(name: str) -> bool:
        return name in data or not partial

    if given("title"):
        fields["title"] = text(data.get("title"), "title", errors, max_length=TITLE_MAX) or ""
    if given("body"):
        fields["body"] = text(data.get("body"), "body", errors, max_length=BODY_MAX,
                              required=True)
    if given("priority"):
        fields["priority"] = integer(data.get("priority", 5), "priority", errors, low=1,
                                     high=10) or 5
    if given("channel_ids"):
        fields["channels"] = channels_of(workspace_id, data.get("channel_ids"), errors)
    if given("overrides"):
        fields["overrides"] = read_overrides(data.get("overrides"), errors)
    if given("tags"):
        fields["tags"] = read_tags(data.get("tags"), errors)
    if given("campaign_id"):
        fields["campaign_id"] = read_campaign(workspace_id, data.get("campaign_id"), errors,
                                              post.campaign_id if post else None)
    spec = None
    if "schedule" in data and data["schedule"] is not None:
        spec = schedules.parse(data["schedule"], errors)
    if given("status"):
        status = data.get("status")
        if status is None:
            status = "scheduled" if data.get("schedule") else "draft"
        if status not in EDITABLE_STATUSES:
            errors.add("status", "must be 'draft' or 'scheduled'")
        fields["status"] = status

    if spec is not None and spec.unpublish_local is not None:
        check_unpublish(fields.get("channels", post.channels if post else []), errors)
    elif spec is None and post is not None and "channels" in fields and any(
            s.unpublish_local is not None and s.status in ("active", "paused")
            for s in post.schedules):
        check_unpublish(fields["channels"], errors)
    check_texts(fields.get("channels", post.channels if post else []),
                fields.get("overrides", post.overrides if post else {}),
                fields.get("body", post.body if post else ""), errors,
                title=fields.get("title", post.title if post else ""))
    errors.raise_if_any()
    return fields, spec


def read_overrides(value, errors: Errors) -> dict[str, str]:
    """Per-channel texts ({"<channel id>": text}); the empty ones dropped."""
    overrides = {} if value is None else value
    if not isinstance(overrides, dict) or not all(
            isinstance(v, str) for v in overrides.values()):
        errors.add("overrides", "must map channel ids to text")
        overrides = {}
    overrides = {str(k): text(v, f"overrides.{k}", errors, max_length=BODY_MAX)
                 for k, v in overrides.items()}
    return {k: v for k, v in overrides.items() if v.strip()}


def read_tags(value, errors: Errors) -> list[str]:
    """A list of tags, each checked as text of at most TAG_MAX characters."""
    tags = [] if value is None else value
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors.add("tags", "must be a list of strings")
        tags = []
    return [text(t, "tags", errors, max_length=TAG_MAX) for t in tags]


def read_campaign(workspace_id: int, value, errors: Errors,
                  current_id: int | None = None) -> int | None:
    """A campaign id of the workspace, not archived (unless it is `current_id`, the one
    the post or template is filed under already), or None."""
    campaign_id = integer(value, "campaign_id", errors, low=1)
    if campaign_id is not None:
        try:
            campaign = in_workspace(Campaign, workspace_id, campaign_id, "campaign")
        except NotFound:
            errors.add("campaign_id", f"unknown campaign {campaign_id}")
        else:
            if campaign.status in CLOSED_CAMPAIGNS and campaign_id != current_id:
                errors.add("campaign_id", f"campaign “{campaign.name}” is archived; "
                                          "choose another")
    return campaign_id


def check_texts(channels, overrides: dict, body: str, errors: Errors,
                title: str | None = None) -> None:
    """Whether each channel can publish the text it gets (its own, else the body), and
    the title where its platform needs one."""
    for channel in channels:
        problem = PUBLISHERS[channel.platform].validate_title(title)
        if problem:
            errors.add("title", f"{channel.name}: {problem}")
    for key in overrides:
        if key not in {str(c.id) for c in channels}:
            errors.add("overrides", f"channel {key} is not one of the post's channels")
    for channel in channels:
        problem = PUBLISHERS[channel.platform].validate_text(overrides.get(str(channel.id)) or body)
        if problem:
            name = f"overrides.{channel.id}" if str(channel.id) in overrides else "body"
            errors.add(name, f"too long for {channel.name}: {problem}" if "allows" in problem
                       else f"{channel.name}: {problem}")


def check_unpublish(channels, errors: Errors, field: str = "schedule.unpublish_at") -> None:
    """Whether every channel's platform can remove a published post; where one cannot,
    why (its publisher's `cannot_unpublish_reason`)."""
    for channel in channels:
        publisher = PUBLISHERS[channel.platform]
        if not publisher.can_unpublish:
            errors.add(field, f"{channel.name} cannot remove a post: "
                              f"{publisher.cannot_unpublish_reason}")
            return


def channels_of(workspace_id: int, ids, errors: Errors) -> list[Channel]:
    """The workspace's channels of these ids (each once, in order); an unknown one is an
    error."""
    if ids is None:
        ids = []
    if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID for i in ids):
        errors.add("channel_ids", "must be a list of channel ids")
        return []
    found = {c.id: c for c in db.session.scalars(
        select(Channel).where(Channel.workspace_id == workspace_id, Channel.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        errors.add("channel_ids", f"unknown channel {missing[0]}")
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def create(workspace_id: int, user_id: int | None, data: dict, *,
           template_id: int | None = None) -> Post:
    """A new post (a draft, or scheduled with its schedule and channels) from `data`, as
    the composer, the API and the CSV import give it; every wrong field at once.
    `template_id` names the template it was made from (services.templates.use)."""
    fields, spec = _read(workspace_id, data, None)
    errors = Errors()
    if fields["status"] == "scheduled" and spec is None:
        errors.add("schedule", "a scheduled post needs a schedule (or use status 'draft')")
    if fields["status"] == "scheduled" and not fields["channels"]:
        errors.add("channel_ids", "choose at least one channel")
    errors.raise_if_any()
    if fields["status"] == "scheduled" and approvals.required(workspace_id, user_id):
        fields["status"] = "pending_approval"
    post = Post(workspace_id=workspace_id, author_id=user_id, template_id=template_id,
                **fields)
    db.session.add(post)
    db.session.flush()
    if spec is not None:
        _add_schedule(post, spec)
    if post.status == "pending_approval":
        approvals.request(post, user_id)
    record(workspace_id, "post.created", post, user_id=user_id, after=snapshot(post))
    return _commit_and_plan(post)


def _add_schedule(post: Post, spec: schedules.ScheduleSpec) -> Schedule:
    schedule = Schedule(post=post, **spec.columns(), status="active")
    planner.set_first_run(schedule)
    db.session.add(schedule)
    return schedule


def _commit_and_plan(post: Post) -> Post:
    """Write the deliveries that fall within the horizon, commit, then create their jobs."""
    planner.materialize([s for s in post.schedules if s.status == "active"])
    post_status.refresh(post)
    db.session.commit()
    planner.plan_now(post)
    return post


def _open(post_id: int, statuses=WAITING) -> list[Delivery]:
    return list(db.session.scalars(select(Delivery).where(
        Delivery.post_id == post_id, Delivery.status.in_(statuses)).order_by(Delivery.due_at)))


def _withdraw(post: Post, reason: str, keep_history: bool) -> None:
    """Take back every delivery not yet attempted or retrying: jobs removed; rows never
    attempted are deleted when the schedule moves, or kept as cancelled otherwise.

    Not while one of the post's deliveries is being published: it goes out as it was
    (nothing can call it back), so moving the post would send it a second time and
    cancelling it would not be true. That is a Conflict (BEING_PUBLISHED) and nothing
    changes; checked again after the rows are taken, for a worker that claimed one
    meanwhile (its claim and these updates are conditional on the status)."""
    _refuse_while_publishing(post)
    deliveries = _open(post.id)
    jobs.unschedule(deliveries)
    ids = [d.id for d in deliveries]
    if not ids:
        return
    if not keep_history:
        db.session.execute(delete(Delivery).where(
            Delivery.id.in_(ids), Delivery.status.in_(UNTRIED),
            Delivery.attempts == 0).execution_options(synchronize_session=False))
    db.session.execute(update(Delivery).where(
        Delivery.id.in_(ids), Delivery.status.in_(WAITING)
    ).values(status="cancelled", last_error=reason, finished_at=now_utc())
        .execution_options(synchronize_session=False))
    db.session.expire_all()
    try:
        _refuse_while_publishing(post)
    except Conflict:
        db.session.rollback()
        _give_jobs_back(post)
        raise


def _refuse_while_publishing(post: Post) -> None:
    if db.session.scalar(select(Delivery.id).where(
            Delivery.post_id == post.id, Delivery.status == "publishing").limit(1)):
        raise Conflict("the post is being published right now, so nothing was changed; "
                       "try again in a few seconds", reason=BEING_PUBLISHED)


def _give_jobs_back(post: Post) -> None:
    """After a withdrawal was called off: the waiting deliveries whose jobs it had removed
    get jobs again (now if they are due soon, else from the planner's next pass)."""
    waiting = _open(post.id)
    for delivery in waiting:
        delivery.job_id = None
    db.session.commit()
    jobs.enqueue([d for d in waiting if d.status in IN_JOB and jobs.needs_job_now(d)])


# What a post sends: once it went out everywhere, these can no longer change (409).
# Tags and campaign only file the post, and stay editable.
SENT_FIELDS = ("title", "body", "overrides", "channel_ids", "schedule", "status")
TEXT_FIELDS = ("title", "body", "overrides")


def _check_editable(post: Post, data: dict) -> None:
    """409 when `data` changes what a finished post sent: a cancelled post, or one with
    nothing left to come (no open delivery, no schedule with a next run) that went out on
    at least one channel. A recurring post with occurrences to come stays editable (the
    change applies to them), and so does a post that only failed, so it can be fixed and
    retried; one partly published may get a new time or channels (not new text), which
    resends it where it failed."""
    if not any(name in data for name in SENT_FIELDS):
        return
    if post.status == "cancelled":
        raise Conflict("the post is cancelled; create a new one")
    if any(s.status in ("active", "paused") and s.next_run_at for s in post.schedules):
        return
    statuses = set(db.session.scalars(
        select(Delivery.status).where(Delivery.post_id == post.id).distinct()))
    if "published" not in statuses or statuses & set(OPEN):
        return
    if "failed" in statuses and not any(name in data for name in TEXT_FIELDS):
        return  # a new time or channel list resends where it failed (never where it went)
    raise Conflict(f"post {post.id} went out and has nothing left to come: its text, "
                   "channels and schedule can no longer change; create a new post")


def update_post(post: Post, user_id: int | None, data: dict) -> Post:
    """Change what `data` gives of a post that may still change; its waiting deliveries
    follow a new text, channel set or schedule."""
    _check_editable(post, data)
    fields, spec = _read(post.workspace_id, data, post)
    before = snapshot(post)
    was = post.status
    status = fields.pop("status", None)
    for name, value in fields.items():
        setattr(post, name, value)
    if status == "draft" or (status == "scheduled" and was in ("draft", "pending_approval")):
        post.status = status
    _ask_approval_again(post, was, user_id, data)
    if spec is not None or "channel_ids" in data or post.status != was:
        _withdraw(post, "rescheduled", keep_history=False)
        paused = any(s.status == "paused" for s in post.schedules)
        for schedule in post.schedules:
            if schedule.status not in ("active", "paused"):
                continue
            if spec is not None:
                schedule.status = "cancelled"
            else:
                planner.set_first_run(schedule)
                planner.skip_past(schedule, now_utc())
        if spec is not None:
            # A paused post stays paused when its time changes.
            new = _add_schedule(post, spec)
            new.status = "paused" if paused else "active"
            # Where the post is already up, its removal follows the new schedule.
            removal.replan(post.id, new)
    if post.status in ("scheduled", "pending_approval") and not any(
            s.next_run_at for s in post.schedules if s.status in ("active", "paused")) \
            and post.status != was:
        raise ValidationError.field("schedule", "nothing left to publish: give a schedule "
                                                "with a time in the future")
    # Existing deliveries carry the priority at publish time; keep them in step.
    db.session.execute(update(Delivery).where(
        Delivery.post_id == post.id, Delivery.status.in_(WAITING)
    ).values(priority=post.priority).execution_options(synchronize_session=False))
    record(post.workspace_id, "post.updated", post, user_id=user_id, before=before,
           after=snapshot(post))
    return _commit_and_plan(post)


def _ask_approval_again(post: Post, was: str, user_id: int | None, data: dict) -> None:
    """Where what someone schedules waits for approval, a change to what a post sends (or
    scheduling it) waits again, even once approved. An approver scheduling a waiting post
    approves it; a post taken back to a draft withdraws its request."""
    if post.status in ("draft", "cancelled"):
        if was == "pending_approval":
            approvals.close(post, "withdrawn", user_id)
        return
    changes = post.status != was or any(name in data for name in SENT_FIELDS
                                        if name != "status")
    if changes and approvals.required(post.workspace_id, user_id):
        post.status = "pending_approval"
        approvals.request(post, user_id)
    elif was == "pending_approval" and post.status == "scheduled":
        approvals.close(post, "approved", user_id)


def cancel(post: Post, user_id: int | None) -> Post:
    """DELETE: cancel everything still to come; what was published stays published."""
    before = snapshot(post)
    _withdraw(post, "cancelled", keep_history=True)
    for schedule in post.schedules:
        if schedule.status in ("active", "paused"):
            schedule.status = "cancelled"
    post.status = "cancelled"
    record(post.workspace_id, "post.cancelled", post, user_id=user_id, before=before)
    db.session.commit()
    return post


def pause(post: Post, user_id: int | None) -> Post:
    """Pause the post's active schedules: nothing goes out until it is resumed."""
    active = [s for s in post.schedules if s.status == "active"]
    if not active:
        raise Conflict("the post has no active schedule to pause", reason=NOT_ACTIVE)
    before = snapshot(post)
    jobs.withhold(_open(post.id, IN_JOB))
    for schedule in active:
        schedule.status = "paused"
    record(post.workspace_id, "post.paused", post, user_id=user_id, before=before,
           after=snapshot(post))
    db.session.commit()
    return post


def resume(post: Post, user_id: int | None) -> Post:
    """Occurrences whose time passed while paused are skipped (kept as cancelled with the
    reason), except a one-off post's only occurrence, which goes out at once."""
    paused = [s for s in post.schedules if s.status == "paused"]
    if not paused:
        raise Conflict("the post is not paused", reason=NOT_PAUSED)
    before = snapshot(post)
    now = now_utc()
    for schedule in paused:
        schedule.status = "active"
        if schedule.rrule is None:
            continue
        missed = [d for d in _open(post.id)
                  if d.schedule_id == schedule.id and d.due_at <= now]
        for delivery in missed:
            delivery.status, delivery.last_error = "cancelled", "skipped: paused at its time"
            delivery.finished_at = now
        planner.skip_past(schedule, now)
    record(post.workspace_id, "post.resumed", post, user_id=user_id, before=before,
           after=snapshot(post))
    return _commit_and_plan(post)


def publish_now(post: Post, user_id: int | None) -> Post:
    """Send the post to its channels now. A one-off schedule's waiting deliveries move to
    now; otherwise (draft, recurring) one extra set of deliveries is made for now."""
    if post.status == "cancelled":
        raise Conflict("the post is cancelled")
    if post.status == "pending_approval":
        raise Conflict("the post is waiting for approval: approve it first")
    if approvals.required(post.workspace_id, user_id):
        raise Forbidden("in this workspace what you schedule waits for approval, so it "
                        "cannot be published at once; an approver or admin can")
    if not post.channels:
        raise Conflict("the post has no channels")
    before = snapshot(post)
    now = now_utc()
    one_off = {s.id for s in post.schedules if s.rrule is None}
    waiting = [d for d in _open(post.id, UNTRIED)
               if d.attempts == 0 and d.schedule_id in one_off]
    jobs.unschedule(waiting)
    for delivery in waiting:
        delivery.due_at = delivery.next_attempt_at = now
        delivery.status = "pending"
    if not waiting:
        for channel in post.channels:
            db.session.add(Delivery(
                workspace_id=post.workspace_id, post_id=post.id, channel_id=channel.id,
                due_at=now, next_attempt_at=now, priority=post.priority,
                idempotency_key=uuid.uuid4().hex, status="pending"))
    for schedule in post.schedules:
        if schedule.id in one_off and schedule.status == "paused":
            schedule.status = "active"
    if post.status == "draft":
        post.status = "scheduled"
    record(post.workspace_id, "post.published_now", post, user_id=user_id, before=before,
           after=snapshot(post))
    db.session.flush()
    post_status.refresh(post)
    db.session.commit()
    planner.plan_now(post)
    return post


def occurrences(post: Post, limit: int = 10) -> list:
    """The next occurrences of the post's active or paused schedules, soonest first."""
    now = now_utc()
    found = []
    for schedule in post.schedules:
        if schedule.status in ("active", "paused"):
            found += pattern_of(schedule).upcoming(now, limit)
    return sorted(found, key=lambda o: o.at)[:limit]


def move(post: Post, user_id: int | None, local: str, timezone: str | None = None) -> Post:
    """Move a post's schedule to start at a new local time (its recurrence, end and zone
    kept): every waiting delivery moves with it."""
    current = next((s for s in post.schedules if s.status in ("active", "paused")), None)
    if current is None:
        raise Conflict("the post has no schedule to move")
    return update_post(post, user_id, {"schedule": {
        "at": local, "timezone": timezone or current.timezone, "recurrence": current.rrule,
        "until": current.until_local.isoformat() if current.until_local else None,
        "count": current.count}})


@dataclass
class Page:
    """One page of a workspace's posts."""

    rows: list[Post]
    total: int
    page: int
    pages: int
    counts: dict[str, int]     # posts per status, whatever the status asked for


def page_of(workspace_id: int, status: str | None, page: int, per_page: int) -> Page:
    """One page of the workspace's posts, newest first, of one status or all (a status
    that is not a post status is a DomainError: only a hand-made address has one)."""
    if status is not None and status not in POST_STATUSES:
        raise DomainError(f"Unknown status “{status[:40]}”.")
    query = select(Post).where(Post.workspace_id == workspace_id)
    if status:
        query = query.where(Post.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    rows = db.session.scalars(query.order_by(Post.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    counts = dict(db.session.execute(select(Post.status, func.count()).where(
        Post.workspace_id == workspace_id).group_by(Post.status)).all())
    return Page(rows, total, page, pages, counts)


def next_run(post: Post) -> datetime | None:
    """When the post's active schedules next fire, if they do."""
    runs = [s.next_run_at for s in post.schedules
            if s.status == "active" and s.next_run_at is not None]
    return min(runs) if runs else None


def deliveries_of(post: Post, history: int) -> tuple[list[Delivery], list[Delivery]]:
    """The post's open deliveries (soonest first) and its `history` latest settled ones."""
    upcoming = db.session.scalars(
        select(Delivery).where(Delivery.post_id == post.id, Delivery.status.in_(OPEN))
        .order_by(Delivery.next_attempt_at, Delivery.id)).all()
    done = db.session.scalars(
        select(Delivery).where(Delivery.post_id == post.id, Delivery.status.not_in(OPEN))
        .order_by(Delivery.due_at.desc(), Delivery.id.desc()).limit(history)).all()
    return upcoming, done


# Open-ended searches for occurrences look ten years ahead, and never past the calendar's
# end (where converting to a local time would overflow).
OPEN_ENDED = timedelta(days=3653)
LATEST = datetime(9999, 12, 29, tzinfo=UTC)


def search(workspace_id: int, *, status: str | None = None, channel_id: int | None = None,
           campaign_id: int | None = None, start: datetime | None = None,
           end: datetime | None = None):
    """The query (newest first) for the workspace's posts of a status, on a channel, in a
    campaign, and with a delivery or an occurrence in [start, end]; each filter optional."""
    query = select(Post).where(Post.workspace_id == workspace_id)
    if status:
        query = query.where(Post.status == status)
    if channel_id:
        query = query.where(exists().where(post_channels.c.post_id == Post.id,
                                           post_channels.c.channel_id == channel_id))
    if campaign_id:
        query = query.where(Post.campaign_id == campaign_id)
    if start or end:
        query = query.where(Post.id.in_(_with_occurrences(workspace_id, start, end)))
    return query.order_by(Post.id.desc())


def _with_occurrences(workspace_id: int, start, end) -> list[int]:
    """Ids of the workspace's posts with a delivery or a scheduled occurrence in [start, end]."""
    deliveries = select(Delivery.post_id).where(Delivery.workspace_id == workspace_id)
    if start:
        deliveries = deliveries.where(Delivery.due_at >= start)
    if end:
        deliveries = deliveries.where(Delivery.due_at <= end)
    ids = set(db.session.scalars(deliveries.distinct()))
    schedules = db.session.scalars(
        select(Schedule).join(Post).where(Post.workspace_id == workspace_id,
                                          Schedule.status.in_(("active", "paused")),
                                          Schedule.next_run_at.is_not(None)))
    for schedule in schedules:
        if schedule.post_id in ids:
            continue
        lower = max(start or now_utc(), schedule.next_run_at)
        if lower >= LATEST:
            continue
        upper = min(end or LATEST, LATEST)
        if end is None and lower < LATEST - OPEN_ENDED:
            upper = lower + OPEN_ENDED
        if pattern_of(schedule).between(lower, upper, limit=1):
            ids.add(schedule.post_id)
    return list(ids)


def recent_deliveries(post: Post, limit: int, upcoming_only: bool = False) -> list[Delivery]:
    """The post's latest deliveries, or only its open ones, soonest first."""
    query = select(Delivery).where(Delivery.post_id == post.id)
    if upcoming_only:
        query = query.where(Delivery.status.in_(OPEN)).order_by(Delivery.due_at)
    else:
        query = query.order_by(Delivery.due_at.desc(), Delivery.id.desc())
    return db.session.scalars(query.limit(limit)).all()
