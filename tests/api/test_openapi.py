"""The OpenAPI document against the server, structurally: the enums and bounds it states
are the constants the server checks, and every operation lists the errors it can answer;
and the served document against the app's routes and what the API returns."""

import re

import pytest

from tests.api.helpers import make_channel, make_post, walk
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


# --- the served document ---------------------------------------------------------------


@pytest.mark.postgres
def test_openapi_lists_every_route(app, client):
    response = client.get("/api/v1/openapi.json")  # no token needed
    assert response.status_code == 200
    doc = response.json
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops
                  if method in ("get", "post", "put", "patch", "delete")}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:\w+:)?\w+>", "{id}", rule.rule[len("/api/v1"):])
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routes


@pytest.mark.postgres
def test_openapi_document_is_well_formed(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    schemes = doc["components"]["securitySchemes"]
    for requirement in doc.get("security", []):
        assert set(requirement) <= set(schemes)

    def resolve(ref):
        assert ref.startswith("#/"), ref
        node = doc
        for part in ref[2:].split("/"):
            assert part in node, f"dangling $ref {ref}"
            node = node[part]
        return node

    for _path, key, value in walk(doc):
        if key == "$ref":
            resolve(value)
    for path, operations in doc["paths"].items():
        assert path.startswith("/")
        templated = set(re.findall(r"{(\w+)}", path))
        for method, op in operations.items():
            assert method in ("get", "put", "post", "delete", "options", "head", "patch",
                              "trace", "parameters", "summary", "description"), method
            assert op["responses"], (path, method)
            for code, resp in op["responses"].items():
                assert code == "default" or re.fullmatch(r"[1-5](\d\d|XX)", code)
                resp = resolve(resp["$ref"]) if "$ref" in resp else resp
                assert resp["description"]
            params = op.get("parameters", [])
            assert len({(p["name"], p["in"]) for p in params}) == len(params)
            for p in params:
                assert p["in"] in ("path", "query", "header", "cookie") and "schema" in p
                if p["in"] == "path":
                    assert p["required"] is True
            assert {p["name"] for p in params if p["in"] == "path"} == templated, \
                (path, method)
            if "requestBody" in op:  # JSON, but for a CSV file (POST /posts/import)
                content = set(op["requestBody"]["content"])
                assert content == {"application/json"} or (
                    path == "/posts/import" and content == {"multipart/form-data",
                                                            "text/csv"}), (path, content)
    for name, schema in doc["components"]["schemas"].items():
        assert schema["type"] == "object", name
        for required in schema.get("required", []):
            assert required in schema["properties"], (name, required)


@pytest.mark.postgres
def test_openapi_schemas_match_what_the_api_returns(api, client):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    channel = make_channel(api)
    post = make_post(api, [channel["id"]])
    occurrence = api.get(f"/posts/{post['id']}/occurrences").json["items"][0]
    assert set(schemas["Channel"]["properties"]) == set(channel)
    assert set(schemas["Post"]["properties"]) == set(post)
    assert set(schemas["Schedule"]["properties"]) == set(post["schedules"][0])
    assert set(schemas["Delivery"]["properties"]) == set(post["deliveries"][0])
    assert set(schemas["Occurrence"]["properties"]) == set(occurrence)
    error = api.get("/channels/987654").json
    assert set(schemas["Error"]["properties"]["error"]["properties"]) == set(error["error"])
