"""Schemathesis hooks of tests/fuzz: the only place where a failure is set aside.

positive_data_acceptance sends requests that the OpenAPI document allows and expects them
accepted. A few refusals depend on what is stored, on the clock or on another field, which
no JSON Schema can say; the API answers them as it promises (a 422 problem naming the
field, or 412 for a stale If-Match). Only those are set aside, each rule below with why; a
refusal of any other kind, or a 422 with one field problem outside these rules, still
fails the run.
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
    (r"body\.values\.\d+\.code|body\.code", r"no indicator .* in this assessment's methodology"),
    # The set of ISO alpha-3 codes is reference data, not a pattern.
    (
        r"body(\.\w+)*\.(country_iso3|countries)(\.\d+)?|query\.countries",
        r"unknown ISO alpha-3|unknown: ",
    ),
    # So is the IANA time-zone database.
    (r"body\.time_zone", r"unknown time zone"),
    # Whether a value is a percentage depends on the indicator's unit in its methodology.
    (r"body\.value", r"a percentage must be between 0 and 100"),
    # Rules across two fields of one body.
    (r"body(\.\w+)*", r"must be after|must be below|cannot be before"),
    ("", r"since must be on or before until"),
    # Measurements are taken within a window around now, which the schema cannot state.
    (r"body(\.items\.\d+)?\.(timestamp|measured_at)", r"older than|in the future"),
    # An admin token names the school in the body, a device token carries it: which one is
    # required depends on the token, not on the body's schema.
    (r"body(\.items\.\d+)?\.school_id", r"required for this token"),
    # A multipart file is bytes in the schema; that it is UTF-8 CSV text is read inside.
    (r"body", r"not UTF-8"),
]
# If-Match is compared with the object's current ETag, which the fuzzer cannot know.
PRECONDITION_FAILED = 412
# The fuzzer sends one Idempotency-Key value with several bodies: refused as the draft says.
KEY_REUSED = "https://c2r.itu.int/problems/idempotency-key-reused"


def _field_problems(body: dict[str, Any]) -> list[tuple[str, str]]:
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        return [(str(item.get("field", "")), str(item.get("message", ""))) for item in errors]
    return [("", str(body.get("detail", "")))]


def _is_semantic(field: str, message: str) -> bool:
    return any(
        re.fullmatch(field_rule, field) and re.search(message_rule, message)
        for field_rule, message_rule in SEMANTIC_REFUSALS
    )


def is_semantic_refusal(status: int, body: Any) -> bool:
    """Whether a refused schema-valid request was refused by a rule no schema can state."""
    if status == PRECONDITION_FAILED:
        return True
    if status != 422 or not isinstance(body, dict):
        return False
    if body.get("type") == KEY_REUSED:
        return True
    return all(_is_semantic(field, message) for field, message in _field_problems(body))


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    if failure.code != "ST202":  # positive_data_acceptance: "schema-valid request rejected"
        return True
    try:
        body = json.loads(response.content)
    except ValueError:
        return True
    return not is_semantic_refusal(response.status_code, body)
