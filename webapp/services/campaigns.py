"""Campaigns: grouping posts under a goal, pausing and resuming all of them at once."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..errors import ValidationError
from ..extensions import db
from ..models import CAMPAIGN_STATUSES, POST_STATUSES, Campaign, Post, Schedule, Template
from ..models.audit import record
from ..timeutil import now_utc, parse_date
from . import posts
from .channels import COLOR
from .validation import Errors, in_workspace, integer, text

NAME_MAX, DESCRIPTION_MAX = 120, 5000
TAG_MAX, TAGS_MAX = 50, 20
TARGET_MAX = 1_000_000
# A partially published post went out on some channels: it counts towards the goal.
PUBLISHED = ("published", "partially_published")


def search(workspace_id: int, *, archived: bool | None = None):
    """The query for the workspace's campaigns: active ones first, then by name.
    `archived` True or False keeps only the archived ones or only the others."""
    query = select(Campaign).where(Campaign.workspace_id == workspace_id)
    if archived is not None:
        query = query.where((Campaign.status == "archived") == archived)
    return query.order_by((Campaign.status != "active"), Campaign.name, Campaign.id)


def of_workspace(workspace_id: int, *, archived: bool | None = None) -> list[Campaign]:
    """The workspace's campaigns (only the archived ones, or none of them, with
    `archived`), in the list's order."""
    return db.session.scalars(search(workspace_id, archived=archived)).all()


def pickable(workspace_id: int, current_id: int | None = None) -> list[Campaign]:
    """The campaigns a post may be filed under (none archived), and the post's own."""
    return [c for c in of_workspace(workspace_id)
            if c.status != "archived" or c.id == current_id]


def get(workspace_id: int, campaign_id) -> Campaign:
    """The workspace's campaign, or NotFound."""
    return in_workspace(Campaign, workspace_id, campaign_id, "campaign")


def snapshot(campaign: Campaign) -> dict:
    """The fields the audit log compares."""
    return {"name": campaign.name, "description": campaign.description,
            "color": campaign.color, "status": campaign.status, "tags": list(campaign.tags),
            "target_post_count": campaign.target_post_count,
            "start_date": campaign.start_date.isoformat() if campaign.start_date else None,
            "end_date": campaign.end_date.isoformat() if campaign.end_date else None}


def _apply(campaign: Campaign, data: dict, partial: bool) -> None:
    """Set the fields `data` gives (all of them on create); fields it does not know are
    ignored, as elsewhere in the API. ValidationError naming every wrong field."""
    errors = Errors()

    def given(name):
        return name in data or not partial

    if given("name"):
        name = text(data.get("name"), "name", errors, max_length=NAME_MAX, required=True)
        campaign.name = name.strip()
    if given("description"):
        campaign.description = text(data.get("description"), "description", errors,
                                    max_length=DESCRIPTION_MAX).strip()
    if given("color") and data.get("color") is not None:
        color = data["color"]
        if not isinstance(color, str) or not COLOR.fullmatch(color):
            errors.add("color", "must be a colour like #8b5cf6")
        else:
            campaign.color = color.lower()
    if given("status") and (data.get("status") is not None or partial):
        if data.get("status") not in CAMPAIGN_STATUSES:
            errors.add("status", f"must be one of: {', '.join(CAMPAIGN_STATUSES)}")
        else:
            campaign.status = data["status"]
    if given("tags"):
        campaign.tags = _tags(data.get("tags"), errors)
    if given("target_post_count"):
        campaign.target_post_count = integer(data.get("target_post_count"),
                                             "target_post_count", errors, low=1,
                                             high=TARGET_MAX)
    for name in ("start_date", "end_date"):
        if given(name):
            try:
                setattr(campaign, name, parse_date(data.get(name), name))
            except ValidationError as exc:
                errors.capture(exc)
    if ("start_date" not in errors.fields and "end_date" not in errors.fields
            and campaign.start_date and campaign.end_date
            and campaign.end_date < campaign.start_date):
        errors.add("end_date", "must be on or after the start date")
    errors.raise_if_any()


def _tags(value, errors: Errors) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        errors.add("tags", "must be a list of strings")
        return []
    if len(value) > TAGS_MAX:
        errors.add("tags", f"has {len(value)} tags; at most {TAGS_MAX}")
        return []
    tags: list[str] = []
    for tag in value:
        tag = text(tag, "tags", errors, max_length=TAG_MAX).strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def _save(campaign: Campaign) -> None:
    """Flush, refusing a second campaign of the same name in the workspace (the CSV
    import and the pickers name campaigns: a name must say which one)."""
    query = select(Campaign.id).where(Campaign.workspace_id == campaign.workspace_id,
                                      Campaign.name == campaign.name)
    if campaign.id:
        query = query.where(Campaign.id != campaign.id)
    with db.session.no_autoflush:
        taken = db.session.scalar(query)
    message = f"a campaign named “{campaign.name}” exists already"
    if taken:
        raise ValidationError.field("name", message)
    try:
        db.session.flush()
    except IntegrityError:  # made in a parallel request
        db.session.rollback()
        raise ValidationError.field("name", message) from None


def create(workspace_id: int, user_id: int | None, data: dict) -> Campaign:
    """A new campaign from `data`; ValidationError naming every wrong field, and nothing
    saved, otherwise. A campaign begins active unless `data` says otherwise."""
    campaign = Campaign(workspace_id=workspace_id, description="", tags=[], status="active")
    _apply(campaign, data, partial=False)
    db.session.add(campaign)
    _save(campaign)
    record(workspace_id, "campaign.created", campaign, user_id=user_id,
           after=snapshot(campaign))
    db.session.commit()
    return campaign


@dataclass
class Outcome:
    """What pausing or resuming a campaign did to its posts."""
    changed: int = 0
    skipped: int = 0


def update(campaign: Campaign, user_id: int | None, data: dict) -> tuple[Campaign, Outcome]:
    """Change the fields `data` gives. A status moving to paused pauses every schedule of
    the campaign's posts; moving from paused to active resumes them."""
    before = snapshot(campaign)
    _apply(campaign, data, partial=True)
    _save(campaign)
    pausing = campaign.status == "paused" and before["status"] != "paused"
    resuming = campaign.status == "active" and before["status"] == "paused"
    action = ("campaign.paused" if pausing else "campaign.resumed" if resuming
              else "campaign.updated")
    record(campaign.workspace_id, action, campaign, user_id=user_id, before=before,
           after=snapshot(campaign))
    db.session.commit()
    outcome = Outcome()
    if pausing or resuming:
        outcome = _each_post(campaign, user_id, "active" if pausing else "paused",
                             posts.pause if pausing else posts.resume)
    return campaign, outcome


def pause(campaign: Campaign, user_id: int | None) -> Outcome:
    """Pause every active schedule of the campaign's posts, in one action."""
    return update(campaign, user_id, {"status": "paused"})[1]


def resume(campaign: Campaign, user_id: int | None) -> Outcome:
    """Resume every paused schedule of the campaign's posts (posts.resume's rules)."""
    return update(campaign, user_id, {"status": "active"})[1]


def _each_post(campaign: Campaign, user_id: int | None, schedule_status: str,
               action) -> Outcome:
    """Run `action` (posts.pause or posts.resume) on each post of the campaign with a
    schedule in `schedule_status`; the others have nothing to pause or resume."""
    outcome = Outcome()
    for post in db.session.scalars(select(Post).where(Post.campaign_id == campaign.id)
                                   .order_by(Post.id)):
        if any(s.status == schedule_status for s in post.schedules):
            action(post, user_id)
            outcome.changed += 1
        else:
            outcome.skipped += 1
    return outcome


def delete(campaign: Campaign, user_id: int | None) -> None:
    """Remove the campaign; its posts and templates stay, filed under no campaign."""
    for model in (Post, Template):
        db.session.execute(model.__table__.update().where(model.campaign_id == campaign.id)
                           .values(campaign_id=None))
    record(campaign.workspace_id, "campaign.deleted", campaign, user_id=user_id,
           before=snapshot(campaign))
    db.session.delete(campaign)
    db.session.commit()


@dataclass
class Stats:
    campaign_id: int
    total_posts: int
    scheduled: int
    published: int
    failed: int
    progress: float | None
    days_remaining: int | None
    status_distribution: dict[str, int]
    schedules_active: int
    schedules_paused: int


def stats(campaign: Campaign, today: date | None = None) -> Stats:
    """Where the campaign stands: its posts by status, progress towards the target (None
    without one) and whole days until its end date (0 once passed, None without one)."""
    counts = dict(db.session.execute(
        select(Post.status, func.count()).where(Post.campaign_id == campaign.id)
        .group_by(Post.status)).all())
    distribution = {status: counts.get(status, 0) for status in POST_STATUSES}
    published = sum(distribution[s] for s in PUBLISHED)
    schedules = dict(db.session.execute(
        select(Schedule.status, func.count()).join(Post)
        .where(Post.campaign_id == campaign.id).group_by(Schedule.status)).all())
    today = today or now_utc().date()
    target = campaign.target_post_count
    return Stats(
        campaign_id=campaign.id, total_posts=sum(distribution.values()),
        scheduled=distribution["scheduled"], published=published,
        failed=distribution["failed"],
        progress=round(published / target, 4) if target else None,
        days_remaining=(max(0, (campaign.end_date - today).days)
                        if campaign.end_date else None),
        status_distribution=distribution,
        schedules_active=schedules.get("active", 0),
        schedules_paused=schedules.get("paused", 0))
