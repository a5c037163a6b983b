"""Schemathesis hooks of tests/fuzz: the only place where a failure is set aside.

positive_data_acceptance sends requests that the OpenAPI document allows and expects them
accepted. A few refusals depend on what is stored, on the clock or on another field, which
no JSON Schema can say; the API answers them as it promises (a 422 problem naming the
field, or 412 for a stale If-Match). Only those are set aside, each rule below with why; a
refusal of any other kind, or a 422 with one field problem outside these rules, still
fails the run. negative_data_rejection has one such rule too: a text/csv body.
"""

import json
import re
from typing import Any

import schemathesis

# (field, message): both regular expressions, matched against one item of a problem's
# `errors`; a 422 without `errors` is matched on its `detail` with the field "".
SEMANTIC_REFUSALS: list[tuple[str, str]] = [
    # Cursors are opaque tokens the API issued; a string made up by the fuzzer is not one.
    (r"query\.cursor", r"malformed cursor"),
    # References to stored objects that the generated id does not name.
    (r"body\.partner_id", r"unknown partner"),
    (r"body\.call_id", r"unknown call"),
    (r"body\.values\.\d+\.code|path\.code", r"no indicator .* in this assessment's methodology"),
    (r"(query|body)\.methodology_version", r"unknown version"),
    (r"body\.assistance_type", r"not offered by the call"),
    # The set of ISO alpha-3 codes is reference data, not a pattern.
    (
        r"body(\.\w+)*\.(country_iso3|(\w+_)?countries)(\.\d+)?|query\.countries",
        r"unknown ISO alpha-3|unknown: ",
    ),
    # So is the IANA time-zone database.
    (r"body\.time_zone", r"unknown time zone"),
    # Whether a value is a percentage or a count depends on the indicator's unit in its
    # methodology.
    (r"body\.value", r"a percentage must be between 0 and 100|cannot be negative"),
    # Re-scoring under the version an assessment already has is refused: which version that
    # is, is stored.
    (r"(query|body)\.methodology_version", r"the assessment's own version"),
    # The subscriptions schema is shared by the services; which event types one of them
    # emits is its own catalogue.
    (r"body\.event_types\.\d+", r"not an event this service emits"),
    # Whether a webhook's host resolves is the DNS's business (and none resolves here); that
    # the URL has an http(s) scheme and a host is read by the URL parser, which a string's
    # `format: uri` does not promise.
    (
        r"body\.webhook_url",
        r"does not resolve|could not be resolved now|did not resolve within"
        r"|a webhook URL is http\(s\)://host/",
    ),
    # Rules across two fields of one body.
    (r"body(\.\w+)*", r"must be after|must be below|must be above|cannot be before"),
    (r"(query\.(since|until))?", r"since must be on or before until"),
    # A subscription has a webhook, an e-mail address or both (the address then told of a
    # pause), and a digest bundles mails: rules across its fields.
    (r"body", r"digest is for e-mail subscriptions|give webhook_url, email, or both"),
    # A review form's criteria are told apart by their codes, a rule across its items.
    (r"body\.criteria\.\d+\.code", r"criterion codes must be unique"),
    # The Giga Meter agent's answer when its Latency was not measured reads the ndt7 result.
    (r"body(\.\d+)?\.Latency", r"not measured, and the ndt7 result"),
    # Measurements are taken within a window around now, which the schema cannot state;
    # a key's expiry must lie ahead of now.
    (
        r"body(\.(items|records))?(\.\d+)?\.(timestamp|measured_at|Timestamp)",
        r"older than|in the future",
    ),
    (r"body\.(expires_at|due_at)", r"must be in the future"),
    # `format: date-time` cannot bound a year; the Giga ping records bound it (1900-2999).
    (r"body\.records\.\d+\.timestamp", r"year must be between"),
    # A raw ndt7 result is any JSON object; PostgreSQL's jsonb cannot hold a NUL anywhere in
    # it, which no schema of "any object" can state.
    (r"body(\.items\.\d+)?\.raw_result", r"holds a NUL character"),
    # An admin token names the school in the body, a device token carries it: which one is
    # required depends on the token, not on the body's schema.
    (r"body(\.items\.\d+)?\.school_id", r"required for this token"),
    # A multipart file is bytes in the schema; that it is UTF-8 CSV text is read inside.
    (r"body", r"not UTF-8"),
    # Which hardware ids are shared by many devices is data (a list the service keeps); one
    # of mac_address and device_hardware_id is required, a rule across two fields.
    (r"body\.(device_hardware_id|mac_address)", r"generic hardware id|required"),
    # An imported deployment key must not look like the other credentials (a JWT's two dots,
    # a device token's prefix), or it would never reach the key verifier.
    (r"body\.key", r"looks like a JWT or a device token|too predictable"),
    # Giga Maps' filter: filterBy needs filterCondition and filterValue, a rule across three.
    (r"query\.(filterValue|filterCondition)", r"required with filterBy"),
]
# pydantic's error types for a value that breaks a format the schema itself states: the
# stateful phase's inferred links may carry one there (a government id where a school's
# UUID goes), and schemathesis then counts the request as schema-valid.
DECLARED_FORMATS = {"uuid_parsing", "uuid_type"}
# If-Match is compared with the object's current ETag, which the fuzzer cannot know.
PRECONDITION_FAILED = 412
# The fuzzer sends one Idempotency-Key value with several bodies: refused as the draft says.
KEY_REUSED = "https://c2r.itu.int/problems/idempotency-key-reused"
# The Giga Meter-compatible routes answer a school they do not know 400, as upstream does.
UNKNOWN_GIGA_SCHOOL = (400, "https://c2r.itu.int/problems/unknown-school")


def _field_problems(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, message, error type) of each problem; a problem without `errors` is one."""
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        return [
            (str(item.get("field", "")), str(item.get("message", "")), str(item.get("type", "")))
            for item in errors
        ]
    return [("", str(body.get("detail", "")), "")]


def _backlog_refused_by_rules(body: dict[str, Any]) -> bool:
    """Giga Meter's backlog answers 400 when no item could be stored, as upstream does; set
    aside when every item was refused for naming a school that is not stored, or by one of
    the rules above (which name the item's field)."""
    return all(
        re.match(r"body\.\d+(\.|$)", field)
        and (message == "unknown_school" or _is_semantic(field, message, error_type))
        for field, message, error_type in _field_problems(body)
    )


def _is_semantic(field: str, message: str, error_type: str) -> bool:
    return error_type in DECLARED_FORMATS or any(
        re.fullmatch(field_rule, field) and re.search(message_rule, message)
        for field_rule, message_rule in SEMANTIC_REFUSALS
    )


def is_semantic_refusal(status: int, body: Any) -> bool:
    """Whether a refused schema-valid request was refused by a rule no schema can state."""
    if status == PRECONDITION_FAILED:
        return True
    if not isinstance(body, dict):
        return False
    if (status, body.get("type")) == UNKNOWN_GIGA_SCHOOL:
        return True
    if status == 400 and _backlog_refused_by_rules(body):
        return True
    if status != 422:
        return False
    if body.get("type") == KEY_REUSED:
        return True
    return all(_is_semantic(*problem) for problem in _field_problems(body))


def is_text_body_artefact(case: Any) -> bool:
    """Whether a "schema-violating" request only differs in a text/csv body: any text is a
    CSV file as far as a schema can say, so the fuzzer's "invalid" one is just other text."""
    meta = getattr(case, "meta", None)
    media_type = str(getattr(case, "media_type", "") or "")
    if meta is None or not media_type.startswith("text/csv"):
        return False
    negative = [
        location.name for location, info in meta.components.items() if info.mode.is_negative
    ]
    return negative == ["BODY"]


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    if failure.code == "ST201":  # negative_data_rejection: "schema-violating request accepted"
        return not is_text_body_artefact(case)
    if failure.code != "ST202":  # positive_data_acceptance: "schema-valid request rejected"
        return True
    try:
        body = json.loads(response.content)
    except ValueError:
        return True
    return not is_semantic_refusal(response.status_code, body)
