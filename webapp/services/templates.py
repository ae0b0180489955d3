"""Templates: reusable posts. A template keeps what a post starts from (text, channels,
per-channel texts, tags, priority, campaign, recurrence); using one makes a post through
posts.create, so every rule of a post (channel limits, schedules, approval, campaigns)
applies to it as to any other."""

from datetime import UTC, datetime

from sqlalchemy import func, or_, select

from ..errors import ValidationError
from ..extensions import db
from ..models import Channel, Post, Template
from ..models.audit import record
from ..timeutil import now_utc, parse_recurrence
from . import posts
from .validation import Errors, in_workspace, integer, text

NAME_MAX, DESCRIPTION_MAX = 120, 5000
# What a template gives a post it is used for (the post's own field names).
POST_FIELDS = ("title", "body", "channel_ids", "overrides", "tags", "priority", "campaign_id")


def get(workspace_id: int, template_id) -> Template:
    """The workspace's template, or NotFound (another workspace's too)."""
    return in_workspace(Template, workspace_id, template_id, "template")


def search(workspace_id: int, *, campaign_id: int | None = None, favorites_only: bool = False,
           q: str | None = None, tag: str | None = None):
    """The query for the workspace's templates: favourites first, then the most used, then
    the most recently used; each filter optional. `q` looks in the name, the description
    and the text (case-insensitive); `tag` keeps those with that tag."""
    query = select(Template).where(Template.workspace_id == workspace_id)
    if campaign_id:
        query = query.where(Template.campaign_id == campaign_id)
    if favorites_only:
        query = query.where(Template.favorite.is_(True))
    if q and q.strip():
        needle = q.strip().lower()
        query = query.where(or_(*(func.lower(column).contains(needle, autoescape=True)
                                  for column in (Template.name, Template.description,
                                                 Template.body))))
    if tag and tag.strip():
        # Tags are a JSON list, which SQLite and PostgreSQL search differently: the few
        # templates of a workspace are looked through here.
        wanted = tag.strip()
        ids = [row.id for row in db.session.execute(
            select(Template.id, Template.tags).where(Template.workspace_id == workspace_id))
            if wanted in (row.tags or [])]
        query = query.where(Template.id.in_(ids))
    return query.order_by(Template.favorite.desc(), Template.use_count.desc(),
                          Template.last_used_at.is_(None), Template.last_used_at.desc(),
                          Template.name, Template.id)


def of_workspace(workspace_id: int, **filters) -> list[Template]:
    """The workspace's templates matching `filters` (see search), in the library's order."""
    return db.session.scalars(search(workspace_id, **filters)).all()


def tags_of(workspace_id: int) -> list[str]:
    """Every tag the workspace's templates have, sorted (the library's tag filter)."""
    found: set[str] = set()
    for tags in db.session.scalars(select(Template.tags)
                                   .where(Template.workspace_id == workspace_id)):
        found.update(tags or [])
    return sorted(found, key=str.lower)


def snapshot(template: Template) -> dict:
    """The fields the audit log compares."""
    return {"name": template.name, "description": template.description,
            "title": template.title, "body": template.body,
            "channel_ids": list(template.channel_ids), "overrides": dict(template.overrides),
            "tags": list(template.tags), "priority": template.priority,
            "campaign_id": template.campaign_id, "recurrence": template.recurrence,
            "favorite": template.favorite}


def _apply(template: Template, data: dict, partial: bool) -> None:
    """Set the fields `data` gives (all of them on create) with the rules a post's fields
    have; fields it does not know are ignored. ValidationError naming every wrong field."""
    errors = Errors()
    workspace_id = template.workspace_id

    def given(name):
        return name in data or not partial

    if given("name"):
        template.name = text(data.get("name"), "name", errors, max_length=NAME_MAX,
                             required=True).strip()
    if given("description"):
        template.description = text(data.get("description"), "description", errors,
                                    max_length=DESCRIPTION_MAX).strip()
    if given("title"):
        template.title = text(data.get("title"), "title", errors, max_length=posts.TITLE_MAX)
    if given("body"):
        template.body = text(data.get("body"), "body", errors, max_length=posts.BODY_MAX,
                             required=True)
    if given("priority"):
        template.priority = integer(data.get("priority", 5), "priority", errors, low=1,
                                    high=10) or 5
    channels = None
    if given("channel_ids"):
        channels = posts.channels_of(workspace_id, data.get("channel_ids"), errors)
        template.channel_ids = [c.id for c in channels]
    if given("overrides"):
        template.overrides = posts.read_overrides(data.get("overrides"), errors)
    if given("tags"):
        template.tags = list(dict.fromkeys(
            t.strip() for t in posts.read_tags(data.get("tags"), errors) if t.strip()))
    if given("campaign_id"):
        template.campaign_id = posts.read_campaign(workspace_id, data.get("campaign_id"),
                                                   errors, template.campaign_id)
    if given("recurrence"):
        try:
            # A template has no start: the rule is checked from now (a schedule's own
            # start checks it again when the template is used).
            template.recurrence = parse_recurrence(
                data.get("recurrence"), datetime.now(UTC).replace(tzinfo=None), "recurrence")
        except ValidationError as exc:
            errors.capture(exc)
    if given("favorite"):
        favorite = data.get("favorite", False)
        if not isinstance(favorite, bool):
            errors.add("favorite", "must be true or false")
        else:
            template.favorite = favorite
    if channels is None:
        channels = _channels(workspace_id, template.channel_ids)
    posts.check_texts(channels, template.overrides or {}, template.body or "", errors)
    errors.raise_if_any()


def _channels(workspace_id: int, ids) -> list[Channel]:
    """The template's channels that still exist, in its order."""
    found = {c.id: c for c in db.session.scalars(select(Channel).where(
        Channel.workspace_id == workspace_id, Channel.id.in_(list(ids or []))))}
    return [found[i] for i in ids or [] if i in found]


def create(workspace_id: int, user_id: int | None, data: dict) -> Template:
    """A new template from `data` (the API's fields); ValidationError naming every wrong
    field, and nothing saved, otherwise."""
    template = Template(workspace_id=workspace_id, created_by=user_id, description="",
                        title="", channel_ids=[], overrides={}, tags=[], priority=5,
                        favorite=False, use_count=0)
    try:
        with db.session.no_autoflush:
            _apply(template, data, partial=False)
    except ValidationError:
        db.session.rollback()
        raise
    db.session.add(template)
    db.session.flush()
    record(workspace_id, "template.created", template, user_id=user_id,
           after=snapshot(template))
    db.session.commit()
    return template


def update(template: Template, user_id: int | None, data: dict) -> Template:
    """Change the fields `data` gives; nothing changes when one is wrong."""
    before = snapshot(template)
    try:
        with db.session.no_autoflush:
            _apply(template, data, partial=True)
    except ValidationError:
        db.session.rollback()
        raise
    record(template.workspace_id, "template.updated", template, user_id=user_id,
           before=before, after=snapshot(template))
    db.session.commit()
    return template


def delete(template: Template, user_id: int | None) -> None:
    """Remove a template; the posts made from it stay (their template_id → null)."""
    record(template.workspace_id, "template.deleted", template, user_id=user_id,
           before=snapshot(template))
    db.session.delete(template)
    db.session.commit()


def toggle_favorite(template: Template, user_id: int | None) -> Template:
    """Star the template, or take its star off (favourites come first); audited."""
    before = snapshot(template)
    template.favorite = not template.favorite
    record(template.workspace_id,
           "template.favorited" if template.favorite else "template.unfavorited", template,
           user_id=user_id, before=before, after=snapshot(template))
    db.session.commit()
    return template


def post_data(template: Template, data: dict | None = None) -> dict:
    """The POST /posts fields a post made from the template starts with, `data`'s fields
    overriding the template's. Channels removed since the template was saved are left out
    (with their texts); a schedule given without a recurrence takes the template's."""
    data = dict(data or {})
    channel_ids = [c.id for c in _channels(template.workspace_id, template.channel_ids)]
    chosen = data.get("channel_ids", channel_ids)
    chosen = {str(i) for i in chosen} if isinstance(chosen, list) else set()
    merged = {"title": template.title, "body": template.body, "channel_ids": channel_ids,
              "overrides": {k: v for k, v in (template.overrides or {}).items()
                            if k in chosen},
              "tags": list(template.tags), "priority": template.priority,
              "campaign_id": template.campaign_id} | data
    schedule = data.get("schedule")
    if isinstance(schedule, dict) and "recurrence" not in schedule and template.recurrence:
        merged["schedule"] = {**schedule, "recurrence": template.recurrence}
    return merged


def use(template: Template, user_id: int | None, data: dict | None = None) -> Post:
    """A post made from the template with `data`'s fields overriding it, through
    posts.create (every rule of POST /posts); the template's use count and last use go
    up in the same transaction. A wrong field changes nothing."""
    before = {"use_count": template.use_count}
    template.use_count = (template.use_count or 0) + 1
    template.last_used_at = now_utc()
    record(template.workspace_id, "template.used", template, user_id=user_id, before=before,
           after={"use_count": template.use_count})
    try:
        return posts.create(template.workspace_id, user_id, post_data(template, data),
                            template_id=template.id)
    except Exception:
        db.session.rollback()
        raise
