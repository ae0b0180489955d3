"""The engine: schedules → deliveries → exact-time jobs → one publish, with real Redis,
rq-scheduler, an in-process RQ worker and a local webhook receiver."""

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq_scheduler import Scheduler
from sqlalchemy import func, select

from tests.factories import workspace_id
from tests.helpers import soon
from tests.platforms import Reply
from webapp.engine import jobs, planner, publishing
from webapp.extensions import db
from webapp.models import Delivery, Notification, Post
from webapp.publishers import PublishResult

pytestmark = pytest.mark.postgres


def schedule_post(api, channel_ids, at=None, **schedule):
    body = {"title": "Launch", "body": "We are live", "channel_ids": channel_ids,
            "schedule": {"at": at or soon(1.2), "timezone": "UTC", **schedule}}
    response = api.post("/posts", json=body)
    assert response.status_code == 201, response.json
    return response.json


def wait_until(local_utc: str, margin: float = 0.05) -> None:
    """Sleep until a UTC wall time given as in a schedule has passed."""
    due = datetime.fromisoformat(local_utc).replace(tzinfo=UTC)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + margin)


def beyond_lead(app) -> str:
    """A time the planner, not the API, gives its job: beyond the immediate window (three
    planner intervals), which is made 3 s here so that the test waits seconds, not 20."""
    app.config["HERALD_PLANNER_INTERVAL"] = 1.0
    return soon(6)


def delivery(delivery_id) -> Delivery:
    db.session.expire_all()
    return db.session.get(Delivery, delivery_id)


def scheduled_job_ids() -> set[str]:
    return {j.id for j in jobs.scheduler().get_jobs()}


def published_once_on_time(runner, webhook, ids) -> None:
    """Every delivery published at its first attempt, received once each, none early."""
    rows = runner.until_settled(ids)
    assert all(r.status == "published" and r.attempts == 1 for r in rows)
    got = webhook.posts()
    assert sorted(r.json()["delivery_id"] for r in got) == sorted(ids)
    assert min(r.at for r in got) >= rows[0].due_at.timestamp()


def test_a_job_queued_by_an_earlier_version_still_publishes(api, hook_channel, webhook, runner):
    """Jobs in Redis carry the dotted name of their function: those queued before a module
    moved must still run after an upgrade."""
    post = schedule_post(api, [hook_channel["id"]])
    [d] = post["deliveries"]
    job = jobs.scheduler().job_class.fetch(delivery(d["id"]).job_id, connection=jobs.redis())
    assert job.func_name == jobs.PUBLISH_BATCH
    job.func_name = "webapp.engine.publishing.publish_batch"  # where publish_batch used to live
    job.save()

    [row] = runner.until_settled([d["id"]])
    assert row.status == "published" and row.attempts == 1 and len(webhook.posts()) == 1


def test_a_scheduled_post_is_published_once_not_before_its_time(api, hook_channel, webhook,
                                                                 runner):
    post = schedule_post(api, [hook_channel["id"]])
    [d] = post["deliveries"]
    assert d["status"] == "queued"
    assert delivery(d["id"]).job_id in scheduled_job_ids()

    [row] = runner.until_settled([d["id"]])
    assert row.status == "published" and row.attempts == 1
    [got] = webhook.posts()
    assert got.at >= row.due_at.timestamp()  # never early
    assert row.started_at >= row.due_at
    body = got.json()
    assert body == {"delivery_id": d["id"], "post_id": post["id"],
                    "channel_id": hook_channel["id"], "title": "Launch", "body": "We are live",
                    "due_at": d["due_at"], "attempt": 1, "action": "publish"}
    assert got.headers["Idempotency-Key"] == row.idempotency_key
    assert got.headers["X-Herald-Delivery"] == str(d["id"])
    expected = hmac.new(b"hook-secret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Herald-Signature"] == f"sha256={expected}"
    assert row.external_id == "hook-1" and row.external_url.endswith("/items/1")
    assert db.session.get(Post, post["id"]).status == "published"
    assert scheduled_job_ids() == set()


def test_duplicate_jobs_and_a_second_worker_publish_once(api, hook_channel, webhook, runner):
    at = soon()
    post = schedule_post(api, [hook_channel["id"]], at=at)
    d_id = post["deliveries"][0]["id"]
    wait_until(at)
    # Three copies of the same attempt: a re-enqueue, a second scheduler, a direct call.
    jobs.queue().enqueue(publishing.publish_batch, [[d_id, 0]], job_id="dup-a")
    jobs.queue().enqueue(publishing.publish_batch, [[d_id, 0]], job_id="dup-b")
    assert publishing.publish_batch([[d_id, 0]]) == "1 published, 0 failed"
    runner.step()
    assert len(webhook.posts()) == 1
    assert delivery(d_id).attempts == 1


def test_a_job_that_arrives_early_waits_for_the_due_time(api, hook_channel, webhook):
    post = schedule_post(api, [hook_channel["id"]], at=soon(1.0))
    d = delivery(post["deliveries"][0]["id"])
    assert publishing.publish_batch([[d.id, 0]]) == "1 published, 0 failed"
    [got] = webhook.posts()
    assert got.at >= d.due_at.timestamp()


def test_a_stale_job_far_too_early_does_nothing(api, hook_channel, webhook):
    post = schedule_post(api, [hook_channel["id"]], at=soon(60))
    d = delivery(post["deliveries"][0]["id"])
    assert publishing.publish_batch([[d.id, 0]]) == "nothing to publish"
    assert webhook.posts() == [] and delivery(d.id).status == "pending"


def test_cancel_removes_the_job_and_nothing_is_sent(api, hook_channel, webhook, runner):
    at = soon()
    post = schedule_post(api, [hook_channel["id"]], at=at)
    d_id = post["deliveries"][0]["id"]
    job_id = delivery(d_id).job_id
    response = api.delete(f"/posts/{post['id']}")
    assert response.status_code == 200
    assert delivery(d_id).status == "cancelled"
    assert scheduled_job_ids() == set()
    assert not jobs.redis().exists(f"rq:job:{job_id}")  # no job hash left
    wait_until(at, 0.3)
    runner.step()
    assert webhook.posts() == []


def test_moving_a_post_publishes_at_the_new_time_only(api, hook_channel, webhook, runner):
    old_at = soon()
    post = schedule_post(api, [hook_channel["id"]], at=old_at)
    old_id = post["deliveries"][0]["id"]
    new_at = soon(2.0)
    moved = api.patch(f"/posts/{post['id']}", json={"schedule": {"at": new_at, "timezone": "UTC"}})
    assert moved.status_code == 200, moved.json
    open_ones = [d for d in moved.json["deliveries"] if d["status"] in ("queued", "pending")]
    assert len(open_ones) == 1
    assert db.session.get(Delivery, old_id) is None  # never attempted: replaced, not kept
    wait_until(old_at, 0.3)
    [row] = runner.until_settled([open_ones[0]["id"]])
    assert row.due_at == datetime.fromisoformat(new_at).replace(tzinfo=UTC)
    assert row.status == "published" and len(webhook.posts()) == 1
    assert webhook.posts()[0].at >= row.due_at.timestamp()  # the new time, not the old


def test_transient_failures_retry_with_the_same_idempotency_key(api, hook_channel, webhook,
                                                                runner):
    webhook.script = [Reply(503), Reply(500)]
    post = schedule_post(api, [hook_channel["id"]], at=soon())
    [row] = runner.until_settled([post["deliveries"][0]["id"]])
    assert row.status == "published" and row.attempts == 3
    keys = {r.headers["Idempotency-Key"] for r in webhook.posts()}
    assert keys == {row.idempotency_key}
    attempts = [r.json()["attempt"] for r in webhook.posts()]
    assert attempts == [1, 2, 3]
    # HERALD_RETRY_DELAYS is [1, 1] in tests: each retry waits at least a second.
    times = [r.at for r in webhook.posts()]
    assert times[1] - times[0] >= 1.0 and times[2] - times[1] >= 1.0


def test_retry_after_is_honoured(api, hook_channel, webhook, runner):
    webhook.script = [Reply(429, headers={"Retry-After": "3"})]
    post = schedule_post(api, [hook_channel["id"]], at=soon())
    [row] = runner.until_settled([post["deliveries"][0]["id"]], timeout=20)
    first, second = webhook.posts()
    assert second.at - first.at >= 3.0
    assert row.status == "published"


def test_exhausted_retries_fail_and_notify_once(api, hook_channel, webhook, runner):
    webhook.script = [Reply(500)] * 3
    post = schedule_post(api, [hook_channel["id"]], at=soon())
    [row] = runner.until_settled([post["deliveries"][0]["id"]], timeout=20)
    assert row.status == "failed" and row.attempts == 3  # 1 + len(HERALD_RETRY_DELAYS)
    assert "HTTP 500" in row.last_error
    notes = db.session.query(Notification).all()
    assert len(notes) == 1 and notes[0].delivery_id == row.id
    assert db.session.get(Post, post["id"]).status == "failed"


def test_a_permanent_failure_on_one_channel_does_not_republish_the_other(
        api, hook_channel, webhook, runner):
    from tests.platforms import Webhook

    broken = Webhook().start()
    try:
        broken.script = [Reply(400, {"error": "bad"})]
        second = api.post("/channels", json={"name": "Broken", "platform": "webhook",
                                             "config": {"url": broken.url}}).json
        post = schedule_post(api, [hook_channel["id"], second["id"]], at=soon())
        rows = runner.until_settled([d["id"] for d in post["deliveries"]])
        assert sorted(r.status for r in rows) == ["failed", "published"]
        failed = next(r for r in rows if r.status == "failed")
        assert failed.attempts == 1  # permanent: no retry
        assert db.session.get(Post, post["id"]).status == "partially_published"
        assert len(webhook.posts()) == 1 and len(broken.posts()) == 1

        # A retry by hand goes out once, with the same idempotency key.
        retried = api.post(f"/deliveries/{failed.id}/retry")
        assert retried.status_code == 200, retried.json
        [row] = runner.until_settled([failed.id])
        assert row.status == "published"
        assert [r.headers["Idempotency-Key"] for r in broken.posts()] == \
            [row.idempotency_key] * 2
        assert len(webhook.posts()) == 1
        assert db.session.get(Post, post["id"]).status == "published"
    finally:
        broken.stop()


def test_jobs_lost_with_redis_are_recreated_by_the_planner(api, hook_channel, webhook, runner):
    post = schedule_post(api, [hook_channel["id"]], at=soon(1.0))
    d_id = post["deliveries"][0]["id"]
    jobs.redis().flushall()
    assert scheduled_job_ids() == set()
    done = planner.plan()
    assert done["restored"] == 1
    [row] = runner.until_settled([d_id])
    assert row.status == "published" and len(webhook.posts()) == 1


def test_a_delivery_abandoned_by_a_dead_worker_is_recovered_once(api, hook_channel, webhook,
                                                                 runner, app):
    at = soon()
    post = schedule_post(api, [hook_channel["id"]], at=at)
    d_id = post["deliveries"][0]["id"]
    wait_until(at)
    # A worker claims it and dies before answering (no heartbeat ever written).
    assert publishing.claim([(d_id, 0)], "dead-worker") == [(d_id, 0)]
    scheduler_jobs = scheduled_job_ids()
    for job_id in scheduler_jobs:
        jobs.cancel_job(job_id)
    assert planner.plan()["recovered"] == 0  # too recent to tell from a slow worker
    later = datetime.now(UTC) + timedelta(seconds=2 * app.config["HERALD_HEARTBEAT_TTL"] + 1)
    assert planner.plan(now=later)["recovered"] == 1
    [row] = runner.until_settled([d_id])
    assert row.status == "published" and row.attempts == 2
    assert len(webhook.posts()) == 1


def test_a_live_worker_keeps_its_delivery(api, hook_channel, app):
    at = soon()
    post = schedule_post(api, [hook_channel["id"]], at=at)
    d_id = post["deliveries"][0]["id"]
    wait_until(at)
    assert publishing.claim([(d_id, 0)], "busy-worker") == [(d_id, 0)]
    jobs.beat("worker", "busy-worker")
    later = datetime.now(UTC) + timedelta(seconds=2 * app.config["HERALD_HEARTBEAT_TTL"] + 1)
    assert planner.plan(now=later)["recovered"] == 0
    assert delivery(d_id).status == "publishing"


def test_recurring_schedules_materialise_each_occurrence_independently(
        api, hook_channel, webhook, runner):
    webhook.script = [Reply(400)]  # the first occurrence fails for good
    post = schedule_post(api, [hook_channel["id"]], at=soon(), recurrence="FREQ=MINUTELY",
                         count=3)
    # Minutely for three runs: all three within the materialisation window, each its own row.
    ids = [d["id"] for d in post["deliveries"]]
    assert len(ids) == 3
    dues = [delivery(i).due_at for i in ids]
    assert dues[1] - dues[0] == timedelta(minutes=1)
    [first] = runner.until_settled(ids[:1])
    assert first.status == "failed"
    # Still waiting, for the planner to give them jobs as their time comes.
    assert delivery(ids[1]).status == "pending"
    assert delivery(ids[2]).status == "pending"


def test_pause_stops_and_resume_sends_a_missed_one_off(api, hook_channel, webhook, runner):
    at = soon()
    post = schedule_post(api, [hook_channel["id"]], at=at)
    d_id = post["deliveries"][0]["id"]
    assert api.post(f"/posts/{post['id']}/pause").status_code == 200
    assert scheduled_job_ids() == set()
    wait_until(at, 0.3)
    planner.plan()
    runner.step()
    assert webhook.posts() == [] and delivery(d_id).status == "pending"
    assert api.post(f"/posts/{post['id']}/resume").status_code == 200
    [row] = runner.until_settled([d_id])
    assert row.status == "published" and len(webhook.posts()) == 1


def test_publish_now_sends_a_draft_at_once(api, hook_channel, webhook, runner):
    draft = api.post("/posts", json={"body": "Now!", "channel_ids": [hook_channel["id"]]}).json
    assert draft["status"] == "draft" and draft["deliveries"] == []
    response = api.post(f"/posts/{draft['id']}/publish-now")
    assert response.status_code == 200
    [d] = response.json["deliveries"]
    [row] = runner.until_settled([d["id"]])
    assert row.status == "published" and len(webhook.posts()) == 1


def test_publish_now_moves_a_one_off_instead_of_adding_one(api, hook_channel, webhook, runner):
    post = schedule_post(api, [hook_channel["id"]], at=soon(3600))
    response = api.post(f"/posts/{post['id']}/publish-now")
    [d] = response.json["deliveries"]
    assert d["id"] == post["deliveries"][0]["id"]
    runner.until_settled([d["id"]])
    assert len(webhook.posts()) == 1


def test_redis_holds_jobs_only_within_the_horizon(api, hook_channel, app):
    far = (datetime.now(UTC) + timedelta(days=3)).replace(tzinfo=None).isoformat(timespec="minutes")
    post = schedule_post(api, [hook_channel["id"]], at=far)
    [d] = post["deliveries"]
    assert d["status"] == "pending" and scheduled_job_ids() == set()
    later = datetime.now(UTC) + timedelta(days=3) - timedelta(minutes=5)
    assert planner.plan(now=later)["enqueued"] == 1
    assert scheduled_job_ids() == {delivery(d["id"]).job_id}


def test_jobs_use_aware_instants_and_carry_no_secrets(api, hook_channel):
    post = schedule_post(api, [hook_channel["id"]], at=soon(30))
    planner.plan()
    d = delivery(post["deliveries"][0]["id"])
    [(job, when)] = list(Scheduler(queue_name="herald-test", connection=jobs.redis())
                         .get_jobs(with_times=True))
    assert job.args == ([[d.id, 0]],)
    # rq-scheduler returns naive UTC. The job is handed over a second ahead; the worker
    # waits for the due time itself.
    assert when.replace(tzinfo=UTC) == d.due_at - jobs.HANDED_OVER_AHEAD
    raw = b"".join(v for v in jobs.redis().hgetall(job.key).values())
    assert b"hook-secret" not in raw


def test_moving_one_delivery_moves_its_job(api, hook_channel, webhook, runner, admin):
    from webapp.services import deliveries

    old_at = soon()
    post = schedule_post(api, [hook_channel["id"]], at=old_at)
    d_id = post["deliveries"][0]["id"]
    new_at = soon(2.0)
    moved = deliveries.move(delivery(d_id), admin.id, new_at, "UTC")
    assert moved.id == d_id and moved.status == "queued"
    assert scheduled_job_ids() == {delivery(d_id).job_id}
    wait_until(old_at, 0.3)
    [row] = runner.until_settled([d_id])
    assert row.due_at == datetime.fromisoformat(new_at).replace(tzinfo=UTC)
    [got] = webhook.posts()  # once, at the new time only
    assert got.at >= row.due_at.timestamp()


def test_moving_a_delivery_into_the_past_changes_nothing(api, hook_channel, admin):
    from webapp.errors import ValidationError
    from webapp.services import deliveries

    post = schedule_post(api, [hook_channel["id"]], at=soon(60))
    planner.plan()
    d = delivery(post["deliveries"][0]["id"])
    due, job_ids = d.due_at, scheduled_job_ids()
    with pytest.raises(ValidationError):
        deliveries.move(d, admin.id, "2020-01-01T09:00", "UTC")
    assert job_ids == {d.job_id}
    assert delivery(d.id).due_at == due and scheduled_job_ids() == job_ids


def test_moving_a_recurring_post_keeps_its_rule_and_zone(api, hook_channel, admin):
    from webapp.services import posts

    post = schedule_post(api, [hook_channel["id"]], at="2030-01-07T09:00",
                         recurrence="FREQ=WEEKLY;BYDAY=MO", count=5)
    row = db.session.get(Post, post["id"])
    posts.move(row, admin.id, "2030-01-08T10:30")
    [active] = [s for s in db.session.get(Post, post["id"]).schedules if s.status == "active"]
    assert active.rrule == "FREQ=WEEKLY;BYDAY=MO" and active.count == 5
    assert active.start_local == datetime(2030, 1, 8, 10, 30)


def test_frequent_rules_write_a_bounded_number_of_rows_ahead(api, hook_channel):
    from webapp.engine.planner import MAX_WAITING_OCCURRENCES

    far = (datetime.now(UTC) + timedelta(days=2)).replace(tzinfo=None).isoformat(timespec="minutes")
    post = schedule_post(api, [hook_channel["id"]], at=far,
                         recurrence="FREQ=MINUTELY;INTERVAL=15")
    rows = db.session.query(Delivery).filter_by(post_id=post["id"]).count()
    assert rows == MAX_WAITING_OCCURRENCES
    planner.plan()
    assert db.session.query(Delivery).filter_by(post_id=post["id"]).count() == rows


def test_publish_now_for_one_delivery(api, hook_channel, webhook, runner, admin):
    from webapp.services import deliveries

    post = schedule_post(api, [hook_channel["id"]], at=soon(3600))
    d_id = post["deliveries"][0]["id"]
    deliveries.publish_now(delivery(d_id), admin.id)
    [row] = runner.until_settled([d_id])
    assert row.status == "published" and len(webhook.posts()) == 1


def test_a_new_time_for_a_partly_published_post_resends_only_where_it_failed(
        api, hook_channel, webhook, runner):
    from tests.platforms import Webhook

    broken = Webhook().start()
    try:
        broken.script = [Reply(400)]
        second = api.post("/channels", json={"name": "Broken", "platform": "webhook",
                                             "config": {"url": broken.url}}).json
        post = schedule_post(api, [hook_channel["id"], second["id"]])
        runner.until_settled([d["id"] for d in post["deliveries"]])
        moved = api.patch(f"/posts/{post['id']}",
                          json={"schedule": {"at": soon(), "timezone": "UTC"}})
        assert moved.status_code == 200, moved.json
        waiting = [d for d in moved.json["deliveries"] if d["status"] in ("queued", "pending")]
        assert [d["channel_id"] for d in waiting] == [second["id"]]
        runner.until_settled([waiting[0]["id"]])
        assert len(webhook.posts()) == 1 and len(broken.posts()) == 2
    finally:
        broken.stop()


def test_a_paused_post_stays_paused_when_its_time_changes(api, hook_channel):
    post = schedule_post(api, [hook_channel["id"]], at=soon(3600))
    api.post(f"/posts/{post['id']}/pause")
    moved = api.patch(f"/posts/{post['id']}",
                      json={"schedule": {"at": soon(7200), "timezone": "UTC"}})
    assert [s["status"] for s in moved.json["schedules"]] == ["cancelled", "paused"]
    assert scheduled_job_ids() == set()
    resumed = api.post(f"/posts/{post['id']}/resume")
    assert [d["status"] for d in resumed.json["deliveries"]
            if d["status"] != "cancelled"] == ["pending"]


def test_a_delivery_moved_onto_a_later_occurrence_does_not_break_planning(
        api, hook_channel, admin):
    from webapp.models import Schedule
    from webapp.services import deliveries

    start = (datetime.now(UTC) + timedelta(days=6, hours=12)).replace(
        tzinfo=None).isoformat(timespec="minutes")
    post = schedule_post(api, [hook_channel["id"]], at=start, recurrence="daily", count=3)
    [first] = post["deliveries"]
    schedule = db.session.get(Schedule, post["schedules"][0]["id"])
    later = schedule.next_run_local.isoformat()  # the next occurrence, not yet written
    deliveries.move(delivery(first["id"]), admin.id, later, "UTC")
    done = planner.plan(now=datetime.now(UTC) + timedelta(days=3))
    assert done["materialized"] == 1  # only the third: the second's time is taken
    dues = [d.due_at for d in db.session.query(Delivery).filter_by(post_id=post["id"])]
    assert len(dues) == 2 == len(set(dues))


def test_a_post_being_published_is_neither_moved_nor_cancelled(api, hook_channel, webhook,
                                                                runner):
    """A worker has the delivery (it is going out, as it was): moving the post would send it
    twice and cancelling it would not be true. Both are 409 and change nothing; the post
    goes out once at its time, and can change again afterwards."""
    post = schedule_post(api, [hook_channel["id"]], at=soon(1), recurrence="daily", count=3)
    d = min(post["deliveries"], key=lambda row: row["due_at"])
    wait_until(d["due_at"].replace("Z", ""))
    assert publishing.claim([(d["id"], 0)], "worker-test") == [(d["id"], 0)]
    before = api.get(f"/posts/{post['id']}").json

    moved = api.patch(f"/posts/{post['id']}", json={"schedule": {
        "at": soon(3600), "timezone": "UTC"}})
    cancelled = api.delete(f"/posts/{post['id']}")
    for response in (moved, cancelled):
        assert response.status_code == 409, response.json
        assert "being published right now" in response.json["error"]["message"]
    assert api.get(f"/posts/{post['id']}").json == before

    # Its worker records it published; the post's next occurrences may change again.
    publishing.record_successes([publishing.Sending(
        d["id"], 1, post["id"], result=PublishResult(ok=True))], "worker-test")
    assert delivery(d["id"]).status == "published"
    assert api.delete(f"/posts/{post['id']}").status_code == 200


def make_channels(api, webhook, n):
    return [api.post("/channels", json={"name": f"Hook {i}", "platform": "webhook",
                                        "config": {"url": f"{webhook.url}/c{i}"}}).json["id"]
            for i in range(n)]


def test_deliveries_due_in_the_same_second_share_jobs_and_go_out_once(
        api, webhook, runner, app):
    app.config["HERALD_BATCH_SIZE"] = 4
    channel_ids = make_channels(api, webhook, 5)
    at = beyond_lead(app)  # the planner batches them
    posts = [schedule_post(api, channel_ids, at=at) for _ in range(2)]
    ids = [d["id"] for p in posts for d in p["deliveries"]]
    assert scheduled_job_ids() == set()
    assert planner.plan(now=datetime.now(UTC))["enqueued"] == 10
    # 10 deliveries in jobs of at most 4: three jobs, each delivery in exactly one.
    job_ids = {delivery(i).job_id for i in ids}
    assert len(job_ids) == 3 and job_ids == scheduled_job_ids()
    assert planner.plan()["enqueued"] == 0  # planning again adds nothing
    assert scheduled_job_ids() == job_ids
    wait_until(at)
    published_once_on_time(runner, webhook, ids)
    assert {db.session.get(Post, p["id"]).status for p in posts} == {"published"}


def test_cancelling_one_post_of_a_shared_job_keeps_the_job_for_the_others(
        api, webhook, runner, app):
    channel_ids = make_channels(api, webhook, 2)
    at = beyond_lead(app)
    kept, dropped = (schedule_post(api, channel_ids, at=at) for _ in range(2))
    planner.plan()
    [job] = scheduled_job_ids()
    assert api.delete(f"/posts/{dropped['id']}").status_code == 200
    assert scheduled_job_ids() == {job}  # still needed by `kept`
    wait_until(at)
    runner.until_settled([d["id"] for d in kept["deliveries"]])
    assert sorted(r.json()["post_id"] for r in webhook.posts()) == [kept["id"]] * 2
    assert api.delete(f"/posts/{kept['id']}").status_code == 200  # nothing left to take back


def test_the_last_delivery_leaving_a_job_removes_it(api, webhook, app):
    channel_ids = make_channels(api, webhook, 2)
    post = schedule_post(api, channel_ids, at=beyond_lead(app))
    planner.plan()
    [job] = scheduled_job_ids()
    assert api.delete(f"/posts/{post['id']}").status_code == 200
    assert scheduled_job_ids() == set() and not jobs.redis().exists(f"rq:job:{job}")


def test_a_lost_shared_job_is_recreated_for_all_its_deliveries(api, webhook, runner, app):
    channel_ids = make_channels(api, webhook, 3)
    at = beyond_lead(app)
    post = schedule_post(api, channel_ids, at=at)
    planner.plan()
    [job] = scheduled_job_ids()
    jobs.cancel_job(job)  # Redis forgot it
    assert planner.plan()["restored"] == 3
    assert len(scheduled_job_ids()) == 1
    wait_until(at)
    rows = runner.until_settled([d["id"] for d in post["deliveries"]])
    assert [r.status for r in rows] == ["published"] * 3 and len(webhook.posts()) == 3


def test_a_batch_claims_only_what_nobody_else_claimed(api, webhook, runner):
    channel_ids = make_channels(api, webhook, 3)
    at = soon(1.0)
    post = schedule_post(api, channel_ids, at=at)
    ids = [d["id"] for d in post["deliveries"]]
    wait_until(at)
    assert publishing.claim([(ids[0], 0)], "another-worker") == [(ids[0], 0)]
    jobs.beat("worker", "another-worker")
    assert publishing.publish_batch([[i, 0] for i in ids]) == "2 published, 0 failed"
    assert sorted(r.json()["delivery_id"] for r in webhook.posts()) == ids[1:]
    assert delivery(ids[0]).status == "publishing"  # still the other worker's


def test_one_failing_channel_does_not_hold_back_the_rest_of_its_batch(api, webhook, runner):
    channel_ids = make_channels(api, webhook, 3)
    webhook.by_path["/c1"] = [Reply(500)] * 10
    at = soon(1.0)
    post = schedule_post(api, channel_ids, at=at)
    # In the channels' order (the post's deliveries come in no promised order).
    by_channel = {d["channel_id"]: d["id"] for d in post["deliveries"]}
    ids = [by_channel[c] for c in channel_ids]
    wait_until(at)
    runner.step()
    statuses = [delivery(i).status for i in ids]
    assert statuses == ["published", "retrying", "published"]
    assert delivery(ids[1]).job_id is not None  # its retry (1 s in tests) has its own job


def test_a_planner_pass_writes_rows_for_the_soonest_schedules_first_within_its_time(
        api, hook_channel, app, admin):
    from webapp.services import imports

    # More imported schedules than one transaction takes, the last one a day later.
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    times = [start + timedelta(seconds=i) for i in range(planner.MATERIALIZE_CHUNK)]
    times.append(start + timedelta(days=1))
    rows = "".join(f"post {i},{t:%Y-%m-%dT%H:%M:%S}Z,Hook\n" for i, t in enumerate(times))
    imports.import_csv(workspace_id(admin), admin.id, f"body,at,channels\n{rows}".encode(),
                       "UTC")
    app.config["HERALD_MATERIALIZE_SECONDS_PER_PASS"] = 0  # one transaction per pass

    first = planner.plan()
    assert (first["materialized"], first["more"]) == (planner.MATERIALIZE_CHUNK, True)
    assert db.session.scalar(select(func.max(Delivery.due_at))) == times[-2]
    second = planner.plan()
    assert (second["materialized"], second["more"]) == (1, False)
    assert db.session.scalar(select(func.max(Delivery.due_at))) == times[-1]


def test_hostile_platform_replies_are_contained_to_their_own_delivery(api, webhook, runner):
    # One batch across channels; each channel's path answers its own way.
    channel_ids = make_channels(api, webhook, 7)
    webhook.by_path.update({
        # A lone surrogate, as a raw JSON escape: no database can store it.
        "/c1": [Reply(200, '{"id": "x\\ud800", "url": "https://example.org/\\ud800"}')],
        # NUL in the id and the url: PostgreSQL refuses it in text.
        "/c2": [Reply(200, '{"id": "a\\u0000b", "url": "https://example.org/a\\u0000b"}')],
        # NUL and other control characters in an error body.
        "/c3": [Reply(400, "bad\x00request\x07 here")],
        "/c4": [Reply(400, "e" * 10_000_000)],  # a 10 MB error body
        "/c5": [Reply(200, b"\xff\xfe<html>not json\x00</html>")],
        "/c6": [Reply(200, "[" * 100_000)],  # too deeply nested for the JSON parser
    })
    post = schedule_post(api, channel_ids, at=soon(1.0))
    ids = [d["id"] for d in post["deliveries"]]
    rows = {webhook_path(r): r for r in runner.until_settled(ids)}

    assert rows["/c0"].status == "published" and rows["/c0"].external_id.startswith("hook-")
    # Accepted by the platform: published, the fields that cannot be stored dropped.
    for path in ("/c1", "/c2", "/c5", "/c6"):
        assert rows[path].status == "published", path
        assert (rows[path].external_id, rows[path].external_url) == (None, None), path
    assert rows["/c3"].status == "failed"
    assert rows["/c3"].last_error == "HTTP 400: badrequest here"
    assert rows["/c4"].status == "failed"
    assert rows["/c4"].last_error.startswith("HTTP 400: eee") and len(rows["/c4"].last_error) <= 500
    assert db.session.get(Post, post["id"]).status == "partially_published"
    runner.step(plan=True)  # nothing is left to send again
    assert sorted(r.path for r in webhook.posts()) == [f"/c{i}" for i in range(7)]
    for d in api.get(f"/posts/{post['id']}").json["deliveries"]:
        assert "\x00" not in (d["last_error"] or "") + (d["external_id"] or "")


def webhook_path(row: Delivery) -> str:
    """The path of the webhook channel a delivery went to ("/c0" for make_channels' first)."""
    return "/" + row.channel.config["url"].rsplit("/", 1)[1]


def test_posts_saved_near_their_time_share_the_job_of_their_second(api, webhook, runner,
                                                                   app):
    app.config["HERALD_BATCH_SIZE"] = 3
    channel_ids = make_channels(api, webhook, 2)
    at = soon(4)  # within the planner's lead: jobs are given as the posts are saved
    posts = [schedule_post(api, channel_ids[:1] if i % 2 else channel_ids, at=at)
             for i in range(5)]
    ids = [d["id"] for p in posts for d in p["deliveries"]]
    # 8 deliveries saved one post at a time, in jobs of at most 3: three jobs, not five.
    job_ids = {delivery(i).job_id for i in ids}
    assert len(job_ids) == 3 and job_ids == scheduled_job_ids()
    assert planner.plan()["enqueued"] == 0 and scheduled_job_ids() == job_ids
    wait_until(at)
    published_once_on_time(runner, webhook, ids)


def test_a_job_publishes_what_joined_it_even_when_its_first_delivery_left(
        api, hook_channel, webhook, runner):
    at = soon(4)
    first, joiner = (schedule_post(api, [hook_channel["id"]], at=at) for _ in range(2))
    [job] = scheduled_job_ids()
    assert delivery(joiner["deliveries"][0]["id"]).job_id == job
    # The job was made for `first`; cancelling it keeps the job for the one that joined.
    assert api.delete(f"/posts/{first['id']}").status_code == 200
    assert scheduled_job_ids() == {job}
    wait_until(at)
    [row] = runner.until_settled([joiner["deliveries"][0]["id"]])
    assert row.status == "published"
    assert [r.json()["post_id"] for r in webhook.posts()] == [joiner["id"]]


def test_a_post_saved_after_its_seconds_job_went_to_a_worker_gets_its_own(
        api, hook_channel, webhook, runner):
    from rq.job import Job

    # Ahead enough that the second post is still in the future on a loaded machine, and
    # within the window in which the API gives a job at once (three planner intervals).
    at = soon(10)
    first = schedule_post(api, [hook_channel["id"]], at=at)
    [job] = scheduled_job_ids()
    # What the scheduler does a second ahead: from then on a worker may already have
    # claimed, so nothing joins the job.
    jobs.scheduler().enqueue_job(Job.fetch(job, connection=jobs.redis()))
    assert scheduled_job_ids() == set()
    late = schedule_post(api, [hook_channel["id"]], at=at)
    assert delivery(late["deliveries"][0]["id"]).job_id not in (None, job)
    ids = [first["deliveries"][0]["id"], late["deliveries"][0]["id"]]
    wait_until(at)
    rows = runner.until_settled(ids)
    assert [r.status for r in rows] == ["published"] * 2 and len(webhook.posts()) == 2


def test_a_lost_job_is_recreated_for_the_deliveries_that_joined_it(api, hook_channel,
                                                                   webhook, runner):
    at = soon(8)  # still ahead after three posts on a loaded machine
    posts = [schedule_post(api, [hook_channel["id"]], at=at) for _ in range(3)]
    ids = [p["deliveries"][0]["id"] for p in posts]
    assert len(scheduled_job_ids()) == 1
    jobs.redis().flushall()
    assert planner.plan()["restored"] == 3
    wait_until(at)
    rows = runner.until_settled(ids)
    assert [r.status for r in rows] == ["published"] * 3 and len(webhook.posts()) == 3
