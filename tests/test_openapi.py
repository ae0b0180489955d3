"""The OpenAPI document against the server, structurally: the enums and bounds it states
are the constants the server checks, and every operation lists the errors it can answer."""

import re

from webapp.api import openapi, serializers
from webapp.api.inputs import INSTANT_PATTERN, MAX_ID
from webapp.models import DELIVERY_STATUSES
from webapp.models.posts import POST_STATUSES, SCHEDULE_STATUSES
from webapp.publishers import PUBLISHERS
from webapp.services.posts import BODY_MAX, EDITABLE_STATUSES, TITLE_MAX

DOC = openapi.DOCUMENT
SCHEMAS = DOC["components"]["schemas"]


def enum(schema):
    return [v for v in schema["enum"] if v is not None]


def test_documented_enums_are_the_servers_constants():
    assert enum(SCHEMAS["Post"]["properties"]["status"]) == list(POST_STATUSES)
    assert enum(SCHEMAS["Delivery"]["properties"]["status"]) == list(DELIVERY_STATUSES)
    assert enum(SCHEMAS["Schedule"]["properties"]["status"]) == list(SCHEDULE_STATUSES)
    assert enum(SCHEMAS["PostIn"]["properties"]["status"]) == list(EDITABLE_STATUSES)
    assert sorted(c["$ref"].rsplit("ChannelIn", 1)[1].lower()
                  for c in SCHEMAS["ChannelIn"]["oneOf"]) == sorted(PUBLISHERS)
    for name, cls in PUBLISHERS.items():
        config = SCHEMAS[f"ChannelIn{name.title()}"]["properties"]["config"]
        assert config["required"] == list(cls.required_fields)
        assert set(config["properties"]) == set(
            cls.required_fields + cls.secret_fields + cls.optional_fields)
    queries = {(path, p["name"]): p["schema"] for path, ops in DOC["paths"].items()
               for op in ops.values() for p in op.get("parameters", [])}
    assert queries[("/posts", "status")]["enum"] == list(POST_STATUSES)
    assert queries[("/deliveries", "status")]["enum"] == list(DELIVERY_STATUSES)


def test_documented_bounds_are_the_servers_constants():
    fields = SCHEMAS["PostIn"]["properties"]
    assert (fields["title"]["maxLength"], fields["body"]["maxLength"]) == (TITLE_MAX, BODY_MAX)
    assert SCHEMAS["PostIn"]["required"] == ["body"] and fields["body"]["minLength"] == 1
    assert (fields["priority"]["minimum"], fields["priority"]["maximum"]) == (1, 10)
    for ops in DOC["paths"].values():
        for op in ops.values():
            for p in op.get("parameters", []):
                if p["in"] == "path" or p["name"].endswith("_id"):
                    assert (p["schema"]["minimum"], p["schema"]["maximum"]) == (1, MAX_ID)
                if p["name"] == "per_page":
                    assert p["schema"]["maximum"] == serializers.MAX_PER_PAGE == 200
                if p["name"] == "page":
                    assert p["schema"]["maximum"] == serializers.MAX_PAGE
                if p["name"] in ("from", "to"):
                    assert p["schema"]["pattern"] == INSTANT_PATTERN


def test_every_operation_lists_the_errors_it_can_answer():
    for path, ops in DOC["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            if path == "/openapi.json":
                assert codes == {"200"}
                continue
            assert "401" in codes, (path, method)
            if "{id}" in path:
                assert "404" in codes, (path, method)
            if "requestBody" in op:
                assert {"400", "413", "422"} <= codes, (path, method)
            if any(p["in"] == "query" for p in op["parameters"]):
                assert "422" in codes, (path, method)
            if method != "get":
                assert "403" in codes, (path, method)
            for code in codes - {"200", "201", "204"}:
                ref = op["responses"][code]["$ref"]
                assert DOC["components"]["responses"][ref.rsplit("/", 1)[1]]


def test_the_error_schema_is_api_md_s():
    error = SCHEMAS["Error"]
    assert error["required"] == ["error"]
    assert error["properties"]["error"]["required"] == ["code", "message", "fields"]


def test_the_served_document_is_the_module_s(client):
    assert client.get("/api/v1/openapi.json").json == DOC
    assert all(re.fullmatch(r"/[\w/{}.-]*", path) for path in DOC["paths"])
