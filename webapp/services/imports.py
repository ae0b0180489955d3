"""Bulk scheduling from a CSV file: every row is checked with the rules of creating one
post, then every row is written at once, or none is.

Only posts, their channel links and their schedules are written here (bulk inserts, one
transaction, one audit event for the whole file). Their deliveries and jobs come from the
planner, which runs every few seconds in the scheduler process, as it does for the later
occurrences of recurring posts.
"""

import csv
import difflib
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from ..engine import planner
from ..errors import ValidationError
from ..extensions import db
from ..models import (
    CLOSED_CAMPAIGNS,
    Approval,
    AuditEvent,
    Campaign,
    Channel,
    Post,
    Schedule,
    Workspace,
    post_channels,
)
from ..models.audit import record
from ..timeutil import now_utc
from . import approvals, posts, schedules
from .spreadsheet import safe_cell, unsafe_cell
from .validation import Errors, text

MAX_ROWS = 20_000
COLUMNS = ("body", "title", "at", "timezone", "channels", "recurrence", "campaign")
# The services' field names for what the CSV calls by its column names.
COLUMN_OF = {"channel_ids": "channels", "campaign_id": "campaign"}
# DST warnings kept in the audit event, for the result page.
WARNINGS_KEPT = 100
ACTION = "posts.imported"
SEPARATOR = re.compile(r"[;,]")


@dataclass(frozen=True)
class Problem:
    """What is wrong with one cell or row of a CSV file."""

    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str | None
    message: str


class Refused(ValidationError):
    """The file, or some of its rows, cannot be imported; nothing was written."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass
class Row:
    """A checked row, ready to be written."""

    number: int
    title: str
    body: str
    channel_ids: list[int]
    campaign_id: int | None
    spec: schedules.ScheduleSpec | None


def import_csv(workspace_id: int, user_id: int, raw: bytes, default_zone: str,
               filename: str = "") -> AuditEvent:
    """Import every row of `raw` (a CSV file's bytes) as a post of the workspace, or none:
    raises Refused with every problem found. Returns the import's audit event, whose
    `after` says what was imported."""
    columns, cells = _read(raw)
    names = Names(workspace_id)
    # SQLite takes its write lock when a transaction begins: end the one that read the
    # channels, so the scheduler and workers can write while thousands of rows are checked.
    db.session.commit()
    rows, problems = [], []
    for number, values in cells:
        row = _check(number, values, columns, names, default_zone, problems)
        if row is not None:
            rows.append(row)
    if problems:
        rows_wrong = len({p.row for p in problems})
        raise Refused(f"{rows_wrong:,} of {len(cells):,} rows cannot be imported. Correct "
                      "them and upload the file again.", problems)
    return _write(workspace_id, user_id, rows, filename)


# Reading the file ----------------------------------------------------------------------------

def _read(raw: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header's column names and the other non-blank rows with their numbers."""
    try:
        content = raw.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as exc:
        raise Refused(f"The file is not UTF-8 text (byte {exc.start + 1:,} is not UTF-8). Save "
                      "it as “CSV UTF-8” and upload it again.") from None
    if "\x00" in content:
        raise Refused("The file contains NUL characters: it is not a CSV text file.")
    if not content.strip():
        raise Refused("The file is empty.")
    reader = csv.reader(io.StringIO(content, newline=""))
    rows = []
    number = 0
    try:
        columns = _columns(next(reader))
        number = 1
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # spreadsheets export empty rows at the end
            if len(rows) == MAX_ROWS:
                raise Refused(f"The file has more than {MAX_ROWS:,} rows, the most one import "
                              "takes. Split it into smaller files.")
            rows.append((number, cells))
    except csv.Error as exc:
        raise Refused(f"Row {number + 1:,} is not valid CSV: {exc}.") from None
    if not rows:
        raise Refused("The file has no rows to import below its header.")
    return columns, rows


def _columns(header: list[str]) -> list[str]:
    """The header's column names, lower-cased (an empty string for an unnamed column)."""
    names = [cell.strip().lower() for cell in header]
    if "body" not in names:
        if any(name in COLUMNS for name in names):
            raise Refused("The header has no “body” column: every post needs its text.")
        shown = ",".join(header)[:80]
        raise Refused("The first row must be the header naming the columns "
                      f"({', '.join(COLUMNS)}); it reads “{shown}”.")
    for cell, name in zip(header, names, strict=True):
        if name and name not in COLUMNS:
            raise Refused(f"Unknown column “{cell.strip()[:40]}”: the columns are "
                          f"{', '.join(COLUMNS)}.")
        if name and names.count(name) > 1:
            raise Refused(f"The column “{name}” appears more than once.")
    return names


# Checking rows ---------------------------------------------------------------------------------

class Names:
    """The workspace's channels and campaigns by name and by id, each cell worked out once:
    a file names the same few channels thousands of times."""

    def __init__(self, workspace_id: int):
        # Plain rows, not ORM objects: they outlive the transaction that read them.
        self.channels = db.session.execute(
            select(Channel.id, Channel.name, Channel.platform)
            .where(Channel.workspace_id == workspace_id).order_by(Channel.id)).all()
        self.campaigns = db.session.execute(
            select(Campaign.id, Campaign.name, Campaign.status)
            .where(Campaign.workspace_id == workspace_id).order_by(Campaign.id)).all()
        self._channel_cells: dict[str, tuple[list, str | None]] = {}
        self._campaign_cells: dict[str, tuple[int | None, str | None]] = {}

    def channels_in(self, cell: str) -> tuple[list, str | None]:
        """The channels a cell names (separated by ; or ,), or why not."""
        if cell not in self._channel_cells:
            found, problem = [], None
            for token in dict.fromkeys(t.strip() for t in SEPARATOR.split(cell) if t.strip()):
                channel, problem = _find(token, self.channels, "channel")
                if channel is None:
                    break
                found.append(channel)
            self._channel_cells[cell] = ([], problem) if problem else (found, None)
        return self._channel_cells[cell]

    def campaign_in(self, cell: str) -> tuple[int | None, str | None]:
        cell = cell.strip()
        if cell not in self._campaign_cells:
            campaign, problem = _find(cell, self.campaigns, "campaign") if cell else (None, None)
            if campaign and campaign.status in CLOSED_CAMPAIGNS:
                campaign, problem = None, (f"campaign “{campaign.name}” is archived; "
                                           "choose another")
            self._campaign_cells[cell] = (campaign.id if campaign else None, problem)
        return self._campaign_cells[cell]


def _find(token: str, rows, label: str):
    """The row a name (case-insensitive) or, failing that, an id stands for, or why not."""
    named = [r for r in rows if r.name.strip().casefold() == token.casefold()]
    if len(named) == 1:
        return named[0], None
    if named:
        return None, f"{len(named)} {label}s are named “{token}”: give its id instead"
    if token.isascii() and token.isdigit():
        by_id = [r for r in rows if r.id == int(token)]
        if by_id:
            return by_id[0], None
    # A mistyped name ("Mastdon") is the usual cause: offer the closest of the workspace's.
    # Compared case-insensitively, as names are matched.
    by_folded = {r.name.strip().casefold(): r.name.strip() for r in rows}
    close = difflib.get_close_matches(token.casefold(), by_folded, n=1)
    hint = f": did you mean “{by_folded[close[0]]}”?" if close else ""
    return None, f"unknown {label} “{token[:60]}”{hint}"


def _check(number: int, cells: list[str], columns: list[str], names: Names, default_zone: str,
           problems: list[Problem]) -> Row | None:
    """The row ready to write, or None with its problems added to `problems`: the same
    checks as creating one post (services.posts and services.schedules)."""
    values = {}
    for index, cell in enumerate(cells):
        name = columns[index] if index < len(columns) else ""
        if name:
            # An export's apostrophe before a formula character is not part of the text.
            values[name] = unsafe_cell(cell)
        elif cell.strip():
            problems.append(Problem(number, None, "has a value in a column without a name "
                                                  "in the header"))
            return None
    errors = Errors()
    title = text(values.get("title", ""), "title", errors, max_length=posts.TITLE_MAX)
    body = text(values.get("body", ""), "body", errors, max_length=posts.BODY_MAX,
                required=True)
    channels, problem = names.channels_in(values.get("channels", ""))
    if problem:
        errors.add("channel_ids", problem)
    campaign_id, problem = names.campaign_in(values.get("campaign", ""))
    if problem:
        errors.add("campaign_id", problem)
    spec = None
    if values.get("at", "").strip():
        spec = _schedule(values, default_zone, errors)
        if not channels:
            errors.add("channel_ids", "a scheduled post needs at least one channel (leave “at” "
                                      "empty to save it as a draft)")
    elif values.get("recurrence", "").strip():
        errors.add("at", "a repeating post needs the date and time it starts")
    posts.check_texts(channels, {}, body, errors, title=title)
    if errors.fields:
        problems.extend(Problem(number, COLUMN_OF.get(key, key), message)
                        for key, message in errors.fields.items())
        return None
    return Row(number, title, body, [c.id for c in channels], campaign_id, spec)


def _schedule(values: dict, default_zone: str, errors: Errors) -> schedules.ScheduleSpec | None:
    data = {"at": values["at"].strip(),
            "timezone": values.get("timezone", "").strip() or default_zone,
            "recurrence": values.get("recurrence", "").strip() or None}
    return schedules.parse(data, errors, prefix="")


# Writing ---------------------------------------------------------------------------------------

def _write(workspace_id: int, user_id: int, rows: list[Row], filename: str) -> AuditEvent:
    """Insert the posts, their channel links and schedules in one transaction."""
    _still_there(workspace_id, rows)
    now = now_utc()
    scheduled = "pending_approval" if approvals.required(workspace_id, user_id) else "scheduled"
    # Core inserts of plain dicts, many rows per statement: the ORM's bulk path takes more
    # than twice as long.
    # New ids ascend in the order rows are inserted (SQLite gives max(rowid) + 1 under its
    # write lock; a PostgreSQL sequence ascends within a statement), so sorted they match
    # the rows. (Asking SQLAlchemy to sort makes it insert one row at a time on SQLite.)
    post_ids = sorted(db.session.scalars(insert(Post.__table__).returning(Post.id), [
        {"workspace_id": workspace_id, "author_id": user_id, "title": row.title,
         "body": row.body, "overrides": {}, "tags": [], "priority": 5,
         "campaign_id": row.campaign_id, "status": scheduled if row.spec else "draft",
         "created_at": now, "updated_at": now} for row in rows]))
    links = [{"post_id": post_id, "channel_id": channel_id}
             for post_id, row in zip(post_ids, rows, strict=True) for channel_id in row.channel_ids]
    if links:
        db.session.execute(insert(post_channels), links)
    planned, warnings = [], []
    for post_id, row in zip(post_ids, rows, strict=True):
        if row.spec is not None:
            values, first_warnings = _first_run(post_id, row.spec, now)
            planned.append(values)
            warnings += [[row.number, warning] for warning in first_warnings]
    if planned:
        db.session.execute(insert(Schedule.__table__), planned)
    if scheduled == "pending_approval" and planned:
        db.session.execute(insert(Approval.__table__), [
            {"workspace_id": workspace_id, "post_id": values["post_id"], "status": "pending",
             "requested_by": user_id, "requested_at": now, "comment": ""}
            for values in planned])
    event = record(workspace_id, ACTION, db.session.get(Workspace, workspace_id),
                   user_id=user_id, after={
                       "file": filename[:200], "rows": len(rows), "scheduled": len(planned),
                       "drafts": len(rows) - len(planned), "first_post_id": post_ids[0],
                       "last_post_id": post_ids[-1], "warnings": warnings[:WARNINGS_KEPT],
                       "more_warnings": max(0, len(warnings) - WARNINGS_KEPT)})
    db.session.commit()
    return event


def _still_there(workspace_id: int, rows: list[Row]) -> None:
    """The channels and campaigns the rows name may have been removed while they were
    checked (outside this transaction)."""
    channel_ids = {i for row in rows for i in row.channel_ids}
    campaign_ids = {row.campaign_id for row in rows if row.campaign_id}
    for model, ids in ((Channel, channel_ids), (Campaign, campaign_ids)):
        found = set(db.session.scalars(select(model.id).where(
            model.workspace_id == workspace_id, model.id.in_(ids)))) if ids else set()
        if found != ids:
            db.session.rollback()
            raise Refused("A channel or campaign the file names was removed while the file "
                          "was being checked. Upload it again.")


def _first_run(post_id: int, spec: schedules.ScheduleSpec,
               now: datetime) -> tuple[dict, list[str]]:
    """The schedule's columns, with its first run set by the planner's own rule, and the
    DST warnings of that first run."""
    # The planner reads and sets plain attributes; a bare object costs far less than a
    # mapped Schedule instance, thousands of times over.
    schedule = SimpleNamespace(post_id=post_id, **spec.columns(), status="active",
                               error_count=0, created_at=now)
    planner.set_first_run(schedule)
    first = planner.next_run(schedule)
    warnings = first.warnings if first else []
    return vars(schedule), warnings


# The export ------------------------------------------------------------------------------------

# Schedules an export prefers for a post's row: one still to run over one that is over.
LIVE_SCHEDULES = ("active", "paused")


def export_rows(workspace_id: int):
    """The header (COLUMNS) and one row per post of the workspace (oldest first, at most
    MAX_ROWS: what one import takes), in the import's own formats, with cells safe to open
    in a spreadsheet. Importing the file into a workspace with channels and campaigns of
    the same names makes the same posts: title, body, channels, campaign and the publish
    schedule's start (wall time and zone), rule, count and end. A post without a publish
    schedule is a draft row (no "at")."""
    yield COLUMNS
    names = Names(workspace_id)
    channel_cell = {r.id: _name_cell(r, names.channels) for r in names.channels}
    campaign_cell = {r.id: _name_cell(r, names.campaigns) for r in names.campaigns}
    query = select(Post).where(Post.workspace_id == workspace_id).order_by(Post.id)
    batch = 500
    last_id = 0
    for offset in range(0, MAX_ROWS, batch):
        found = db.session.scalars(query.where(Post.id > last_id)
                                   .limit(min(batch, MAX_ROWS - offset))).all()
        for post in found:
            schedule = _exported_schedule(post)
            at, zone, recurrence = _schedule_cells(schedule) if schedule else ("", "", "")
            channels = ";".join(channel_cell[c.id] for c in sorted(post.channels,
                                                                   key=lambda c: c.id))
            yield tuple(safe_cell(v) for v in (
                post.body, post.title, at, zone, channels, recurrence,
                campaign_cell.get(post.campaign_id, "")))
        if len(found) < batch:
            return
        last_id = found[-1].id


def _name_cell(row, rows) -> str:
    """How the import finds `row` again: by its name when that is unambiguous, else by id."""
    name = row.name.strip()
    unique = sum(r.name.strip().casefold() == name.casefold() for r in rows) == 1
    if name and unique and not SEPARATOR.search(name) and not (name.isascii()
                                                               and name.isdigit()):
        return name
    return str(row.id)


def _exported_schedule(post: Post) -> Schedule | None:
    """The post's publish schedule: the newest still running, else the newest."""
    publish = [s for s in post.schedules if s.action == "publish"]
    live = [s for s in publish if s.status in LIVE_SCHEDULES]
    return max(live or publish, key=lambda s: s.id, default=None)


def _schedule_cells(schedule: Schedule) -> tuple[str, str, str]:
    """The schedule's "at", "timezone" and "recurrence" cells."""
    start = schedule.start_local
    if schedule.start_fold:
        # The second of a repeated wall time: only the instant says which one.
        at = start.replace(fold=1, tzinfo=ZoneInfo(schedule.timezone)).isoformat()
    elif start.second or start.microsecond:
        at = start.isoformat(sep=" ")
    else:
        at = start.strftime("%Y-%m-%d %H:%M")
    rule = schedule.rrule or ""
    if rule and ":" not in rule:  # an RRULE (not weekly:, monthly:, cron:) carries its end
        parts = rule.upper().split(";")
        if schedule.count and not any(p.startswith("COUNT=") for p in parts):
            rule += f";COUNT={schedule.count}"
        if schedule.until_local and not any(p.startswith("UNTIL=") for p in parts):
            rule += f";UNTIL={schedule.until_local:%Y%m%dT%H%M%S}"
    return at, schedule.timezone, rule


# The example file ------------------------------------------------------------------------------

def example(workspace_id: int, zone: str, today: date) -> str:
    """A small CSV file to start from, naming the workspace's own channels."""
    found = db.session.scalars(select(Channel.name).where(Channel.workspace_id == workspace_id)
                               .order_by(Channel.name).limit(2)).all() or ["My channel"]
    both = ";".join(found)

    def at(days: int, hour: int) -> str:
        return datetime.combine(today + timedelta(days=days), time(hour)).strftime(
            "%Y-%m-%d %H:%M")

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([
        COLUMNS,
        ["We are live, come and see!", "Launch", at(1, 9), zone, both, "", ""],
        ["Tip of the week: schedule once, publish everywhere.", "", at(2, 10), zone,
         found[0], "weekly", ""],
        ["Every Monday and Thursday at noon.", "", at(3, 12), "Europe/Berlin", found[0],
         "FREQ=WEEKLY;BYDAY=MO,TH", ""],
        ["An exact instant: 14:00 UTC, whatever the zone.", "",
         at(4, 14).replace(" ", "T") + "Z", zone, both, "", ""],
        ["A draft: no date yet.", "Idea", "", "", "", "", ""],
    ])
    return out.getvalue()
