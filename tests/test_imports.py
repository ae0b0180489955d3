"""Bulk scheduling from CSV, through the test client with CSRF on, against the real app,
database and planner: all rows or none, every problem listed, times as the composer reads
them."""

import html
import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.factories import add_channel, member
from tests.helpers import count, csrf_token, page, show, sign_in, table, tomorrow_at, upload
from webapp.engine import planner
from webapp.extensions import db
from webapp.models import AuditEvent, Campaign, Delivery, Post, Schedule, post_channels
from webapp.services.imports import MAX_ROWS


def problems(response) -> list[tuple[str, str, str]]:
    """The table of problems: (row, column, message) as shown."""
    found = re.findall(r'<td data-label="Row">(.*?)</td><td data-label="Column">(.*?)</td>'
                       r'<td data-label="Problem">(.*?)</td>', page(response))
    return [tuple(html.unescape(cell) for cell in row) for row in found]


def refusal(response) -> str:
    found = re.search(r'<div class="flash flash-error" role="alert">(.*?)</div>',
                      page(response), re.S)
    assert found, page(response)[:2000]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def nothing_written() -> bool:
    return (count(Post), count(Schedule), count(AuditEvent, AuditEvent.action
                                                == "posts.imported")) == (0, 0, 0)


def next_spring_forward(zone: str = "America/New_York") -> date:
    """The second Sunday of March next year: clocks spring forward at 02:00 in the US."""
    first = date(datetime.now(UTC).year + 1, 3, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7)


def utc(schedule: Schedule) -> str:
    return schedule.next_run_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def news(admin, channel):
    """A second channel of the workspace, named by name or id in the files below."""
    return add_channel(admin, "News")


# Importing -----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_every_row_becomes_a_post_with_its_time_in_utc(signed_in, admin, channel, news):
    spring = next_spring_forward()
    year = spring.year
    campaign = Campaign(workspace_id=channel.workspace_id, name="Launch")
    db.session.add(campaign)
    db.session.commit()
    content = table([
        # The user's zone (Europe/Berlin) when the row gives none; 09:00 CET is 08:00 UTC.
        ["Winter", f"{year}-01-05 09:00", "", "Hook", "", "", "Launch"],
        ["Gap", f"{spring}T02:30", "America/New_York", f"Hook;{news.id}", "", "Title", ""],
        ["Instant", f"{year}-06-01T12:00:00Z", "Asia/Tokyo", "Hook, News", "", "", ""],
        ["Weekly", tomorrow_at(10), "Europe/Berlin", "news", "weekly", "", ""],
        ["Soon", tomorrow_at(11), "", "Hook", "", "", ""],
        ["Just an idea", "", "", "", "", "Draft", ""],
    ], header=("body", "at", "timezone", "channels", "recurrence", "title", "campaign"))
    response = upload(signed_in, content)
    assert response.status_code == 303, refusal(response)

    result = " ".join(show(signed_in, response.location).split())
    assert "5 posts scheduled and 1 draft saved from “posts.csv”." in result
    assert (f"Row 3: {spring} 02:30 does not exist in America/New_York (clocks spring "
            "forward); it is published at 03:30 EDT instead") in result
    posts = db.session.scalars(select(Post).order_by(Post.id)).all()
    assert [p.body for p in posts] == ["Winter", "Gap", "Instant", "Weekly", "Soon",
                                       "Just an idea"]
    assert [p.status for p in posts] == ["scheduled"] * 5 + ["draft"]
    assert {p.author_id for p in posts} == {admin.id}
    assert posts[0].campaign_id == campaign.id and posts[1].title == "Title"
    assert [[c.name for c in p.channels] for p in posts] == [
        ["Hook"], ["Hook", "News"], ["Hook", "News"], ["News"], ["Hook"], []]
    winter, gap, instant, weekly, soon = (p.schedules[0] for p in posts[:5])
    assert posts[5].schedules == []
    assert utc(winter) == f"{year}-01-05 08:00" and winter.timezone == "Europe/Berlin"
    # The DST rule: 02:30 does not exist that day and moves forward by the gap, to 03:30 EDT.
    assert utc(gap) == f"{spring} 07:30"
    assert gap.start_local == datetime(year, spring.month, spring.day, 2, 30)
    # An instant keeps its moment; the zone says how to show it.
    assert utc(instant) == f"{year}-06-01 12:00"
    assert instant.start_local == datetime(year, 6, 1, 21, 0)
    assert weekly.rrule == "FREQ=WEEKLY" and weekly.status == "active"
    assert all(s.run_count == 0 for s in (winter, gap, instant, weekly, soon))
    # One audit event for the whole file, none per post.
    assert count(AuditEvent, AuditEvent.action == "posts.imported") == 1
    assert count(AuditEvent, AuditEvent.action == "post.created") == 0

    # Deliveries are the planner's work: one pass writes those of the coming days.
    expected = {(posts[4].id, channel.id): soon.next_run_at,
                (posts[3].id, news.id): weekly.next_run_at}
    assert count(Delivery) == 0
    planner.plan()
    due = {(d.post_id, d.channel_id): d.due_at for d in db.session.scalars(select(Delivery))}
    assert {key: due.get(key) for key in expected} == expected
    assert not any(post_id == posts[5].id for post_id, _ in due)
    # Posts months ahead get their first delivery too, so they show in the queue.
    assert {(p.id, c.id) for p in posts[:3] for c in p.channels} <= set(due)


def test_excel_files_with_a_bom_crlf_and_capitalised_headers_import(signed_in, channel):
    content = "\ufeffBody,AT,Channels\r\n" + f"Hello,{tomorrow_at(9)},Hook\r\n" + ",,\r\n"
    response = upload(signed_in, content.encode("utf-8"))
    assert response.status_code == 303, refusal(response)
    assert [p.body for p in db.session.scalars(select(Post))] == ["Hello"]


def test_the_page_explains_the_columns_and_its_example_imports(signed_in, channel, news):
    assert 'href="/posts/import"' in show(signed_in, "/posts")
    body = show(signed_in, "/posts/import")
    assert 'enctype="multipart/form-data"' in body and 'name="csrf_token"' in body
    for column in ("body", "title", "at", "timezone", "channels", "recurrence", "campaign"):
        assert f"<dt>{column}</dt>" in body
    assert "20,000 rows" in body and "5 MB" in body
    response = signed_in.get("/posts/import/example.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    example = response.get_data(as_text=True)
    assert example.startswith("body,title,at,timezone,channels,recurrence,campaign\r\n")
    assert "Hook;News" in example
    response = upload(signed_in, example)
    assert response.status_code == 303, refusal(response)
    assert "4 posts scheduled and 1 draft saved" in " ".join(
        show(signed_in, response.location).split())


# All or nothing ------------------------------------------------------------------------------

GOOD = ["Fine", tomorrow_at(9), "", "Hook"]


@pytest.mark.parametrize("row, column, message", [
    (["Hi", tomorrow_at(9), "Mars/Base", "Hook"], "timezone", "unknown timezone “Mars/Base”"),
    (["Hi", "2027-02-30 09:00", "", "Hook"], "at", "“2027-02-30 09:00” is not a valid date"),
    (["Hi", "next tuesday", "", "Hook"], "at", "is not a valid date and time"),
    (["Hi", "2020-01-06 09:00", "", "Hook"], "at", "2020-01-06 09:00 CET is in the past"),
    (["Hi", "0001-01-01 09:00", "", "Hook"], "at", "choose a year between 1900 and 9998"),
    (["Hi", tomorrow_at(9), "", "Nope"], "channels", "unknown channel “Nope”"),
    (["Hi", tomorrow_at(9), "", "hoook"], "channels",
     "unknown channel “hoook”: did you mean “Hook”?"),
    (["Hi", tomorrow_at(9), "", "Hook;99999"], "channels", "unknown channel “99999”"),
    (["Hi", tomorrow_at(9), "", ""], "channels", "a scheduled post needs at least one channel"),
    (["", tomorrow_at(9), "", "Hook"], "body", "is required"),
    (["   ", "", "", "", "", "A title"], "body", "is required"),
    (["x" * 100_001, "", "", ""], "body", "is 100001 characters; at most 100000"),
    (["Hi", tomorrow_at(9), "", "Hook", "FREQ=SOMETIMES"], "recurrence",
     "invalid recurrence rule"),
    (["Hi", tomorrow_at(9), "", "Hook", "FREQ=MINUTELY"], "recurrence",
     "repeats more than 1000 times in 7 days"),
    (["Hi", tomorrow_at(9), "", "Hook", "FREQ=DAILY;INTERVAL=0"], "recurrence",
     "INTERVAL must be 1 or more"),
    (["Hi", tomorrow_at(9), "", "Hook", "weekly:mondy"], "recurrence", "did you mean monday?"),
    (["Hi", tomorrow_at(9), "", "Hook", "monthly:32"], "recurrence", "monthly:1 to monthly:31"),
    (["Hi", tomorrow_at(9), "", "Hook", "cron:0 0 30 2 *"], "recurrence", "never matches"),
    (["Hi", tomorrow_at(9), "", "Hook", "cron:0 0 9 * * *"], "recurrence",
     "cron takes 5 fields"),
    (["Hi", "", "", "", "daily"], "at", "a repeating post needs the date and time it starts"),
    (["Hi", "", "", "", "", "t" * 201], "title", "is 201 characters; at most 200"),
    (["Hi", "", "", "", "", "", "Spring"], "campaign", "unknown campaign “Spring”"),
    (["Hi", "", "", "", "", "", "", "stray"], None, "has a value in a column without a name"),
])
def test_one_bad_row_and_nothing_is_written(signed_in, channel, row, column, message):
    header = ("body", "at", "timezone", "channels", "recurrence", "title", "campaign", "")
    response = upload(signed_in, table([GOOD, row], header=header))
    assert response.status_code == 422
    assert "Nothing was imported. 1 of 2 rows cannot be imported." in refusal(response)
    [(number, shown_column, shown)] = problems(response)
    assert (number, shown_column) == ("3", column or "—")
    assert message in shown, shown
    assert nothing_written()


@pytest.mark.postgres
def test_rows_take_the_weekly_monthly_and_cron_inputs(signed_in, channel):
    content = table([
        ["Weekly", "2031-01-01T09:00", "America/New_York", "Hook", "weekly:mon,thu"],
        ["Month end", "2031-12-15T09:00", "UTC", "Hook", "monthly:-1"],
        ["Weekdays", "2031-01-03T00:00", "Europe/Berlin", "Hook", "cron:0 9 * * 1-5"],
    ], header=("body", "at", "timezone", "channels", "recurrence"))
    response = upload(signed_in, content)
    assert response.status_code == 303, refusal(response)
    schedules = db.session.scalars(select(Schedule).order_by(Schedule.id)).all()
    assert [s.rrule for s in schedules] == ["weekly:monday,thursday", "monthly:-1",
                                            "cron:0 9 * * 1-5"]
    # Thursday 2 January 2031, 09:00 EST; 31 December 2031; Friday 3 January, 09:00 CET.
    assert [utc(s) for s in schedules] == ["2031-01-02 14:00", "2031-12-31 09:00",
                                           "2031-01-03 08:00"]


def test_text_too_long_for_a_channel_is_refused(signed_in, channel, masto_channel):
    response = upload(signed_in, table([["a" * 501, tomorrow_at(9), "", "Hook;Masto"]]))
    assert response.status_code == 422
    assert problems(response) == [("2", "body",
                                   "too long for Masto: 501 characters; mastodon allows 500")]
    assert nothing_written()


def test_every_bad_row_is_counted_and_the_first_hundred_shown(signed_in, channel):
    rows = [GOOD] * 10 + [["Hi", tomorrow_at(9), "Mars/Base", "Nope"]] * 150
    response = upload(signed_in, table(rows))
    assert response.status_code == 422
    assert "150 of 160 rows cannot be imported." in refusal(response)
    shown = problems(response)
    assert len(shown) == 100
    assert shown[:2] == [("12", "channels", "unknown channel “Nope”"),
                         ("12", "timezone", "unknown timezone “Mars/Base”")]
    assert "…and 200 more." in page(response)
    assert nothing_written()


@pytest.mark.parametrize("content, filename, message", [
    ("body,at\nCafé,\n".encode("latin-1"), "posts.csv",
     "The file is not UTF-8 text (byte 12 is not UTF-8)"),
    (b"", "posts.csv", "The file is empty."),
    (b"\xef\xbb\xbf\r\n", "posts.csv", "The file is empty."),
    (b"body,at,channels\r\n", "posts.csv", "The file has no rows to import below its header."),
    (b"Hello world,2030-01-01 09:00,Hook\n", "posts.csv",
     "The first row must be the header naming the columns"),
    (b"title,at\nHi,\n", "posts.csv", "The header has no “body” column"),
    (b"body,chanels\nHi,Hook\n", "posts.csv", "Unknown column “chanels”"),
    (b"body,Body\nHi,Ho\n", "posts.csv", "The column “body” appears more than once."),
    (b"body\nHi\x00there\n", "posts.csv", "The file contains NUL characters"),
    (b"body\n\"" + b"x" * 140_000 + b"\"\n", "posts.csv", "Row 2 is not valid CSV"),
    (b"body\nHi\n", "posts.txt", "choose a .csv file"),
])
def test_a_file_that_is_not_an_import_changes_nothing(signed_in, channel, content, filename,
                                                      message):
    response = upload(signed_in, content, filename)
    assert response.status_code == 422
    assert message in page(response).replace("&#34;", '"').replace("&#39;", "'")
    assert nothing_written()


def test_a_form_without_a_file_asks_for_one(signed_in):
    token = csrf_token(signed_in, "/posts/import")
    response = signed_in.post("/posts/import", data={"csrf_token": token},
                              content_type="multipart/form-data")
    assert response.status_code == 422 and "choose a CSV file to import" in page(response)
    assert nothing_written()


def test_more_rows_than_the_limit_are_refused(signed_in, channel):
    response = upload(signed_in, "body\n" + "Idea\n" * (MAX_ROWS + 1))
    assert response.status_code == 422
    assert ("The file has more than 20,000 rows, the most one import takes. Split it into "
            "smaller files.") in refusal(response)
    assert nothing_written()


def test_a_file_over_the_upload_limit_is_refused_on_the_page(app, signed_in, channel):
    # Encoded in memory: the test client would spool a body this size to a temporary file
    # that nothing closes when the app refuses to read it.
    boundary, body = encode_multipart({
        "csrf_token": csrf_token(signed_in, "/posts/import"),
        "file": FileStorage(io.BytesIO(b"body\n" + b"x" * app.config["MAX_CONTENT_LENGTH"]),
                            "posts.csv")})
    response = signed_in.post("/posts/import", data=body,
                              content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 413
    assert "The file is larger than 5 MB, the most one upload may be." in refusal(response)
    assert 'enctype="multipart/form-data"' in page(response)
    assert nothing_written()


# Who may ------------------------------------------------------------------------------------

def test_viewers_cannot_import(app, admin, channel):
    client = app.test_client()
    sign_in(client, member("viewer").email)
    assert client.get("/posts/import").status_code == 403
    assert 'href="/posts/import"' not in show(client, "/posts")
    token = csrf_token(client, "/settings")
    response = client.post("/posts/import", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(table([GOOD]).encode()), "posts.csv")})
    assert response.status_code == 403 and "Your role (viewer)" in page(response)
    assert nothing_written()


@pytest.mark.parametrize("token", [None, "forged"])
def test_an_import_without_the_csrf_token_is_refused(signed_in, channel, token):
    data = {"file": (io.BytesIO(table([GOOD]).encode()), "posts.csv")}
    if token:
        data["csrf_token"] = token
    response = signed_in.post("/posts/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and "CSRF" in page(response)
    assert nothing_written()


def test_another_workspaces_import_is_not_found(signed_in, app, channel):
    response = upload(signed_in, table([GOOD]))
    assert response.status_code == 303
    outsider = app.test_client()
    sign_in(outsider, member("admin", "Elsewhere").email)
    assert outsider.get(response.location).status_code == 404
    assert signed_in.get("/posts/import/99999").status_code == 404


def test_the_users_zone_is_the_default(signed_in, admin, channel):
    """Europe/Berlin (the admin's zone): 09:00 in July is 07:00 UTC."""
    year = datetime.now(ZoneInfo("Europe/Berlin")).year + 1
    response = upload(signed_in, table([["Summer", f"{year}-07-01 09:00", "", "Hook"]]))
    assert response.status_code == 303
    assert utc(db.session.scalar(select(Schedule))) == f"{year}-07-01 07:00"
    assert db.session.execute(select(post_channels)).all() == [
        (db.session.scalar(select(Post.id)), channel.id)]
