"""One OpenAPI document for the whole gateway, merged from the three services'."""

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from c2r_common.api_docs import copy_assets, redoc_page, swagger_ui_page
from c2r_common.errors import problem_responses
from c2r_common.route_statuses import RETRY_AFTER
from c2r_deploy.routes import RouteTable

_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def service_apps() -> dict[str, FastAPI]:
    """Each service's app, built in-process on a throwaway database (nothing connects)."""
    from assessment_api.app import create_app as assessment_app
    from assessment_api.config import AssessmentSettings
    from request_intake.app import create_app as intake_app
    from request_intake.config import IntakeSettings
    from school_monitor.app import create_app as schools_app
    from school_monitor.config import SchoolMonitorSettings

    memory = "sqlite+aiosqlite:///:memory:"
    return {
        "assessment-api": assessment_app(AssessmentSettings(database_url=memory)),
        "request-intake": intake_app(IntakeSettings(database_url=memory)),
        "school-monitor": schools_app(SchoolMonitorSettings(database_url=memory)),
    }


def unrouted_paths(table: RouteTable, documents: dict[str, dict[str, Any]]) -> list[str]:
    """Public paths of a service that the gateway would not send to it."""
    open_paths = {"/healthz", "/readyz"}
    return [
        f"{service} {path}"
        for service, document in documents.items()
        for path in document.get("paths", {})
        if path not in open_paths and _routed_to(table, path) != service
    ]


def _routed_to(table: RouteTable, path: str) -> str | None:
    route = table.service_for(path)
    return route.name if route else None


def _rename_schemas(document: dict[str, Any], renames: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(document)
    for old, new in renames.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    renamed: dict[str, Any] = json.loads(text)
    schemas = renamed.get("components", {}).get("schemas", {})
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
    return renamed


def _prefix(service: str) -> str:
    return "".join(part.capitalize() for part in service.split("-"))


def _at_gateway(
    table: RouteTable, path: str, operation: dict[str, Any], service: str
) -> dict[str, Any]:
    """The operation as the gateway serves it: which service answers it and, on the
    rate-limited paths, the gateway's own 429 (the services never answer one)."""
    served = operation | {"x-service": service}
    if table.rate_limit_kind(path) is not None:
        too_many = {
            "429": problem_responses(429)[429] | {"headers": RETRY_AFTER},
        }
        served["responses"] = {**served.get("responses", {}), **too_many}
    return served


def merge_openapi(table: RouteTable, documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Connect2Recover platform API",
            "version": "1",
            "description": "All public paths of the gateway: assessment-api, request-intake "
            "and school-monitor. Authenticate with `Authorization: Bearer <JWT>`.",
        },
        # Relative: the document is served by the gateway it describes, whatever its host.
        "servers": [{"url": "/", "description": "this gateway"}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    schemas = merged["components"]["schemas"]
    for service, document in documents.items():
        own = document.get("components", {}).get("schemas", {})
        clashes = {
            n: f"{_prefix(service)}{n}" for n, s in own.items() if n in schemas and schemas[n] != s
        }
        document = _rename_schemas(document, clashes)
        schemas.update(document.get("components", {}).get("schemas", {}))
        merged["components"]["securitySchemes"].update(
            document.get("components", {}).get("securitySchemes", {})
        )
        for path, operations in document.get("paths", {}).items():
            if _routed_to(table, path) == service:
                merged["paths"][path] = {
                    m: _at_gateway(table, path, op, service) if m in _HTTP_METHODS else op
                    for m, op in operations.items()
                }
        known_tags = {t["name"] for t in merged["tags"]}
        merged["tags"] += [t for t in document.get("tags", []) if t["name"] not in known_tags]
    return merged


def gateway_openapi(table: RouteTable) -> dict[str, Any]:
    return merge_openapi(table, {name: app.openapi() for name, app in service_apps().items()})


DOCS_TITLE = "C2R platform API"
# Next to the merged document, the folder of the docs pages' assets that nginx serves
# under ASSETS_PATH.
ASSETS_FOLDER = "docs-assets"


def gateway_swagger_ui() -> str:
    """The gateway's /docs: Swagger UI on the merged document, the same in both gateways."""
    return swagger_ui_page(DOCS_TITLE)


def gateway_redoc() -> str:
    return redoc_page(DOCS_TITLE)


def write_docs(output: Path, document: dict[str, Any]) -> None:
    """The merged document at `output` and, beside it, the assets of /docs and /redoc."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    output.chmod(0o644)
    copy_assets(output.parent / ASSETS_FOLDER)
