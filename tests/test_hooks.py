"""Lifecycle webhooks end to end: real deliveries published and failed by the real worker,
events POSTed over real HTTP to a local receiver, signed, retried by the delivery retry
policy, recorded in the delivery log, and re-queued by the planner when Redis lost them."""

import hashlib
import hmac
import json
import logging

import pytest
from rq.job import Job
from sqlalchemy import select

from tests.helpers import PASSWORD, Api, delivery_ids, schedule, show, submit, token_for
from tests.platforms import Reply
from webapp.engine import hook_calls, jobs
from webapp.engine import hooks as engine_hooks
from webapp.extensions import db
from webapp.models import Hook, HookCall
from webapp.services import hooks
from webapp.services.accounts import create_user

pytestmark = pytest.mark.postgres

SECRET = "lifecycle-secret-9c2e"


def add_hook(api, url, events, secret=None):
    body = {"url": url, "events": events} | ({"secret": secret} if secret else {})
    response = api.post("/hooks", json=body)
    assert response.status_code == 201, response.json
    return response.json


def fire_now(api, event, data) -> int:
    """Fire `event` for the workspace of the `api` client's hooks and commit, as a service
    does; returns the one call's id."""
    ws = db.session.get(Hook, api.get("/hooks").json["items"][0]["id"]).workspace_id
    [call] = hooks.fire(ws, event, data)
    call_id = call.id
    db.session.commit()
    return call_id


def calls(**where):
    db.session.expire_all()
    return db.session.scalars(select(HookCall).filter_by(**where).order_by(HookCall.id)).all()


def settled(call_id):
    def check():
        return db.session.get(HookCall, call_id).status in ("sent", "failed")
    return check


def test_a_published_delivery_is_posted_signed_to_the_hooks_subscribed(
        api, webhook, hook_channel, runner):
    signed = add_hook(api, webhook.url + "/events", ["delivery.published"], SECRET)
    add_hook(api, webhook.url + "/plain", ["delivery.published", "post.approved"])
    add_hook(api, webhook.url + "/failures", ["delivery.failed"])
    post = schedule(api, [hook_channel["id"]])
    [delivery] = runner.until_settled(delivery_ids(post))
    assert delivery.status == "published"
    runner.until(lambda: all(c.status == "sent" for c in calls()) and len(calls()) == 2)

    [got] = webhook.posts("/events")
    body = got.json()
    assert set(body) == {"event", "at", "data"} and body["event"] == "delivery.published"
    assert body["at"].endswith("Z")
    assert body["data"] == {"delivery_id": delivery.id, "post_id": post["id"],
                            "channel_id": hook_channel["id"],
                            "due_at": post["deliveries"][0]["due_at"],
                            "external_id": delivery.external_id,
                            "external_url": delivery.external_url}
    assert body["data"]["external_id"]  # the channel's reply was recorded first
    expected = hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Herald-Signature"] == f"sha256={expected}"
    assert got.headers["Content-Type"] == "application/json"
    [call] = calls(hook_id=signed["id"])
    assert got.headers["Idempotency-Key"] == call.idempotency_key
    assert (call.status, call.attempts, call.response_status) == ("sent", 1, 200)
    assert call.finished_at is not None
    [plain] = webhook.posts("/plain")
    assert "X-Herald-Signature" not in plain.headers and plain.json()["data"] == body["data"]
    assert plain.headers["Idempotency-Key"] != got.headers["Idempotency-Key"]
    assert webhook.posts("/failures") == []  # not subscribed to delivery.published


def test_a_delivery_that_fails_for_good_fires_delivery_failed(api, webhook, runner):
    webhook.by_path["/bad"] = [Reply(400, {"error": "rejected by the platform"})]
    channel = api.post("/channels", json={"name": "Bad", "platform": "webhook",
                                          "config": {"url": webhook.url + "/bad"}}).json
    add_hook(api, webhook.url + "/events", ["delivery.failed"])
    add_hook(api, webhook.url + "/published", ["delivery.published"])
    post = schedule(api, [channel["id"]])
    [delivery] = runner.until_settled(delivery_ids(post))
    assert delivery.status == "failed"
    runner.until(lambda: [c.status for c in calls()] == ["sent"])
    [got] = webhook.posts("/events")
    assert got.json()["event"] == "delivery.failed"
    assert got.json()["data"] == {"delivery_id": delivery.id, "post_id": post["id"],
                                  "channel_id": channel["id"],
                                  "due_at": post["deliveries"][0]["due_at"],
                                  "last_error": delivery.last_error}
    assert "rejected by the platform" in delivery.last_error
    assert webhook.posts("/published") == []


def test_a_5xx_is_retried_with_the_same_body_and_key_until_it_succeeds(api, webhook, runner,
                                                                       caplog):
    caplog.set_level(logging.DEBUG)
    webhook.by_path["/events"] = [Reply(500, {"error": f"down; got secret {SECRET}"})]
    add_hook(api, webhook.url + "/events", ["post.approved"], SECRET)
    call_id = fire_now(api, "post.approved", {"post_id": 7})
    runner.until(lambda: calls()[0].status == "retrying")
    retrying = calls()[0]
    assert (retrying.attempts, retrying.response_status) == (1, 500)
    assert SECRET not in retrying.last_error and "[redacted]" in retrying.last_error
    runner.until(settled(call_id))
    done = calls()[0]
    assert (done.status, done.attempts, done.response_status) == ("sent", 2, 200)
    assert done.last_error is None
    first, second = webhook.posts("/events")
    assert first.body == second.body and json.loads(first.body)["data"] == {"post_id": 7}
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert first.headers["X-Herald-Signature"] == second.headers["X-Herald-Signature"]
    # The retry waited the policy's delay (HERALD_RETRY_DELAYS is [1, 1] in tests).
    assert second.at - first.at >= 0.9
    assert SECRET not in caplog.text


def test_retries_stop_where_the_delivery_policy_stops(api, webhook, runner):
    webhook.by_path["/events"] = [Reply(503), Reply(429, headers={"Retry-After": "1"}),
                                  Reply(502), Reply(200)]
    add_hook(api, webhook.url + "/events", ["post.rejected"])
    call_id = fire_now(api, "post.rejected", {"post_id": 1, "comment": "no"})
    runner.until(settled(call_id), timeout=20)
    done = calls()[0]
    # Three attempts, as a delivery gets with two retry delays; the fourth reply unused.
    assert (done.status, done.attempts, done.response_status) == ("failed", 3, 502)
    assert len(webhook.posts("/events")) == 3


def test_a_4xx_fails_at_once(api, webhook, runner):
    webhook.by_path["/events"] = [Reply(400, {"error": "bad"})]
    add_hook(api, webhook.url + "/events", ["post.approved"])
    call_id = fire_now(api, "post.approved", {"post_id": 3})
    runner.until(settled(call_id))
    done = calls()[0]
    assert (done.status, done.attempts, done.response_status) == ("failed", 1, 400)
    assert "HTTP 400" in done.last_error
    assert len(webhook.posts("/events")) == 1


def test_another_workspaces_hooks_never_hear(api, client, webhook, hook_channel, runner):
    other, ws = create_user("outsider@example.com", PASSWORD, "Elsewhere", "admin")
    outsider = Api(client, token_for(other, ws.id))
    add_hook(outsider, webhook.url + "/theirs", ["delivery.published", "delivery.failed"])
    add_hook(api, webhook.url + "/ours", ["delivery.published"])
    post = schedule(api, [hook_channel["id"]])
    runner.until_settled(delivery_ids(post))
    runner.until(lambda: [c.status for c in calls()] == ["sent"])
    assert len(webhook.posts("/ours")) == 1
    assert webhook.posts("/theirs") == []
    assert len(calls()) == 1


def test_nothing_is_sent_for_a_change_that_was_rolled_back(api, webhook, runner):
    add_hook(api, webhook.url + "/events", ["post.approved"])
    ws = db.session.get(Hook, api.get("/hooks").json["items"][0]["id"]).workspace_id
    hooks.fire(ws, "post.approved", {"post_id": 1})
    db.session.rollback()
    [call] = hooks.fire(ws, "post.approved", {"post_id": 2})
    call_id = call.id
    db.session.commit()
    runner.until(settled(call_id))
    runner.step(plan=True)
    assert [r.json()["data"] for r in webhook.posts("/events")] == [{"post_id": 2}]


def test_an_address_refused_by_the_outgoing_check_is_refused_at_send_time(app, api, webhook,
                                                                          runner):
    add_hook(api, webhook.url + "/events", ["post.approved"])
    app.config["HERALD_ALLOW_PRIVATE_NETWORKS"] = False
    call_id = fire_now(api, "post.approved", {"post_id": 1})
    runner.until(settled(call_id))
    done = calls()[0]
    assert done.status == "failed" and "private or loopback" in done.last_error
    assert webhook.received == []


def test_jobs_carry_only_the_calls_id(api, webhook):
    add_hook(api, webhook.url + "/events", ["post.approved"], SECRET)
    call_id = fire_now(api, "post.approved", {"post_id": 1})
    job = Job.fetch(engine_hooks.job_id(call_id, 0), connection=jobs.redis())
    assert job.func_name == jobs.SEND_HOOK_CALL
    assert (job.args, job.kwargs) == ((call_id,), {})
    assert SECRET not in str(job.to_dict()) + str(job.description)


def test_a_call_whose_job_redis_lost_is_queued_again_by_the_planner(api, webhook, runner):
    add_hook(api, webhook.url + "/events", ["post.approved"])
    call_id = fire_now(api, "post.approved", {"post_id": 1})
    jobs.cancel_job(engine_hooks.job_id(call_id, 0))  # as if Redis had lost it
    db.session.get(HookCall, call_id).next_attempt_at -= hook_calls.RECOVER_AFTER * 2
    db.session.commit()
    runner.step()
    assert calls()[0].status == "pending" and webhook.received == []
    runner.until(settled(call_id), plan=True)
    assert calls()[0].status == "sent" and len(webhook.posts("/events")) == 1


# --- the settings page ------------------------------------------------------------------------


def test_admins_manage_hooks_and_read_the_log_on_the_settings_page(signed_in, webhook, runner):
    page = show(signed_in, "/settings")
    assert "/settings/hooks" in page
    added = submit(signed_in, "/settings/hooks", {
        "url": webhook.url + "/events", "events": ["post.approved", "delivery.failed"],
        "secret": SECRET})
    assert added.status_code == 303, added.get_data(as_text=True)
    hook = db.session.scalars(select(Hook)).one()
    assert hook.events == ["post.approved", "delivery.failed"] and hook.secret_encrypted
    hook_id = hook.id
    webhook.by_path["/events"] = [Reply(400, {"error": "nope"})]
    [call] = hooks.fire(hook.workspace_id, "post.approved", {"post_id": 1})
    call_id = call.id
    db.session.commit()
    runner.until(settled(call_id))
    page = show(signed_in, "/settings/hooks")
    assert webhook.url + "/events" in page and "post.approved, delivery.failed" in page
    assert SECRET not in page
    log = page.split('id="hook-log"', 1)[1]
    assert "post.approved" in log and "failed" in log and "400" in log and "nope" in log
    confirm = show(signed_in, f"/settings/hooks/{hook_id}/delete")
    assert "Delete webhook" in confirm
    removed = submit(signed_in, f"/settings/hooks/{hook_id}/delete")
    assert removed.status_code == 303
    assert db.session.scalars(select(Hook)).all() == []
    assert "No webhooks yet" in show(signed_in, "/settings/hooks")


@pytest.mark.parametrize("data, message", [
    ({"url": "ftp://x.example/", "events": ["post.approved"]}, "http:// or https://"),
    ({"url": "https://x.example/"}, "non-empty list"),
    ({"url": "https://x.example/", "events": ["post.approved"], "secret": "s" * 201},
     "at most 200"),
])
def test_a_bad_hook_form_says_why_and_saves_nothing(signed_in, data, message):
    response = submit(signed_in, "/settings/hooks", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(select(Hook)).all() == []


def test_an_unknown_event_in_the_form_is_refused(signed_in):
    response = submit(signed_in, "/settings/hooks", {"url": "https://x.example/",
                                                     "events": ["post.published"]})
    assert response.status_code == 400
    assert db.session.scalars(select(Hook)).all() == []


def test_the_hooks_page_is_for_admins_only(client, auth, admin):
    from tests.factories import member

    editor_email = member("editor").email
    hook = Hook(workspace_id=admin.memberships[0].workspace_id, url="https://x.example/",
                events=["post.approved"])
    db.session.add(hook)
    db.session.commit()
    hook_id = hook.id
    assert auth.login(email=editor_email).status_code == 302
    assert "/settings/hooks" not in show(client, "/settings")
    show(client, "/settings/hooks", 403)
    show(client, f"/settings/hooks/{hook_id}/delete", 403)
    tried = submit(client, "/settings/hooks", {"url": "https://y.example/",
                                               "events": ["post.approved"]},
                   form_page="/settings")
    assert tried.status_code == 403
    assert submit(client, f"/settings/hooks/{hook_id}/delete",
                  form_page="/settings").status_code == 403
    assert db.session.scalars(select(Hook)).one().id == hook_id


def test_another_workspaces_hook_is_not_found_on_the_page(signed_in):
    from tests.factories import member, workspace_id

    other = member("admin", workspace="Elsewhere")
    theirs = Hook(workspace_id=workspace_id(other), url="https://x.example/",
                  events=["post.approved"])
    db.session.add(theirs)
    db.session.commit()
    theirs_id = theirs.id
    show(signed_in, f"/settings/hooks/{theirs_id}/delete", 404)
    assert submit(signed_in, f"/settings/hooks/{theirs_id}/delete",
                  form_page="/settings/hooks").status_code == 404
    assert db.session.get(Hook, theirs_id) is not None


def test_the_log_shows_the_newest_calls_a_page_at_a_time(signed_in, admin):
    ws = admin.memberships[0].workspace_id
    hook = Hook(workspace_id=ws, url="https://x.example/", events=["post.approved"])
    db.session.add(hook)
    db.session.flush()
    for n in range(25):
        db.session.add(HookCall(hook_id=hook.id, workspace_id=ws, event="post.approved",
                                payload={"n": n}, status="sent", attempts=1,
                                response_status=200 + n))
    db.session.commit()
    first = show(signed_in, "/settings/hooks").split('id="hook-log"', 1)[1]
    assert first.count("<tr>") == 21  # the header and 20 calls
    assert "224" in first and "205" in first and "204" not in first
    assert "/settings/hooks?page=2" in first
    second = show(signed_in, "/settings/hooks?page=2").split('id="hook-log"', 1)[1]
    assert "204" in second and "200" in second and "205" not in second
    assert "page=3" not in second
