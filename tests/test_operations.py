"""The Operations page: the workspace's jobs in rq-scheduler, the planner, the workers and
the recovered deliveries, for admins only."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from rq import SimpleWorker

from tests.factories import add_channel, member, workspace_id
from tests.helpers import Api, delivery_ids, schedule, show, sign_in, token_for
from webapp.engine import jobs, metrics
from webapp.extensions import db
from webapp.models import Delivery
from webapp.models.audit import record
from webapp.timeutil import now_utc

# SQLite only: these are pages over the services, whose behaviour on both databases the
# API tests (tests/api/) and the engine's tests check.


def berlin(at) -> str:
    return at.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %d %b %Y, %H:%M:%S %Z")


def test_an_admin_sees_the_jobs_planner_workers_and_recoveries(app, client, api, admin):
    channel = add_channel(admin)
    [delivery_id] = delivery_ids(schedule(api, [channel.id], seconds=10))
    row = db.session.get(Delivery, delivery_id)
    [job] = jobs.scheduler().get_jobs()
    assert row.job_id == job.id
    # Another workspace's job is not this admin's to see (due seconds later, so that it is
    # not the same job: deliveries of one second share jobs, whatever their workspace).
    outsider = member("admin", "Elsewhere")
    other = Api(client, token_for(outsider, workspace_id(outsider)))
    [other_id] = delivery_ids(schedule(other, [add_channel(outsider).id], seconds=13))
    other_job = db.session.get(Delivery, other_id).job_id
    record(workspace_id(admin), "delivery.recovered", row,
           before={"status": "publishing", "worker": "host-a.4242"})
    db.session.commit()
    passed = now_utc() - timedelta(minutes=10)
    metrics.planner_passed(passed)
    worker = SimpleWorker([jobs.queue()], name="host-b.77", connection=jobs.redis())
    worker.register_birth()
    try:
        sign_in(client)
        body = show(client, "/operations")
    finally:
        worker.register_death()

    assert f"<code>{job.id}</code>" in body and other_job not in body
    assert f">{delivery_id}</a>" in body and f">{other_id}</a>" not in body
    assert "Waiting in rq-scheduler" in body
    # Due a second after rq-scheduler hands the job over, in the admin's zone (Berlin).
    shown = jobs.handed_over_at([job.id])[0] + jobs.HANDED_OVER_AHEAD
    assert berlin(shown) in body
    assert f"Last pass {berlin(passed)}" in body
    assert 600 <= int(re.search(r'id="planner-lag">(\d+) s ago', body).group(1)) < 3600
    assert "<code>host-b.77</code>" in body
    assert "<code>host-a.4242</code>" in body
    assert 'id="failed-jobs">0<' in body


def test_without_a_planner_pass_or_worker_the_page_says_so(signed_in):
    body = show(signed_in, "/operations")
    assert "No pass recorded" in body and "No worker is running" in body
    assert "No delivery of this workspace has a job now" in body


@pytest.mark.parametrize("role", ["viewer", "editor", "approver"])
def test_only_admins_see_the_page_or_its_link(client, admin, role):
    sign_in(client, member(role).email)
    assert client.get("/operations").status_code == 403
    assert "operations-link" not in show(client, "/settings")


def test_the_settings_page_links_admins_to_it(signed_in):
    assert 'href="/operations"' in show(signed_in, "/settings")


def test_signed_out_goes_to_the_sign_in_page(client):
    response = client.get("/operations")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_while_redis_is_away_the_page_says_so(app, signed_in):
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    app.extensions.pop("herald.redis")
    body = show(signed_in, "/operations")
    assert 'id="redis-down"' in body and "No pass recorded" not in body
