"""End to end with the real processes: schedule through the API, see the webhook arrive on
time and exactly once — also across a Redis FLUSHALL and a worker killed mid-publish."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.platforms import Reply, Webhook
from tests.reliability.harness import running_stack

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path, shared):
    """The Procfile's processes on a copy of the released database the fault scenarios
    share (tests/reliability/harness.py)."""
    with running_stack(tmp_path / "stack", workers=2, shared=shared) as stack:
        yield stack


@pytest.fixture
def receiver():
    server = Webhook().start()
    yield server
    server.stop()


def at_in(seconds: float) -> str:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)
    return when.replace(tzinfo=None).isoformat()


def schedule(stack, channel_id, seconds, **extra) -> dict:
    response = stack.api("POST", "/posts", json={
        "body": "e2e", "channel_ids": [channel_id],
        "schedule": {"at": at_in(seconds), "timezone": "UTC"}, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def hook(stack, receiver) -> int:
    response = stack.api("POST", "/channels", json={
        "name": "Receiver", "platform": "webhook", "config": {"url": receiver.url}})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def wait_for(condition, timeout: float, stack) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out\n" + stack.logs())
        time.sleep(0.1)


def test_posts_arrive_on_time_exactly_once(stack, receiver):
    channel = hook(stack, receiver)
    posts = [schedule(stack, channel, 3 + i % 2) for i in range(10)]
    wait_for(lambda: len(receiver.posts()) >= 10, 20, stack)
    time.sleep(1.5)  # anything extra would have arrived by now
    got = receiver.posts()
    assert len(got) == 10
    assert len({r.headers["Idempotency-Key"] for r in got}) == 10
    due = {p["deliveries"][0]["id"]: p["deliveries"][0]["due_at"] for p in posts}
    for request in got:
        due_at = datetime.fromisoformat(due[int(request.headers["X-Herald-Delivery"])]
                                        .replace("Z", "+00:00")).timestamp()
        # Never early; how late is measured by bench/lateness.py, not asserted here.
        assert request.at >= due_at, request.at - due_at
    health = stack.api("GET", "/queue/stats").json()
    assert health["counts"]["published"] == 10


def test_a_redis_flushall_loses_no_post(stack, receiver):
    channel = hook(stack, receiver)
    post = schedule(stack, channel, 6)
    stack.redis_client = __import__("redis").Redis.from_url(stack.redis.url)
    stack.redis_client.flushall()
    wait_for(lambda: len(receiver.posts()) >= 1, 60, stack)
    due_at = datetime.fromisoformat(post["deliveries"][0]["due_at"].replace("Z", "+00:00"))
    assert receiver.posts()[0].at >= due_at.timestamp()
    time.sleep(1)
    assert len(receiver.posts()) == 1


def test_a_worker_killed_mid_publish_is_recovered(stack, receiver):
    channel = hook(stack, receiver)
    # The platform holds the first request until after the worker is killed.
    receiver.script = [Reply(200, {"id": "slow"}, delay=4)]
    post = schedule(stack, channel, 2)
    d_id = post["deliveries"][0]["id"]
    wait_for(lambda: len(receiver.posts()) >= 1, 15, stack)

    def status():
        return stack.api("GET", f"/posts/{post['id']}").json()["deliveries"][0]

    assert status()["status"] == "publishing"
    for worker in stack.processes["worker"]:
        stack.kill(worker)
    stack.start("worker")
    wait_for(lambda: status()["status"] == "published", 75, stack)
    keys = [r.headers["Idempotency-Key"] for r in receiver.posts()]
    # Resent once, with the same key: the platform can drop the copy it already has.
    assert len(keys) == 2 and len(set(keys)) == 1
    assert status()["attempts"] == 2 and status()["id"] == d_id
