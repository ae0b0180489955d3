"""The JSON API's error shape (API.md) for bodies it cannot read, bodies too large, unknown
routes and wrong methods."""


import pytest

from tests.api.helpers import assert_error, make_channel, make_post

pytestmark = pytest.mark.postgres


def test_malformed_bodies_are_400(api):
    channel = make_channel(api)
    post = make_post(api, [channel["id"]])
    cases = [
        ('{"name": ', "application/json", "not valid JSON"),
        ("{'single': 'quotes'}", "application/json", "not valid JSON"),
        ('{"a": NaN}', "application/json", "not valid JSON"),
        ("[" * 50_000, "application/json", "not valid JSON"),
        ("[1, 2]", "application/json", "JSON object"),
        ('"text"', "application/json", "JSON object"),
        ("null", "application/json", "JSON object"),
        ("", "application/json", "empty"),
        ('{"name": "x"}', "text/plain", "Content-Type"),
        (b"\xff\xfe{}", "application/json", "not valid JSON"),
    ]
    before = api.get(f"/posts/{post['id']}").json
    for method, url in (("post", "/channels"), ("patch", f"/channels/{channel['id']}"),
                        ("post", "/posts"), ("patch", f"/posts/{post['id']}")):
        for data, content_type, words in cases:
            response = getattr(api, method)(url, data=data,
                                            headers={"Content-Type": content_type})
            error = assert_error(response, 400, "bad_request")
            assert words in error["message"], (method, url, data, error)
    assert api.get(f"/posts/{post['id']}").json == before
    assert api.get("/channels").json["total"] == 1
    # As deep as the parser goes (and a little more): answered, never a crash.
    for depth in (900, 990, 1100):
        nested = '{"body": "x", "extra": ' + "[" * depth + "]" * depth + "}"
        response = api.post("/posts", data=nested, headers={"Content-Type": "application/json"})
        assert response.status_code in (201, 400, 422), (depth, response.status_code)


def test_oversized_body_is_413(api):
    error = assert_error(api.post("/posts", json={"body": "x" * (2 * 1024 * 1024)}), 413,
                         "payload_too_large")
    assert "too large" in error["message"]
    assert api.get("/posts").json["total"] == 0


def test_unknown_route_and_wrong_method(api):
    assert_error(api.get("/nothing-here"), 404, "not_found")
    response = api.put("/channels", json={})
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
