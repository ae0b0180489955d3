"""The JSON API's deliveries and queue against API.md: retry and cancel, filters, what is
upcoming, the queue's statistics, and UTC times in every response."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.helpers import (
    DELIVERY_KEYS,
    assert_error,
    assert_utc_times,
    later,
    make_channel,
    make_post,
)
from tests.helpers import soon
from tests.platforms import Reply
from webapp.extensions import db

pytestmark = pytest.mark.postgres


def failed_and_published(api, webhook, runner):
    """One delivery that failed for good (HTTP 400) and one that was published."""
    webhook.by_path["/bad"] = [Reply(400, {"error": "no"})]
    bad = make_channel(api, "Bad", url=webhook.url + "/bad")
    good = make_channel(api, "Good", url=webhook.url + "/good")
    post = make_post(api, [bad["id"], good["id"]], at=soon(1.0))
    rows = runner.until_settled([d["id"] for d in post["deliveries"]])
    by_channel = {r.channel_id: r.id for r in rows}
    return post, by_channel[bad["id"]], by_channel[good["id"]]


def test_retry_and_cancel_rules(api, webhook, runner):
    post, failed_id, published_id = failed_and_published(api, webhook, runner)
    failed = api.get("/deliveries?status=failed").json["items"]
    assert [d["id"] for d in failed] == [failed_id]
    assert failed[0]["last_error"].startswith("HTTP 400")

    assert_error(api.post(f"/deliveries/{published_id}/retry"), 409, "conflict")
    assert_error(api.post(f"/deliveries/{published_id}/cancel"), 409, "conflict")
    pending = make_post(api, [post["channel_ids"][1]], at=later(days=2))["deliveries"][0]
    assert_error(api.post(f"/deliveries/{pending['id']}/retry"), 409, "conflict")

    retried = api.post(f"/deliveries/{failed_id}/retry")
    assert retried.status_code == 200 and set(retried.json) == DELIVERY_KEYS
    assert retried.json["status"] in ("pending", "queued")
    [row] = runner.until_settled([failed_id])
    assert (row.status, row.attempts) == ("published", 2)
    keys = {r.headers["Idempotency-Key"] for r in webhook.posts("/bad")}
    assert len(keys) == 1  # the retry kept the delivery's key

    cancelled = api.post(f"/deliveries/{pending['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert_error(api.post(f"/deliveries/{pending['id']}/cancel"), 409, "conflict")
    assert_error(api.post(f"/deliveries/{pending['id']}/retry"), 409, "conflict")


def test_list_deliveries_with_filters(api):
    a, b = make_channel(api, "A"), make_channel(api, "B")
    p1 = make_post(api, [a["id"], b["id"]], at=later(days=1))
    p2 = make_post(api, [a["id"]], at=later(days=3))
    api.post(f"/deliveries/{p2['deliveries'][0]['id']}/cancel")

    def ids(query):
        response = api.get(f"/deliveries?{query}")
        assert response.status_code == 200, response.json
        return sorted(d["id"] for d in response.json["items"])

    d1 = sorted(d["id"] for d in p1["deliveries"])
    d2 = [p2["deliveries"][0]["id"]]
    assert ids("") == sorted(d1 + d2)
    assert ids(f"post_id={p1['id']}") == d1
    assert ids(f"channel_id={b['id']}") == [d for d in d1 if d not in ids(f"channel_id={a['id']}")]
    assert ids("status=cancelled") == d2
    assert ids(f"from={later(days=2)}") == d2
    assert ids(f"to={later(days=2)}Z") == d1
    items = api.get("/deliveries").json["items"]
    assert [d["due_at"] for d in items] == sorted(d["due_at"] for d in items)
    for bad, name in (("status=done", "status"), ("post_id=abc", "post_id"),
                      ("channel_id=0", "channel_id"), ("from=soon", "from")):
        assert_error(api.get(f"/deliveries?{bad}"), 422, "validation_error", name)


def test_upcoming(api):
    channel = make_channel(api)
    near = make_post(api, [channel["id"]], at=later(days=0, hours=2))
    far = make_post(api, [channel["id"]], at=later(days=3))
    default = api.get("/schedule/upcoming").json
    assert set(default) == {"hours", "count", "items"}
    assert (default["hours"], default["count"]) == (24, 1)
    assert [d["post_id"] for d in default["items"]] == [near["id"]]
    assert set(default["items"][0]) == DELIVERY_KEYS
    wide = api.get("/schedule/upcoming?hours=96").json
    assert (wide["hours"], wide["count"]) == (96, 2)
    assert [d["post_id"] for d in wide["items"]] == [near["id"], far["id"]]
    api.delete(f"/posts/{near['id']}")
    assert api.get("/schedule/upcoming").json["count"] == 0
    for bad in ("0", "-1", "abc", "1.5", "100000"):
        assert_error(api.get(f"/schedule/upcoming?hours={bad}"), 422, "validation_error",
                     "hours")


def test_queue_stats(api, webhook, runner):
    empty = api.get("/queue/stats")
    assert empty.status_code == 200
    assert empty.json["counts"] == dict.fromkeys(
        ["pending", "queued", "publishing", "published", "retrying", "failed", "cancelled",
         "unknown"], 0)
    assert empty.json["success_rate"] is None
    started = time.monotonic()
    failed_and_published(api, webhook, runner)
    elapsed = time.monotonic() - started
    stats = api.get("/queue/stats?days=1").json
    assert set(stats) == {"days", "counts", "total", "success_rate", "average_wait_seconds",
                          "average_processing_seconds"}
    assert stats["days"] == 1 and stats["total"] == 2
    assert (stats["counts"]["published"], stats["counts"]["failed"]) == (1, 1)
    assert stats["success_rate"] == 0.5
    # Both happened within this test, whatever the machine's speed.
    assert 0 <= stats["average_wait_seconds"] <= elapsed
    assert 0 <= stats["average_processing_seconds"] <= elapsed
    for bad in ("0", "x", "367"):
        assert_error(api.get(f"/queue/stats?days={bad}"), 422, "validation_error", "days")


def test_queue_stats_averages_are_exact_to_the_microsecond(api):
    """The averages come from SQL on both databases: only published deliveries due in the
    window count, a wait needs started_at, a processing time needs finished_at too, and no
    instant is rounded to the millisecond on the way (which would change the figures)."""
    from webapp.models import Delivery

    channel = make_channel(api)
    ids = [make_post(api, [channel["id"]])["deliveries"][0]["id"] for _ in range(5)]
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    us = timedelta(microseconds=1)
    rows = {  # status, due, started, finished
        # Waits 0.0008 s: rounded to milliseconds its instants would be equal (0 s), and its
        # processing time 0.0014 s would become 0.002 s.
        "a": ("published", base + 999_600 * us, base + 1_000_400 * us,
              base + 1_001_800 * us),
        # Waits 3.0008 s; started, not finished: no processing time.
        "b": ("published", base + 60 * 10**6 * us + 999_600 * us,
              base + 64 * 10**6 * us + 400 * us, None),
        # Published without a start time: in the counts, not in the averages.
        "c": ("published", base, None, None),
        # Failed: in the counts and the success rate only.
        "d": ("failed", base, base + timedelta(seconds=100), base + timedelta(seconds=200)),
        # Due before the window.
        "e": ("published", base - timedelta(days=3), base - timedelta(days=2), base),
    }
    for delivery_id, (status, due, started, finished) in zip(ids, rows.values(), strict=True):
        delivery = db.session.get(Delivery, delivery_id)
        delivery.status, delivery.due_at, delivery.next_attempt_at = status, due, due
        delivery.started_at, delivery.finished_at = started, finished
    db.session.commit()

    stats = api.get("/queue/stats?days=1").json
    assert stats["counts"]["published"] == 3 and stats["counts"]["failed"] == 1
    assert (stats["total"], stats["success_rate"]) == (4, 0.75)
    assert stats["average_wait_seconds"] == round((0.0008 + 3.0008) / 2, 3) == 1.501
    assert stats["average_processing_seconds"] == 0.001
    assert api.get("/queue/stats?days=7").json["average_processing_seconds"] == round(
        (0.0014 + 2 * 86400) / 2, 3)


def test_every_at_field_in_every_response_is_utc_with_z(api, webhook, runner):
    post, failed_id, _ = failed_and_published(api, webhook, runner)
    make_post(api, post["channel_ids"], at=later(days=1), timezone="Pacific/Chatham")
    seen = 0
    for path in ("/channels", "/posts", f"/posts/{post['id']}", "/deliveries",
                 "/schedule/upcoming?hours=48", "/queue/stats"):
        seen += assert_utc_times(api.get(path).json)
    seen += assert_utc_times(api.post(f"/deliveries/{failed_id}/retry").json)
    assert seen > 20
