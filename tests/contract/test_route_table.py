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
