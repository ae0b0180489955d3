"""The dashboard's figures: what goes out in the next 24 hours and 7 days, what failed and
needs attention, and the last 14 days per calendar day of the user's zone."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from ..extensions import db
from ..models import OPEN, Channel, Delivery, Post
from ..timeutil import now_utc
from . import deliveries

SHOWN = 6            # deliveries listed in "Next 24 hours" and "Needs attention"
WEEK = 7             # days ahead
CHART_DAYS = 14      # days back in the chart and the figures


def midnights(first: date, days: int, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the calendar days first..first+days begin in `zone`."""
    return [datetime.combine(first + timedelta(days=i), time.min, tzinfo=zone).astimezone(UTC)
            for i in range(days + 1)]


def per_day(column, bounds: list[datetime], *where, by=None) -> dict:
    """Rows per day (between consecutive `bounds`), and per `by` when given, in one
    grouped query that works the same on SQLite and PostgreSQL."""
    day = case(*[(column < bound, i) for i, bound in enumerate(bounds[1:])], else_=None)
    # Grouped outside a subquery: PostgreSQL would not see the CASE in the select list and
    # in GROUP BY (each with its own parameters) as the same expression.
    inner = select(day.label("day"), *([by.label("by")] if by is not None else [])).where(
        *where, column >= bounds[0], column < bounds[-1]).subquery()
    keys = [inner.c.day] + ([inner.c.by] if by is not None else [])
    query = select(*keys, func.count()).group_by(*keys)
    return {tuple(row[:-1]) if by is not None else row[0]: row[-1]
            for row in db.session.execute(query)}


def chart(bounds: list[datetime], counts: dict, zone: ZoneInfo) -> dict:
    """Geometry of the published/failed bars (an SVG drawn by the template)."""
    width, height, top, bottom, left = 560, 160, 14, 26, 36
    days = len(bounds) - 1
    slot = (width - left) / days
    rows = [(counts.get((i, "published"), 0), counts.get((i, "failed"), 0)) for i in range(days)]
    peak = max([p + f for p, f in rows] + [1])
    scale = (height - top - bottom) / peak
    bars = []
    for i, (published, failed) in enumerate(rows):
        day = bounds[i].astimezone(zone)
        x = left + i * slot + slot * 0.15
        ph, fh = published * scale, failed * scale
        base = height - bottom
        bars.append({"x": round(x, 1), "w": round(slot * 0.7, 1), "label": day.strftime("%d"),
                     "name": day.strftime("%a %d %b"), "published": published, "failed": failed,
                     "py": round(base - ph, 1), "ph": round(ph, 1),
                     "fy": round(base - ph - fh, 1), "fh": round(fh, 1),
                     "tx": round(x + slot * 0.35, 1)})
    return {"width": width, "height": height, "base": height - bottom, "top": top,
            "left": left, "peak": peak, "bars": bars,
            "published": sum(p for p, _ in rows), "failed": sum(f for _, f in rows)}


def overview(workspace_id: int, zone: ZoneInfo) -> dict:
    """Everything the dashboard shows, for the workspace, in the user's `zone`."""
    now = now_utc()
    ws = Delivery.workspace_id == workspace_id
    waiting = (ws, Delivery.status.in_(OPEN))
    day_ahead = (*waiting, Delivery.next_attempt_at <= now + timedelta(hours=24))
    week_ahead = (*waiting, Delivery.next_attempt_at <= now + timedelta(days=WEEK))
    failed = (ws, Delivery.status == "failed")
    today = now.astimezone(zone).date()

    # What goes out this week, day by day (earlier ones still waiting count as today).
    week_bounds = midnights(today, WEEK, zone)
    week_counts = per_day(Delivery.next_attempt_at, week_bounds, *waiting)
    overdue = db.session.scalar(select(func.count()).where(
        *waiting, Delivery.next_attempt_at < week_bounds[0]))
    week = [{"day": week_bounds[i].astimezone(zone).date(),
             "count": week_counts.get(i, 0) + (overdue if i == 0 else 0)} for i in range(WEEK)]

    chart_bounds = midnights(today - timedelta(days=CHART_DAYS - 1), CHART_DAYS, zone)
    # By due day, as the figures: the (workspace, status, due time) index finds them.
    done = per_day(Delivery.due_at, chart_bounds, ws,
                   Delivery.status.in_(("published", "failed")), by=Delivery.status)
    return {
        "day_count": db.session.scalar(select(func.count()).where(*day_ahead)),
        "week_count": db.session.scalar(select(func.count()).where(*week_ahead)),
        "failed_count": db.session.scalar(select(func.count()).where(*failed)),
        "upcoming": db.session.scalars(
            select(Delivery).where(*day_ahead)
            .order_by(Delivery.next_attempt_at, Delivery.id).limit(SHOWN)).all(),
        "failures": db.session.scalars(
            select(Delivery).where(*failed)
            .order_by(Delivery.finished_at.desc(), Delivery.id.desc()).limit(SHOWN)).all(),
        "week": week, "today": today,
        "stats": deliveries.stats(workspace_id, CHART_DAYS),
        "chart": chart(chart_bounds, done, zone), "chart_days": CHART_DAYS,
        "has_channels": db.session.scalar(
            select(Channel.id).where(Channel.workspace_id == workspace_id).limit(1)) is not None,
        "has_posts": db.session.scalar(
            select(Post.id).where(Post.workspace_id == workspace_id).limit(1)) is not None,
    }
