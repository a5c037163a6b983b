"""The gateway's merged OpenAPI document, linted: what a strictly typed generated client
needs of it, so that a regression in any service fails here."""

import inspect
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from c2r_common.operation_ids import operation_id
from c2r_deploy.openapi import gateway_openapi, service_apps
from c2r_deploy.routes import load_routes

METHODS = {"get", "put", "post", "delete", "patch"}
OPERATION_ID = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
Operation = tuple[str, str, dict[str, Any]]


@cache
def document() -> dict[str, Any]:
    return gateway_openapi(load_routes())


def operations() -> Iterator[Operation]:
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _header_params(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"}


def test_no_error_is_typed_application_json() -> None:
    wrong = [
        (method, path, status)
        for path, method, operation in operations()
        for status, response in operation["responses"].items()
        if status[0] in "45" and "application/json" in response.get("content", {})
    ]
    assert wrong == []


def test_every_operation_id_follows_the_rule_once() -> None:
    ids = [operation["operationId"] for _, _, operation in operations()]
    assert [i for i in ids if not OPERATION_ID.match(i)] == []
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    for _, _, operation in operations():
        domain = operation["tags"][0].replace("-", "_")
        assert operation["operationId"].startswith(f"{domain}_"), operation["operationId"]


def test_the_rule_names_operations_readably() -> None:
    ids = {(path, method): op["operationId"] for path, method, op in operations()}
    assert ids["/v1/countries", "get"] == "countries_list"
    assert ids["/v1/assessments/{assessment_id}", "get"] == "assessments_get"
    assert ids["/v1/assessments", "post"] == "assessments_create"
    assert ids["/v1/schools/{school_id}", "patch"] == "schools_update"


def test_every_operation_answers_a_typed_2xx() -> None:
    untyped = []
    for path, method, operation in operations():
        success = {s: r for s, r in operation["responses"].items() if s.startswith("2")}
        typed = [
            s
            for s, r in success.items()
            if s == "204" or any("schema" in c for c in r.get("content", {}).values())
        ]
        if not typed:
            untyped.append((method, path))
    assert untyped == []


def test_every_answer_declares_its_request_id_and_a_retried_one_its_retry_after() -> None:
    for path, method, operation in operations():
        for status, response in operation["responses"].items():
            headers = response.get("headers", {})
            assert "X-Request-ID" in headers, (method, path, status)
            if status in ("429", "503"):
                assert "Retry-After" in headers, (method, path, status)


def _honoured_routes(reads: str) -> Iterator[tuple[str, str]]:
    """(method, path) of every route whose handler honours a header, read from its code."""
    for app in service_apps().values():
        for route in iter_route_contexts(app.routes):
            original = route.original_route
            if not isinstance(original, APIRoute):
                continue
            if reads in inspect.getsource(original.endpoint):
                for method in route.methods or ():
                    yield method.lower(), str(route.path_format)


@pytest.mark.parametrize(
    ("header", "honoured_by"),
    [("If-Match", "check_if_match("), ("Idempotency-Key", "idempotency_key")],
)
def test_a_header_honoured_is_declared(header: str, honoured_by: str) -> None:
    declared = {(m, p): _header_params(op) for p, m, op in operations()}
    honoured = list(_honoured_routes(honoured_by))
    assert honoured, f"no route reads {header}: the check itself would prove nothing"
    assert [route for route in honoured if header not in declared[route]] == []


@pytest.mark.parametrize("header", ["Location", "ETag"])
def test_a_header_a_handler_sets_is_declared_on_its_answer(header: str) -> None:
    success = {
        (m, p): {name for s, r in op["responses"].items() if s[0] == "2" for name in r["headers"]}
        for p, m, op in operations()
    }
    sending = list(_honoured_routes(f'"{header}"'))
    assert sending, f"no handler sets {header}: the check itself would prove nothing"
    assert [route for route in sending if header not in success[route]] == []


def test_versioned_documents_declare_their_etag_and_idempotent_creates_their_replay() -> None:
    for path, method, operation in operations():
        success = [r for s, r in operation["responses"].items() if s.startswith("2")]
        if "If-Match" in _header_params(operation):
            assert all("ETag" in r["headers"] for r in success), (method, path)
        if "Idempotency-Key" in _header_params(operation):
            assert all("Idempotent-Replayed" in r["headers"] for r in success), (method, path)
    got = document()["paths"]["/v1/assessments/{assessment_id}"]["get"]["responses"]["200"]
    assert "ETag" in got["headers"]


def test_tags_are_described_and_the_gateway_is_the_server() -> None:
    assert [t["name"] for t in document()["tags"] if not t.get("description")] == []
    used = {op["tags"][0] for _, _, op in operations()}
    assert used <= {t["name"] for t in document()["tags"]}
    assert document()["servers"] == [{"url": "/", "description": "this gateway"}]


def test_operation_id_of_a_route_is_its_domain_and_verb() -> None:
    route = SimpleNamespace(tags=["giga-meter"], name="list_giga_measurements")
    assert operation_id(route) == "giga_meter_list_measurements"
    untagged = SimpleNamespace(tags=[], name="healthz")
    assert operation_id(untagged) == "service_healthz"


def test_the_examples_of_answers_are_answers_the_models_accept() -> None:
    from assessment_api.assessments.schemas import AssessmentOut
    from c2r_common.pagination import Page

    page = Page[AssessmentOut]
    [example] = page.model_json_schema()["examples"]
    assert page.model_validate(example).items[0].country_iso3 == "MRT"


def _schema_has_example(schema: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """An example on the schema, on the model it refers to, on its items (an array of
    models) or on a member of its union."""
    if "example" in schema or "examples" in schema:
        return True
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        found = document()["components"]["schemas"][name]
        return name not in seen and _schema_has_example(found, seen | {name})
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _schema_has_example(schema["items"], seen)
    members = schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", [])
    return any(_schema_has_example(member, seen) for member in members)


def test_every_answer_with_a_body_has_an_example() -> None:
    """Each 2xx body of each operation shows an example (on its model, in
    model_config json_schema_extra or Field examples), directly or through its schema."""
    missing = [
        f"{method.upper()} {path} {status} {media_type}"
        for path, method, operation in operations()
        for status, response in operation["responses"].items()
        if status.startswith("2")
        for media_type, content in response.get("content", {}).items()
        if not (
            "example" in content
            or "examples" in content
            or _schema_has_example(content.get("schema", {}))
        )
    ]
    assert missing == []


def _examples_with_their_schemas() -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(where, example, schema) for every example of a model (and of its fields) and of
    an answer's body."""

    def walk(where: str, schema: Any) -> Iterator[tuple[str, Any, dict[str, Any]]]:
        if isinstance(schema, list):
            for index, member in enumerate(schema):
                yield from walk(f"{where}/{index}", member)
            return
        if not isinstance(schema, dict):
            return
        examples = schema.get("examples")
        bare = {key: value for key, value in schema.items() if key not in ("examples", "example")}
        if isinstance(examples, list):
            for index, example in enumerate(examples):
                yield f"{where} example {index}", example, bare
        if "example" in schema:
            yield f"{where} example", schema["example"], bare
        for key, value in schema.items():
            if key not in ("examples", "example"):
                yield from walk(f"{where}/{key}", value)

    for name, schema in document()["components"]["schemas"].items():
        yield from walk(name, schema)
    for path, method, operation in operations():
        for status, response in operation["responses"].items():
            for media_type, content in response.get("content", {}).items():
                where = f"{method.upper()} {path} {status} {media_type}"
                if "example" in content:
                    yield where, content["example"], content.get("schema", {})
                for key, example in content.get("examples", {}).items():
                    yield f"{where} {key}", example.get("value"), content.get("schema", {})


def test_every_example_is_valid_against_its_schema() -> None:
    components = document()["components"]
    invalid = []
    for where, example, schema in _examples_with_their_schemas():
        validator = jsonschema.Draft202012Validator(schema | {"components": components})
        invalid += [f"{where}: {error.message}" for error in validator.iter_errors(example)]
    assert invalid == []


def test_the_example_lint_sees_a_missing_example_and_an_invalid_one() -> None:
    assert not _schema_has_example({"type": "array", "items": {"type": "object"}})
    assert _schema_has_example({"anyOf": [{"type": "null"}, {"examples": [1]}]})
    integer = {"type": "integer", "minimum": 1}
    assert list(jsonschema.Draft202012Validator(integer).iter_errors(0))
