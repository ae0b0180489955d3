"""GET /metrics: the bearer token, and what a publication through the real worker adds."""

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import delivery_ids, schedule
from tests.platforms import Reply
from webapp.engine import jobs, metrics
from webapp.engine.scheduler import HeraldScheduler
from webapp.timeutil import now_utc

# SQLite only: these are pages over the services, whose behaviour on both databases the
# API tests (tests/api/) and the engine's tests check.

TOKEN = "a-long-random-scrape-token"


def samples(client) -> dict:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for s in family.samples}


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_without_a_token_configured_there_is_no_metrics_page(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}",
                                    f"Bearer {TOKEN}x", "Bearer"])
def test_a_wrong_or_missing_token_gets_401(app, client, header):
    app.config["HERALD_METRICS_TOKEN"] = TOKEN
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"herald_" not in response.data


def test_a_publication_through_the_worker_shows_in_the_metrics(app, client, api, hook_channel,
                                                               webhook, runner):
    app.config["HERALD_METRICS_TOKEN"] = TOKEN
    # Counters belong to the process and outlive a test: compare before and after.
    before = samples(client)
    webhook.script = [Reply(503)]  # the first attempt fails, the retry publishes
    [delivery_id] = delivery_ids(schedule(api, [hook_channel["id"]]))
    queued = samples(client)
    assert value(queued, "herald_deliveries", status="queued") == 1
    assert value(queued, "herald_queue_jobs", where="scheduler") == 1

    [row] = runner.until_settled([delivery_id])
    assert row.status == "published" and row.attempts == 2

    after = samples(client)
    assert value(after, "herald_deliveries", status="published") == 1
    assert value(after, "herald_deliveries", status="queued") == 0
    lateness = "herald_delivery_lateness_seconds_count"
    assert value(after, lateness) == value(before, lateness) + 1
    # The retry waited HERALD_RETRY_DELAYS[0] (1 s here): the delivery was late by at least that.
    assert (value(after, "herald_delivery_lateness_seconds_bucket", le="0.5")
            == value(before, "herald_delivery_lateness_seconds_bucket", le="0.5"))
    retries = "herald_delivery_retries_total"
    assert value(after, retries) == value(before, retries) + 1
    errors = "herald_platform_errors_total"
    assert (value(after, errors, error_class="http_503")
            == value(before, errors, error_class="http_503") + 1)
    assert value(after, "herald_queue_jobs", where="scheduler") == 0


def test_the_planner_lag_appears_once_the_scheduler_has_run_a_pass(app, client):
    app.config["HERALD_METRICS_TOKEN"] = TOKEN
    lag = ("herald_planner_lag_seconds", ())
    assert lag not in samples(client)  # no pass known yet
    started = now_utc()
    HeraldScheduler(queue_name=app.config["HERALD_QUEUE"], connection=jobs.redis(),
                    interval=1, app=app).plan()
    # Kept as a float in Redis: a microsecond either way is rounding.
    slack = timedelta(milliseconds=1)
    assert started - slack <= metrics.planner_last_pass() <= now_utc() + slack
    assert 0 <= samples(client)[lag] < 3600


def test_a_scrape_while_redis_is_away_still_answers(app, client):
    app.config["HERALD_METRICS_TOKEN"] = TOKEN
    assert value(samples(client), "herald_up", part="redis") == 1
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    app.extensions.pop("herald.redis")
    found = samples(client)
    assert value(found, "herald_up", part="redis") == 0
    assert value(found, "herald_up", part="db") == 1
    assert ("herald_planner_lag_seconds", ()) not in found
    assert ("herald_deliveries", (("status", "queued"),)) in found
