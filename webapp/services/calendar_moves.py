"""Moving a calendar item, through the services, checked like any edit.

- a one-off post moves with `services.posts.move` (its schedule starts at the new time);
- a materialised occurrence of a recurring post (or an extra delivery) moves alone: each
  of its waiting deliveries with `services.deliveries.move`;
- an occurrence not yet materialised moves the whole series by the same amount: the
  schedule is replaced by one starting at the first still-to-come occurrence, shifted.

The time dropped on is read in the calendar's zone (`tz`); one-off and series moves keep
the schedule's own zone (the instant is converted), so "9:00 New York" stays a New York
rule. Every move says what it changed, reports DST warnings, and carries what undoes it.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..errors import Conflict, ValidationError
from ..extensions import db
from ..models import Post, Schedule, pattern_of
from ..timeutil import Occurrence, describe_rule, now_utc, parse_at, resolve, zone
from . import calendar as items
from . import deliveries as delivery_service
from . import posts as post_service
from .calendar import Found, parse_ref, ref_for


@dataclass
class Moved:
    message: str
    ref: str  # the item at its new place
    post: Post
    scope: str
    warnings: list[str] = field(default_factory=list)
    # Posting these back (ref, to, tz) moves the item back.
    undo: dict | None = None


def when(local: datetime) -> str:
    """A local time for messages: "Tue 08 Dec 2026, 09:00 CET" (seconds only if any)."""
    clock = "%H:%M:%S" if local.second else "%H:%M"
    return local.strftime(f"%a %d %b %Y, {clock} %Z")


def move(workspace_id: int, user_id: int, ref_value, to, tz_name) -> Moved:
    """Move the item `ref_value` names to the wall time `to` in the zone `tz_name`.
    Raises NotFound (not in this workspace), ValidationError (bad or past time) or
    Conflict (the item cannot move now); nothing changes then."""
    ref = parse_ref(ref_value)
    tz = zone(tz_name, "tz")
    wall = parse_at(to, tz, "to")
    target = resolve(wall, tz)
    found = items.find(workspace_id, ref)
    if target.at <= now_utc():
        raise ValidationError.field("to", f"{when(target.local)} is in the past: choose a "
                                          "later time")
    if not found.movable:
        raise Conflict(why_not(found))
    if found.scope == "series":
        return _move_series(found, user_id, target, tz)
    if abs((target.at - ref.at).total_seconds()) < 1:
        raise Conflict(f"“{_title(found.post)}” is already at {when(target.local)}")
    if found.scope == "post":
        return _move_post(found, user_id, target, tz)
    return _move_occurrence(found, user_id, wall, target, tz)


def _title(post: Post) -> str:
    return items.title_of(post.title, post.body)


def why_not(found: Found) -> str:
    """Why the item found cannot be moved, in words for the person moving it."""
    if found.post.status == "cancelled":
        return f"“{_title(found.post)}” is cancelled"
    if found.status == "paused":
        return f"“{_title(found.post)}” is paused: resume it before moving it"
    if found.ref.kind == "s":
        return f"the schedule of “{_title(found.post)}” has ended"
    return (f"this occurrence of “{_title(found.post)}” is {found.status}: only posts "
            "still waiting to go out can move")


def _merge(*lists) -> list[str]:
    merged = []
    for warnings in lists:
        for w in warnings:
            if w not in merged:
                merged.append(w)
    return merged


def _live_schedule(post: Post) -> Schedule | None:
    db.session.refresh(post)
    live = [s for s in post.schedules if s.status in ("active", "paused")]
    return live[-1] if live else None


def _move_post(found: Found, user_id: int, target: Occurrence, tz: ZoneInfo) -> Moved:
    """A one-off post: its schedule moves (the service withdraws and re-plans it)."""
    post, schedule = found.post, found.schedule
    own = ZoneInfo(schedule.timezone)
    local = target.at.astimezone(own).replace(tzinfo=None)
    post_service.move(post, user_id, local.isoformat(), schedule.timezone)
    new = _live_schedule(post)
    landed = resolve(local, own)
    return Moved(
        message=f"Moved “{_title(post)}” to {when(landed.at.astimezone(tz))}.",
        ref=ref_for("d", landed.at, post.id, new.id if new else None), post=post,
        scope="post", warnings=_merge(target.warnings, landed.warnings),
        undo={"to": _wall(found.ref.at, tz), "tz": tz.key})


def _move_occurrence(found: Found, user_id: int, wall: datetime, target: Occurrence,
                     tz: ZoneInfo) -> Moved:
    """One occurrence of a series (or an extra delivery): its waiting deliveries move. The
    wall time as given goes to the service, which applies (and records) the DST rule."""
    post, schedule, waiting = found.post, found.schedule, found.waiting
    if schedule is not None:
        _check_free(schedule, [d.channel_id for d in waiting], target)
    moved = [delivery_service.move(d, user_id, wall.isoformat(), tz.key) for d in waiting]
    landed = moved[0].due_at
    left = len(found.deliveries) - len(waiting)
    message = f"Moved this occurrence of “{_title(post)}” to {when(landed.astimezone(tz))}"
    message += (": the rest of the series stays as it was." if found.recurring else ".")
    if left:
        message += (f" {left} of its channels had already been tried and stay"
                    f"{'s' if left == 1 else ''} where {'it' if left == 1 else 'they'} "
                    "were.")
    return Moved(
        message=message, ref=ref_for("d", landed, post.id, schedule.id if schedule else None),
        post=post, scope="occurrence",
        warnings=_merge(target.warnings, *(d.warnings or [] for d in moved)),
        undo={"to": _wall(found.ref.at, tz), "tz": tz.key})


def _check_free(schedule: Schedule, channel_ids: list[int], target: Occurrence) -> None:
    """Two deliveries of one schedule and channel cannot share a time (the planner relies on
    it): refuse a move onto another occurrence of the same series."""
    if delivery_service.slot_taken(schedule, channel_ids, target.at):
        raise Conflict(f"another occurrence of this series is already at "
                       f"{when(target.local)}; choose another time")


def _wall(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).replace(tzinfo=None).isoformat()


def _move_series(found: Found, user_id: int, target: Occurrence, tz: ZoneInfo) -> Moved:
    """Shift the whole series by the distance between the occurrence and the drop, in the
    schedule's wall time. Occurrences already due stay in the past; the new schedule starts
    at the first one still to come (shifted), and its count and end shift with it."""
    post, schedule = found.post, found.schedule
    live = [s for s in post.schedules if s.status in ("active", "paused")]
    if not live or live[0].id != schedule.id:
        raise Conflict(f"“{_title(post)}” has more than one schedule: change it in the "
                       "editor")
    own = ZoneInfo(schedule.timezone)
    delta = (target.at.astimezone(own).replace(tzinfo=None)
             - found.ref.at.astimezone(own).replace(tzinfo=None))
    if not delta:
        raise Conflict(f"“{_title(post)}” is already at {when(target.local)}")
    now = now_utc()
    pattern = pattern_of(schedule)
    # COUNT counts from the start, so with a count the walk starts there (at most 10,000).
    after = None if schedule.count else (now.astimezone(own) - timedelta(days=2)).replace(
        tzinfo=None) - abs(delta)
    skipped, start = 0, None
    for wall in pattern.wall_times(after):
        if resolve(wall, own).at > now and resolve(wall + delta, own).at > now:
            start = wall + delta
            break
        skipped += 1
    if start is None:
        raise Conflict(f"the series of “{_title(post)}” has no occurrence left to move")
    count = schedule.count - skipped if schedule.count else None
    until = schedule.until_local + delta if schedule.until_local else None
    before = schedule.start_local
    post_service.update_post(post, user_id, {"schedule": {
        "at": start.isoformat(), "timezone": schedule.timezone, "recurrence": schedule.rrule,
        "until": until.isoformat() if until else None, "count": count}})
    new = _live_schedule(post)
    first = resolve(start, own)
    message = (f"Moved the whole series “{_title(post)}” ({describe(schedule.rrule)}), "
               f"{_distance(delta)}: it now starts {when(first.at.astimezone(tz))}.")
    if before != start - delta:
        message += " Occurrences already past are not repeated."
    notes = []
    if not pattern_of(new).between(target.at, target.at + timedelta(seconds=1), limit=1):
        notes.append(f"The repeat rule keeps its days, so no occurrence falls exactly on "
                     f"{when(target.local)}: check the calendar.")
    return Moved(message=message, ref=ref_for("s", target.at, schedule_id=new.id), post=post,
                 scope="series", warnings=_merge(target.warnings, first.warnings, notes),
                 undo={"to": _wall(found.ref.at, tz), "tz": tz.key})


def describe(rule: str | None) -> str:
    """The rule in words, inside a sentence (so lower-case first)."""
    words = describe_rule(rule)
    return words[:1].lower() + words[1:]


def _distance(delta: timedelta) -> str:
    seconds = abs(int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in (
        (days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")) if n]
    return " ".join(parts) + (" later" if delta > timedelta(0) else " earlier")
