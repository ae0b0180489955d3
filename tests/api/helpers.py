"""Helpers of the JSON API's tests: the shapes API.md gives, the error shape, resources
made through the API (with the `api` client of tests/conftest.py), and times for schedules."""

import re
import time
from datetime import UTC, date, datetime, timedelta

ERROR_KEYS = {"code", "message", "fields"}
CHANNEL_KEYS = {"id", "name", "platform", "color", "config", "rate_limit_per_hour", "paused",
                "created_at", "updated_at"}
DELIVERY_KEYS = {"id", "post_id", "channel_id", "due_at", "status", "attempts", "last_error",
                 "external_id", "external_url", "started_at", "finished_at",
                 "next_attempt_at", "warnings", "action"}
POST_KEYS = {"id", "title", "body", "channel_ids", "overrides", "tags", "priority",
             "campaign_id", "status", "created_at", "updated_at", "schedules", "deliveries",
             "approval"}
SCHEDULE_KEYS = {"id", "action", "at", "timezone", "recurrence", "until", "count", "status",
                 "next_run_at", "run_count", "error_count", "unpublish_at", "unpublish_local"}
UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


def later(days: float = 2, hours: float = 0) -> str:
    """A UTC wall time comfortably in the future, to the minute."""
    return (datetime.now(UTC) + timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H:%M")


def second_sunday_of_march_ahead() -> date:
    """The next US spring-forward day that is still ahead (2027-03-14 as of writing)."""
    year = datetime.now(UTC).year
    while True:
        first = date(year, 3, 1)
        day = first + timedelta(days=(6 - first.weekday()) % 7 + 7)
        if day > datetime.now(UTC).date() + timedelta(days=2):
            return day
        year += 1


def first_sunday_of_november_ahead() -> date:
    year = datetime.now(UTC).year
    while True:
        first = date(year, 11, 1)
        day = first + timedelta(days=(6 - first.weekday()) % 7)
        if day > datetime.now(UTC).date() + timedelta(days=2):
            return day
        year += 1


def assert_error(response, status: int, code: str | None = None, field: str | None = None):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.json
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    if code:
        assert body["error"]["code"] == code
    if field:
        assert field in body["error"]["fields"], body
    return body["error"]


def make_channel(api, name="Hook", url="http://127.0.0.1:9/hook", secret=None, **extra):
    config = {"url": url} | ({"secret": secret} if secret is not None else {})
    response = api.post("/channels", json={"name": name, "platform": "webhook",
                                           "config": config, **extra})
    assert response.status_code == 201, response.json
    return response.json


def make_post(api, channel_ids, at=None, timezone="UTC", recurrence=None, **extra):
    payload = {"title": "Title", "body": "Body", "channel_ids": channel_ids, **extra}
    payload["schedule"] = {"at": at or later(), "timezone": timezone}
    if recurrence:
        payload["schedule"]["recurrence"] = recurrence
    response = api.post("/posts", json=payload)
    assert response.status_code == 201, response.json
    return response.json


def iso_z(utc_wall_time: str) -> str:
    """A UTC wall time as the API shows instants (ISO 8601, microseconds if any, Z)."""
    return datetime.fromisoformat(utc_wall_time).isoformat() + "Z"


def deliveries_of(api, post_id) -> list[dict]:
    response = api.get(f"/deliveries?post_id={post_id}&per_page=200")
    assert response.status_code == 200
    return response.json["items"]


def run_for(runner, seconds: float) -> None:
    """Keep the scheduler and the worker going for a while (nothing expected to happen)."""
    end = time.monotonic() + seconds
    runner.until(lambda: time.monotonic() >= end, timeout=seconds + 10)


def walk(value, path=""):
    """(key path, key, value) of every item in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{key}", key, item
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, f"{path}[{i}]")


def assert_utc_times(document) -> int:
    """Every `_at` field is null or ISO 8601 UTC with Z. Returns how many were seen."""
    seen = 0
    for path, key, value in walk(document):
        if key.endswith("_at"):
            seen += 1
            assert value is None or (isinstance(value, str) and UTC_Z.match(value)), (path, value)
    return seen
