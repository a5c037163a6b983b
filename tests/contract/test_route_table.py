"""The route table covers every public path the services declare."""

from c2r_deploy.openapi import gateway_openapi, service_apps, unrouted_paths
from c2r_deploy.routes import load_routes


def test_every_service_path_is_routed_to_its_service() -> None:
    documents = {name: app.openapi() for name, app in service_apps().items()}
    assert unrouted_paths(load_routes(), documents) == []


def test_merged_openapi_keeps_every_routed_operation() -> None:
    merged = gateway_openapi(load_routes())
    documents = {name: app.openapi() for name, app in service_apps().items()}
    expected = sum(
        len([p for p in doc["paths"] if p not in {"/healthz", "/readyz"}])
        for doc in documents.values()
    )
    assert len(merged["paths"]) == expected
    refs = str(merged)
    # Every schema a merged operation refers to exists (renames kept references intact).
    for ref in {part.split("'")[0] for part in refs.split("#/components/schemas/")[1:]}:
        assert ref in merged["components"]["schemas"], ref


def test_merged_openapi_declares_the_gateways_429_on_rate_limited_paths() -> None:
    table = load_routes()
    merged = gateway_openapi(table)
    limited = [path for path in merged["paths"] if table.rate_limit_kind(path) is not None]
    assert "/api/v1/measurements" in limited
    assert "/v1/pings" in limited
    # The public open-calls feed needs no token: limited per client address.
    assert table.rate_limit_kind("/v1/calls/feed") == "per-address"
    assert table.rate_limit_kind("/v1/calls/open") is None
    for path, operations in merged["paths"].items():
        for method, operation in operations.items():
            too_many = operation["responses"].get("429")
            if path in limited:
                assert too_many is not None, f"{method} {path}"
                schema = too_many["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}
                assert "Retry-After" in too_many["headers"]
            else:
                assert too_many is None, f"{method} {path}"
