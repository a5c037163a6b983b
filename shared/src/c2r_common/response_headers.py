"""The response headers every service sends, declared in its OpenAPI document.

Derived from the document itself, so that a new route is covered by the rule it falls
under: X-Request-ID on every answer; Idempotent-Replayed on the 2xx of an operation that
honours Idempotency-Key; ETag on the 2xx of a versioned document's operations (those
reading If-Match, the GET of the same document, and the create whose documents they
are); Retry-After on every 503 and 429, even where a route declares the status itself.
A create that sends Location declares it with CREATED_DOCUMENT.
"""

from typing import Any

from fastapi import FastAPI

REQUEST_ID = {
    "X-Request-ID": {
        "description": "the request's id (the one sent, or a new one), also in the logs "
        "and in a problem's `request_id`",
        "schema": {"type": "string"},
    }
}
ETAG = {
    "ETag": {
        "description": "the document's version; send it back as If-Match to change it",
        "schema": {"type": "string", "examples": ['"3"']},
    }
}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this answer is the stored one of an earlier request "
        "with the same Idempotency-Key and body",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
LOCATION = {
    "Location": {
        "description": "the path of the document this request created",
        "schema": {
            "type": "string",
            "examples": ["/v1/assessments/8f14e45f-ea3c-4b2e-9c1d-2f6a0c7b5e11"],
        },
    }
}
# For a create that answers the new document with its path and version: declared by the
# route (`responses=... | CREATED_DOCUMENT`), since no rule can see that it sends them.
CREATED_DOCUMENT: dict[int | str, dict[str, Any]] = {201: {"headers": ETAG | LOCATION}}
RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before sending the request again",
        "schema": {"type": "integer"},
    }
}
# A route declaring one of these itself still gets the header its answer carries.
_RETRIED = {"429", "503"}
_METHODS = {"get", "put", "post", "delete", "patch"}


def _reads_header(operation: dict[str, Any], name: str) -> bool:
    return any(
        p.get("in") == "header" and p.get("name", "").lower() == name.lower()
        for p in operation.get("parameters", [])
    )


def _versioned_paths(paths: dict[str, Any]) -> set[str]:
    return {
        path
        for path, operations in paths.items()
        if any(_reads_header(op, "If-Match") for m, op in operations.items() if m in _METHODS)
    }


def _sends_etag(path: str, method: str, operation: dict[str, Any], versioned: set[str]) -> bool:
    if _reads_header(operation, "If-Match"):
        return True
    if method == "get" and path in versioned and path.endswith("}"):
        return True
    # A create answers the new document with its version.
    return (
        method == "post"
        and _reads_header(operation, "Idempotency-Key")
        and any(v.startswith(f"{path}/{{") and v.endswith("}") for v in versioned)
    )


def add_response_headers(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the headers above declared on its responses (a response's own
    declaration of a header wins)."""
    paths = document.get("paths", {})
    versioned = _versioned_paths(paths)
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            success = dict(ETAG) if _sends_etag(path, method, operation, versioned) else {}
            if _reads_header(operation, "Idempotency-Key"):
                success |= REPLAYED
            for status, response in operation.get("responses", {}).items():
                extra = REQUEST_ID | (success if status.startswith("2") else {})
                extra |= RETRY_AFTER if status in _RETRIED else {}
                headers = response.setdefault("headers", {})
                for name, header in extra.items():
                    headers.setdefault(name, header)
    return document


def declare_response_headers(app: FastAPI) -> None:
    """The OpenAPI document of `app` declares the response headers above."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        return add_response_headers(build())

    app.openapi = openapi  # type: ignore[method-assign]
