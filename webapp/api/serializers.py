"""Rows to JSON, in the contract's shapes. Secrets never leave through here."""

from flask import g, request

from ..errors import ValidationError
from ..models import unpublish_instant
from ..services.approvals import latest_of
from ..services.channels import public_config
from ..timeutil import iso_utc

MAX_PER_PAGE = 200
MAX_PAGE = 2**31 - 1


def channel(c) -> dict:
    """URLs in `config` are masked below admin (services.channels.shown_url)."""
    return {
        "id": c.id, "name": c.name, "platform": c.platform, "color": c.color,
        "config": public_config(c, g.membership.can("admin")),
        "rate_limit_per_hour": c.rate_limit_per_hour,
        "paused": c.paused, "created_at": iso_utc(c.created_at),
        "updated_at": iso_utc(c.updated_at),
    }


def hook(h) -> dict:
    """Whether a hook signs its calls, never its secret."""
    return {"id": h.id, "url": h.url, "events": list(h.events),
            "has_secret": bool(h.secret_encrypted), "created_at": iso_utc(h.created_at)}


def delivery(d) -> dict:
    return {
        "id": d.id, "post_id": d.post_id, "channel_id": d.channel_id,
        "due_at": iso_utc(d.due_at), "status": d.status, "action": d.action,
        "attempts": d.attempts,
        "last_error": d.last_error, "external_id": d.external_id,
        "external_url": d.external_url, "started_at": iso_utc(d.started_at),
        "finished_at": iso_utc(d.finished_at), "next_attempt_at": iso_utc(d.next_attempt_at),
        "warnings": d.warnings or [],
    }


def schedule(s) -> dict:
    return {
        "id": s.id, "action": s.action, "at": s.start_local.isoformat(),
        "timezone": s.timezone, "recurrence": s.rrule,
        "until": s.until_local.isoformat() if s.until_local else None, "count": s.count,
        "status": s.status, "next_run_at": iso_utc(s.next_run_at), "run_count": s.run_count,
        "error_count": s.error_count,
        # When the published post is removed from its channels (UTC), and that time as
        # wall time in the schedule's zone.
        "unpublish_at": iso_utc(unpublish_instant(s)),
        "unpublish_local": s.unpublish_local.isoformat() if s.unpublish_local else None,
    }


def post(p, deliveries) -> dict:
    return {
        "id": p.id, "title": p.title, "body": p.body,
        "channel_ids": [c.id for c in p.channels], "overrides": p.overrides,
        "tags": p.tags, "priority": p.priority, "campaign_id": p.campaign_id,
        "status": p.status, "created_at": iso_utc(p.created_at),
        "updated_at": iso_utc(p.updated_at),
        "schedules": [schedule(s) for s in p.schedules],
        "deliveries": [delivery(d) for d in deliveries],
        "approval": approval_state(p),
    }


def approval_state(p) -> dict | None:
    """The post's latest approval request, in short (a rejection's comment is there)."""
    latest = latest_of(p)
    return latest and {"status": latest.status, "comment": latest.comment,
                       "decided_at": iso_utc(latest.decided_at)}


def workspace(w) -> dict:
    return {"id": w.id, "name": w.name, "approval": w.approval,
            "created_at": iso_utc(w.created_at)}


def approval(a) -> dict:
    return {
        "id": a.id, "post_id": a.post_id, "status": a.status,
        "requested_by": a.requested_by, "requested_at": iso_utc(a.requested_at),
        "decided_by": a.decided_by, "decided_via": a.decided_via,
        "decided_at": iso_utc(a.decided_at), "comment": a.comment,
        "post": {"id": a.post.id, "title": a.post.title, "status": a.post.status},
    }


def audit_event(e) -> dict:
    """Before and after hold no secrets: what records them leaves them out."""
    return {"at": iso_utc(e.created_at), "user_id": e.user_id, "action": e.action,
            "object_type": e.object_type, "object_id": e.object_id, "before": e.before,
            "after": e.after}
def member(m) -> dict:
    """A membership: its id is the one PATCH and DELETE /members/{id} take."""
    return {"id": m.id, "user_id": m.user_id, "email": m.user.email, "role": m.role,
            "joined_at": iso_utc(m.created_at)}


def occurrence(o) -> dict:
    return {"at": iso_utc(o.at), "local": o.local.isoformat(), "warnings": o.warnings}


def page_args() -> tuple[int, int]:
    """`page` (1 to MAX_PAGE) and `per_page` (1 to MAX_PER_PAGE), or 422 naming each wrong one."""
    fields = {}
    values = []
    for name, default, high in (("page", 1, MAX_PAGE), ("per_page", 50, MAX_PER_PAGE)):
        raw = request.args.get(name) or str(default)
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= high:
            fields[name] = f"must be a whole number from 1 to {high}"
            values.append(default)
        else:
            values.append(int(raw))
    if fields:
        raise ValidationError("invalid pagination", fields)
    page, per_page = values
    return page, per_page


def paginate(query, render, session) -> dict:
    """Run a select() one page at a time: {"items", "page", "per_page", "total"}."""
    from sqlalchemy import func, select

    page, per_page = page_args()
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    offset = (page - 1) * per_page
    rows = session.scalars(query.limit(per_page).offset(offset)).all() if offset < total else []
    return {"items": [render(r) for r in rows], "page": page, "per_page": per_page,
            "total": total}


def campaign(c) -> dict:
    return {
        "id": c.id, "name": c.name, "description": c.description, "color": c.color,
        "status": c.status, "tags": list(c.tags), "target_post_count": c.target_post_count,
        "start_date": c.start_date.isoformat() if c.start_date else None,
        "end_date": c.end_date.isoformat() if c.end_date else None,
        "created_at": iso_utc(c.created_at), "updated_at": iso_utc(c.updated_at),
    }


def template(t) -> dict:
    return {
        "id": t.id, "name": t.name, "description": t.description, "title": t.title,
        "body": t.body, "channel_ids": list(t.channel_ids), "overrides": dict(t.overrides),
        "tags": list(t.tags), "priority": t.priority, "campaign_id": t.campaign_id,
        "recurrence": t.recurrence, "favorite": t.favorite, "use_count": t.use_count,
        "last_used_at": iso_utc(t.last_used_at), "created_by": t.created_by,
        "created_at": iso_utc(t.created_at), "updated_at": iso_utc(t.updated_at),
    }


def campaign_stats(s) -> dict:
    return {"campaign_id": s.campaign_id, "total_posts": s.total_posts,
            "scheduled": s.scheduled, "published": s.published, "failed": s.failed,
            "progress": s.progress, "days_remaining": s.days_remaining,
            "status_distribution": s.status_distribution}
