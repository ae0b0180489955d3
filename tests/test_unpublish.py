"""Unpublishing at a set time (schedule.unpublish_at) and deliveries whose outcome is
unknown, through the whole stack: API, planner, jobs, worker, real HTTP to stand-ins."""

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.helpers import composer, error_for, show, soon, submit, tomorrow_at
from tests.platforms import Reply
from webapp.engine import planner, publishing
from webapp.extensions import db
from webapp.models import AuditEvent, Delivery, Notification
from webapp.publishers import PUBLISHERS
from webapp.publishers.webhook import WebhookPublisher

pytestmark = pytest.mark.postgres


class NoRemovalPublisher(WebhookPublisher):
    """A platform that cannot remove what it published (registered per test)."""

    platform = "noremoval"
    can_unpublish = False
    cannot_unpublish_reason = "its API has no way to delete an item"


class OnceOnlyPublisher(WebhookPublisher):
    """A webhook-like platform that cannot deduplicate: a request that may have reached it
    must not be sent again by itself (registered per test)."""

    platform = "onceonly"
    idempotent = False


def removal_post(api, channel_id, publish_in=1.0, remove_in=3.0, **extra):
    response = api.post("/posts", json={
        "title": "Flash sale", "body": "Half price until noon", "channel_ids": [channel_id],
        "schedule": {"at": soon(publish_in), "timezone": "UTC",
                     "unpublish_at": soon(remove_in) + "Z"}, **extra})
    assert response.status_code == 201, response.json
    return response.json


FIELDS = ("id", "post_id", "channel_id", "status", "action", "attempts", "due_at",
          "next_attempt_at", "external_id", "external_url", "last_error")


def snap(row: Delivery | None) -> SimpleNamespace | None:
    """A delivery's values, kept after the session that loaded it is gone."""
    return None if row is None else SimpleNamespace(**{f: getattr(row, f) for f in FIELDS})


def settled(runner, delivery_id) -> SimpleNamespace:
    [row] = runner.until_settled([delivery_id])
    return snap(row)


def status_of(delivery_id) -> str:
    db.session.remove()
    return db.session.get(Delivery, delivery_id).status


def removal_of(post_id) -> SimpleNamespace | None:
    db.session.remove()
    return snap(db.session.scalars(select(Delivery).where(
        Delivery.post_id == post_id, Delivery.action == "unpublish")).one_or_none())


def test_a_mastodon_post_is_published_then_deleted_at_its_time(api, masto_channel, mastodon,
                                                                runner):
    channel_id = masto_channel.id
    post = removal_post(api, channel_id)
    [schedule] = post["schedules"]
    assert schedule["unpublish_at"].endswith("Z")
    [d] = post["deliveries"]
    assert d["action"] == "publish"
    assert removal_of(post["id"]) is None  # written when the publication succeeds

    published = settled(runner, d["id"])
    assert published.status == "published"
    status_id = published.external_id
    assert status_id in mastodon.live_ids()
    removal = removal_of(post["id"])
    assert removal.channel_id == channel_id and removal.status in ("pending", "queued")
    assert removal.external_id == status_id
    assert removal.due_at == datetime.fromisoformat(schedule["unpublish_at"]).astimezone(UTC)

    done = settled(runner, removal.id)
    assert done.status == "published" and done.attempts == 1
    [delete] = mastodon.deletes()
    assert delete.path == f"/api/v1/statuses/{status_id}"
    assert delete.headers["Authorization"] == "Bearer good-token"
    assert delete.at >= done.due_at.timestamp()  # never early
    assert mastodon.live_ids() == set()
    assert len(mastodon.posts()) == 1  # the post itself went out once

    listed = api.get(f"/deliveries?post_id={post['id']}").json["items"]
    assert sorted(item["action"] for item in listed) == ["publish", "unpublish"]
    assert api.get(f"/posts/{post['id']}").json["status"] == "published"


def test_a_webhook_gets_the_unpublish_message_with_the_external_id(api, hook_channel, webhook,
                                                                    runner):
    post = removal_post(api, hook_channel["id"])
    [d] = post["deliveries"]
    published = settled(runner, d["id"])
    removal = removal_of(post["id"])
    settled(runner, removal.id)

    first, second = webhook.posts()
    assert first.json()["action"] == "publish" and "external_id" not in first.json()
    body = second.json()
    assert body["action"] == "unpublish"
    assert body["external_id"] == published.external_id
    assert body["delivery_id"] == removal.id and body["post_id"] == post["id"]
    # A removal has its own idempotency key, the same on each of its attempts.
    assert second.headers["Idempotency-Key"] != first.headers["Idempotency-Key"]
    assert second.headers["X-Herald-Signature"].startswith("sha256=")
    assert removal_of(post["id"]).external_id == published.external_id


def test_a_removal_is_retried_after_a_503_then_done(api, masto_channel, mastodon, runner):
    # The stand-in numbers statuses from 1001: the removal's first DELETE gets a 503.
    mastodon.by_path["/api/v1/statuses/1001"] = [Reply(503, {"error": "busy"})]
    post = removal_post(api, masto_channel.id)
    runner.until_settled([post["deliveries"][0]["id"]])
    removal = removal_of(post["id"])

    done = settled(runner, removal.id)
    assert done.status == "published" and done.attempts == 2
    assert [r.path for r in mastodon.deletes()] == ["/api/v1/statuses/1001"] * 2
    assert mastodon.live_ids() == set()
    events = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "delivery", AuditEvent.object_id == removal.id)).all()
    assert "delivery.retry_scheduled" in events


def test_a_status_already_gone_counts_as_removed(api, masto_channel, mastodon, runner):
    post = removal_post(api, masto_channel.id)
    published = settled(runner, post["deliveries"][0]["id"])
    mastodon.deleted.append(published.external_id)  # deleted by hand meanwhile
    done = settled(runner, removal_of(post["id"]).id)
    assert done.status == "published"
    assert len(mastodon.deletes()) == 1


def test_a_failed_publication_gets_no_removal(api, hook_channel, webhook, runner):
    webhook.script = [Reply(400, {"error": "refused"})]
    post = removal_post(api, hook_channel["id"], remove_in=2.0)
    failed = settled(runner, post["deliveries"][0]["id"])
    assert failed.status == "failed"
    # Past the removal time, planner passes included: nothing is written or sent.
    runner.until(lambda: datetime.now(UTC).timestamp() > failed.due_at.timestamp() + 2,
                 plan=True)
    assert removal_of(post["id"]) is None
    assert len(webhook.posts()) == 1


def test_unpublish_at_is_refused_where_it_cannot_apply(api, hook_channel, monkeypatch):
    monkeypatch.setitem(PUBLISHERS, NoRemovalPublisher.platform, NoRemovalPublisher)
    created = api.post("/channels", json={"name": "Archive", "platform": "noremoval",
                                          "config": {"url": "http://127.0.0.1:9/x"}})
    assert created.status_code == 201, created.json
    archive = created.json["id"]
    before = api.get("/posts").json["total"]

    def refused(channel_ids, **schedule):
        response = api.post("/posts", json={"body": "Gone soon", "channel_ids": channel_ids,
                                            "schedule": {"timezone": "UTC", **schedule}})
        assert response.status_code == 422, response.json
        return response.json["error"]["fields"]

    fields = refused([hook_channel["id"], archive], at=soon(60), unpublish_at=soon(120))
    assert fields["schedule.unpublish_at"] == (
        "Archive cannot remove a post: its API has no way to delete an item")
    fields = refused([hook_channel["id"]], at=soon(60), unpublish_at=soon(120),
                     recurrence="daily")
    assert "one-off" in fields["schedule.unpublish_at"]
    fields = refused([hook_channel["id"]], at=soon(120), unpublish_at=soon(60))
    assert fields["schedule.unpublish_at"] == "must be after the post goes out (at)"
    fields = refused([hook_channel["id"]], at=soon(60), unpublish_at="tomorrow")
    assert "not a valid date and time" in fields["schedule.unpublish_at"]
    assert api.get("/posts").json["total"] == before

    # A post that may be removed cannot be moved onto a channel that cannot remove it.
    post = api.post("/posts", json={"body": "Gone soon", "channel_ids": [hook_channel["id"]],
                                    "schedule": {"at": soon(60), "timezone": "UTC",
                                                 "unpublish_at": soon(120)}}).json
    patched = api.patch(f"/posts/{post['id']}", json={"channel_ids": [archive]})
    assert patched.status_code == 422
    assert "Archive cannot remove a post" in patched.json["error"]["fields"][
        "schedule.unpublish_at"]
    assert api.get(f"/posts/{post['id']}").json["channel_ids"] == [hook_channel["id"]]


@pytest.fixture
def once_channel(api, webhook, monkeypatch, app):
    """A channel on a platform that cannot deduplicate; requests time out quickly."""
    monkeypatch.setitem(PUBLISHERS, OnceOnlyPublisher.platform, OnceOnlyPublisher)
    monkeypatch.setitem(app.config, "HERALD_HTTP_TIMEOUT", 0.5)
    response = api.post("/channels", json={"name": "Once", "platform": "onceonly",
                                           "config": {"url": webhook.url + "/once"}})
    assert response.status_code == 201, response.json
    return response.json["id"]


def unknown_delivery(api, channel_id, webhook, runner) -> SimpleNamespace:
    # The platform acts on the request but answers after the client gave up.
    webhook.script = [Reply(status=None, delay=1.5)]
    response = api.post("/posts", json={"body": "Only once, please", "channel_ids": [channel_id],
                                        "schedule": {"at": soon(1), "timezone": "UTC"}})
    assert response.status_code == 201, response.json
    return settled(runner, response.json["deliveries"][0]["id"])


def test_an_unknown_outcome_is_never_resent_by_itself_then_retried_by_hand(
        api, once_channel, webhook, runner, signed_in):
    row = unknown_delivery(api, once_channel, webhook, runner)
    assert row.status == "unknown" and row.attempts == 1
    assert "may have published it" in row.last_error
    assert row.next_attempt_at == row.due_at  # no retry scheduled
    for _ in range(3):  # planner passes: no job, no recovery, no resend
        runner.step(plan=True)
    assert status_of(row.id) == "unknown"
    assert len(webhook.posts()) == 1
    [note] = db.session.scalars(select(Notification).where(
        Notification.delivery_id == row.id)).all()
    assert note.title.startswith("May have been published to Once")
    assert "check, then retry or mark it published" in note.body
    shown = api.get("/deliveries?status=unknown").json
    assert [item["id"] for item in shown["items"]] == [row.id]

    # The queue's Failed tab shows it with both actions.
    page = show(signed_in, "/queue?status=failed")
    assert f'id="delivery-{row.id}"' in page and "May have been published" in page
    assert f"/deliveries/{row.id}/retry" in page and f"/deliveries/{row.id}/mark-published" in page
    assert f'id="delivery-{row.id}"' in show(signed_in, "/queue?status=unknown")

    retried = api.post(f"/deliveries/{row.id}/retry")
    assert retried.status_code == 200, retried.json
    done = settled(runner, row.id)
    assert done.status == "published" and done.attempts == 2
    assert len(webhook.posts()) == 2
    assert api.post(f"/deliveries/{row.id}/mark-published").status_code == 409


def test_an_unknown_delivery_is_marked_published(api, once_channel, webhook, runner):
    row = unknown_delivery(api, once_channel, webhook, runner)
    assert row.status == "unknown"
    bad = api.post(f"/deliveries/{row.id}/mark-published",
                   json={"external_url": "javascript:alert(1)"})
    assert bad.status_code == 422 and "external_url" in bad.json["error"]["fields"]
    assert status_of(row.id) == "unknown"

    marked = api.post(f"/deliveries/{row.id}/mark-published",
                      json={"external_url": "https://example.com/items/7"})
    assert marked.status_code == 200, marked.json
    assert marked.json["status"] == "published"
    assert marked.json["external_url"] == "https://example.com/items/7"
    assert marked.json["last_error"] is None
    assert api.get(f"/posts/{row.post_id}").json["status"] == "published"
    db.session.remove()
    [event] = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "delivery.marked_published")).all()
    assert event.object_id == row.id and event.user_id is not None
    note = db.session.scalars(select(Notification).where(
        Notification.delivery_id == row.id)).one()
    assert note.read_at is not None  # nothing left to ask
    for _ in range(2):
        runner.step(plan=True)
    assert len(webhook.posts()) == 1
    assert api.post(f"/deliveries/{row.id}/mark-published").status_code == 409
    assert api.post(f"/deliveries/{row.id}/retry").status_code == 409


def test_mark_published_is_refused_for_a_waiting_delivery(api, hook_channel):
    post = api.post("/posts", json={"body": "Later", "channel_ids": [hook_channel["id"]],
                                    "schedule": {"at": soon(3600), "timezone": "UTC"}}).json
    d = post["deliveries"][0]
    answer = api.post(f"/deliveries/{d['id']}/mark-published")
    assert answer.status_code == 409
    assert api.get(f"/deliveries?post_id={post['id']}").json["items"][0]["status"] in (
        "pending", "queued")


def test_a_new_removal_time_for_a_post_already_up_moves_its_removal(api, masto_channel,
                                                                    mastodon, runner):
    post = removal_post(api, masto_channel.id, remove_in=3600)
    published = settled(runner, post["deliveries"][0]["id"])
    old = removal_of(post["id"])
    assert old.due_at > datetime.now(UTC).replace(microsecond=0)

    patched = api.patch(f"/posts/{post['id']}", json={"schedule": {
        "at": soon(1), "timezone": "UTC", "unpublish_at": soon(2)}})
    assert patched.status_code == 200, patched.json
    new = removal_of(post["id"])
    assert new.id != old.id and new.due_at < old.due_at
    assert new.external_id == published.external_id
    done = settled(runner, new.id)
    assert done.status == "published"
    assert [r.path for r in mastodon.deletes()] == [f"/api/v1/statuses/{published.external_id}"]
    assert len(mastodon.posts()) == 1  # not published again at the new time


def test_the_composer_plans_a_removal_and_refuses_a_channel_that_cannot(
        signed_in, hook_channel, monkeypatch, api):
    monkeypatch.setitem(PUBLISHERS, NoRemovalPublisher.platform, NoRemovalPublisher)
    archive = api.post("/channels", json={"name": "Archive", "platform": "noremoval",
                                          "config": {"url": "http://127.0.0.1:9/x"}}).json["id"]
    assert 'name="unpublish_at"' in show(signed_in, "/posts/new")
    before = api.get("/posts").json["total"]

    refused = submit(signed_in, "/posts/new", composer(
        [hook_channel["id"], archive], unpublish_at=tomorrow_at(18)))
    assert refused.status_code == 422
    assert error_for(refused.get_data(as_text=True), "unpublish_at") == (
        "Archive cannot remove a post: its API has no way to delete an item")
    assert api.get("/posts").json["total"] == before

    saved = submit(signed_in, "/posts/new", composer([hook_channel["id"]],
                                                     unpublish_at=tomorrow_at(18)))
    assert saved.status_code == 303, saved.get_data(as_text=True)[:500]
    [post] = api.get("/posts").json["items"][:1]
    [schedule] = api.get(f"/posts/{post['id']}").json["schedules"]
    assert schedule["unpublish_local"] == tomorrow_at(18) + ":00"
    page = show(signed_in, saved.headers["Location"])
    assert "Removed from the platform" in page and "18:00" in page


def test_a_dead_workers_delivery_on_a_platform_that_cannot_deduplicate_becomes_unknown(
        api, once_channel, webhook, runner, app):
    at = soon(1)
    post = api.post("/posts", json={"body": "Only once, please", "channel_ids": [once_channel],
                                    "schedule": {"at": at, "timezone": "UTC"}}).json
    d_id = post["deliveries"][0]["id"]
    due = datetime.fromisoformat(at).replace(tzinfo=UTC)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.05)
    # A worker claims it and dies: it may have sent the request.
    assert publishing.claim([(d_id, 0)], "dead-worker") == [(d_id, 0)]
    assert planner.plan()["recovered"] == 0  # too recent to tell from a slow worker
    later = datetime.now(UTC) + timedelta(seconds=2 * app.config["HERALD_HEARTBEAT_TTL"] + 1)
    assert planner.plan(now=later)["recovered"] == 1
    assert status_of(d_id) == "unknown"
    for _ in range(2):
        runner.step(plan=True)
    assert status_of(d_id) == "unknown"
    assert webhook.posts() == []  # never resent by itself
