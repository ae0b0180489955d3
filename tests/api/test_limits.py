"""Per-token rate limits against API.md ("Queue metrics and limits"): writes and reads each
have a budget per minute and token, counted in Redis so that every web process shares it;
past it 429 with Retry-After, and X-RateLimit-* on every answer. Requests without a valid
API token are the address's failure limit's business, not a token's."""

import time

import pytest
from flask import Flask

from tests.api.helpers import assert_error, make_channel
from tests.helpers import Api, app_config, count, token_for
from webapp import config, create_app
from webapp.engine import jobs
from webapp.extensions import db
from webapp.models import ApiToken, Post

pytestmark = pytest.mark.postgres

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture
def limits(app):
    """Sets the per-token limits: limits(writes=3, reads=5)."""
    def set_limits(writes=100, reads=100):
        app.config["HERALD_API_WRITES_PER_MINUTE"] = writes
        app.config["HERALD_API_READS_PER_MINUTE"] = reads
    return set_limits


def write(api, n=0):
    return api.post("/posts", json={"body": f"draft {n}"})


def rate(response) -> tuple[int, int]:
    """(X-RateLimit-Limit, X-RateLimit-Remaining) of an answer."""
    return (int(response.headers["X-RateLimit-Limit"]),
            int(response.headers["X-RateLimit-Remaining"]))


def assert_rate_limited(response):
    error = assert_error(response, 429, "rate_limited")
    assert "Retry-After" in error["message"]
    assert int(response.headers["Retry-After"]) >= 0
    assert rate(response)[1] == 0
    return error


def test_the_defaults_are_api_md_s_and_the_environment_sets_them(monkeypatch, tmp_path):
    assert (config.Defaults.HERALD_API_WRITES_PER_MINUTE,
            config.Defaults.HERALD_API_READS_PER_MINUTE) == (30, 120)
    monkeypatch.setenv("HERALD_API_WRITES_PER_MINUTE", "7")
    monkeypatch.setenv("HERALD_API_READS_PER_MINUTE", "70")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = Flask(__name__, instance_path=str(tmp_path))
    config.load(app)
    assert (app.config["HERALD_API_WRITES_PER_MINUTE"],
            app.config["HERALD_API_READS_PER_MINUTE"]) == (7, 70)


def test_writes_past_the_limit_get_429_and_reads_go_on(app, api, limits):
    limits(writes=3, reads=5)
    assert [rate(write(api, n)) for n in range(3)] == [(3, 2), (3, 1), (3, 0)]
    refused = write(api, 3)
    error = assert_rate_limited(refused)
    assert "writes" in error["message"]
    assert rate(refused) == (3, 0)
    # Refused means not done, and reads have their own budget.
    listed = api.get("/posts")
    assert listed.status_code == 200 and listed.json["total"] == 3
    assert rate(listed) == (5, 4)
    assert {p["body"] for p in listed.json["items"]} == {"draft 0", "draft 1", "draft 2"}
    assert_rate_limited(api.patch(f"/posts/{listed.json['items'][0]['id']}",
                                  json={"body": "changed"}))
    assert_rate_limited(api.delete(f"/posts/{listed.json['items'][0]['id']}"))
    assert api.get(f"/posts/{listed.json['items'][0]['id']}").json["body"] != "changed"


def test_reads_past_the_limit_get_429_and_writes_go_on(app, api, limits):
    limits(writes=5, reads=2)
    assert api.get("/channels").status_code == 200
    assert api.head("/channels").status_code == 200  # HEAD is a read too
    error = assert_rate_limited(api.get("/posts"))
    assert "reads" in error["message"]
    assert rate(api.get("/channels")) == (2, 0)
    created = write(api)
    assert created.status_code == 201 and rate(created) == (5, 4)


def test_each_token_has_its_own_count(app, client, admin, api, limits):
    limits(writes=2)
    second = Api(client, token_for(admin, admin.memberships[0].workspace_id))
    assert write(api, 1).status_code == write(api, 2).status_code == 201
    assert_rate_limited(write(api, 3))
    answer = write(second, 4)
    assert answer.status_code == 201 and rate(answer) == (2, 1)
    assert_rate_limited(write(api, 5))


def test_web_processes_share_the_count(app, client, api, limits):
    """A second app (another web process) on the same Redis sees the first one's count."""
    limits(writes=3)
    other = create_app(app_config(app.config["SQLALCHEMY_DATABASE_URI"],
                                  app.config["REDIS_URL"])
                       | {"HERALD_API_WRITES_PER_MINUTE": 3})
    other.test_client_class = type(client)
    try:
        elsewhere = Api(other.test_client(), api.headers["Authorization"].split()[1])
        assert rate(write(api, 1)) == (3, 2)
        answer = write(elsewhere, 2)
        assert answer.status_code == 201 and rate(answer) == (3, 1)
        assert rate(write(api, 3)) == (3, 0)
        assert_rate_limited(write(elsewhere, 4))
        assert_rate_limited(write(api, 5))
    finally:
        with other.app_context():
            db.engine.dispose()
    assert count(Post) == 3


def test_every_answer_says_where_the_token_stands(app, api, api_member, limits):
    limits(writes=3, reads=10)
    viewer = api_member("viewer@example.com", "viewer")
    before = int(time.time())
    answers = {
        200: api.get("/channels"),
        404: api.get("/posts/987654"),
        422: api.post("/posts", json={"title": "no body"}),
        400: api.post("/posts", data="{", content_type="application/json"),
        403: viewer.post("/posts", json={"body": "viewers cannot"}),
    }
    write(api)  # the third write; the next is refused
    answers[429] = write(api)
    for status, response in answers.items():
        assert response.status_code == status, (status, response.json)
        assert all(name in response.headers for name in RATE_HEADERS), status
        limit, remaining = rate(response)
        assert 0 <= remaining < limit, status
        # Reset: the end of the current window, in seconds since the Unix epoch.
        reset = int(response.headers["X-RateLimit-Reset"])
        assert before <= reset <= int(time.time()) + 61, status
    assert rate(answers[200]) == (10, 9) and rate(answers[404]) == (10, 8)
    assert rate(answers[422]) == (3, 2) and rate(answers[400]) == (3, 1)
    assert rate(answers[403]) == (3, 2)  # the viewer's own token
    assert "Retry-After" in answers[429].headers


def test_requests_without_a_valid_token_count_for_the_address_not_a_token(app, client, api,
                                                                          limits):
    limits(writes=100, reads=5)
    app.config["HERALD_API_AUTH_FAILURE_LIMIT"] = "2 per minute"
    assert rate(api.get("/channels")) == (5, 4)
    bad = {"Authorization": "Bearer hrld_guess"}
    for expected in (1, 0):
        response = client.get("/api/v1/channels", headers=bad)
        assert_error(response, 401, "unauthorized")
        assert rate(response) == (2, expected)  # the address's failure limit
    assert_error(client.get("/api/v1/channels", headers=bad), 429, "rate_limited")
    assert_error(client.get("/api/v1/channels"), 429, "rate_limited")
    # The token's count did not move, and others' guesses do not hold a valid token back.
    assert rate(api.get("/channels")) == (5, 3)


def test_the_count_is_kept_under_the_token_s_id_never_the_token(app, api, limits):
    limits(writes=5)
    assert write(api).status_code == 201
    token = api.headers["Authorization"].split()[1]
    keys = [key.decode() for key in jobs.redis().keys("*herald-test-limits*")]
    [row] = db.session.scalars(db.select(ApiToken)).all()
    assert any(f"api-token:{row.id}/api-token-writes" in key for key in keys), keys
    assert not any(token in key or row.token_hash in key for key in keys), keys


def test_a_channel_check_counts_as_a_write(app, api, limits):
    limits(writes=2)
    channel = make_channel(api)
    assert api.post(f"/channels/{channel['id']}/check").status_code == 200
    assert_rate_limited(api.post(f"/channels/{channel['id']}/check"))
