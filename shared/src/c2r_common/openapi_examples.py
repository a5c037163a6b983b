"""Examples in the OpenAPI document as the models give them, nulls included.

FastAPI writes its document with `exclude_none=True`, which also drops every null of the
models' examples: an answer's example then lacks its nullable fields (`decided_at`,
`min_overall`, ...), which the schema requires, and a generated client's user reads an
example the server never sends. Each example is put back from the models' own JSON
schemas wherever it is the same example with its nulls left out.
"""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

REF_TEMPLATE = "#/components/schemas/{model}"


def without_nulls(value: Any) -> Any:
    """`value` as a document dumped with exclude_none shows it."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def _route_models(routes: list[Any]) -> Iterator[type[BaseModel]]:
    for context in iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        body = route.body_field.field_info.annotation if route.body_field else None
        candidates = [route.response_model, body]
        candidates += [response.get("model") for response in route.responses.values()]
        for candidate in candidates:
            for model in (candidate, *getattr(candidate, "__args__", ())):
                if isinstance(model, type) and issubclass(model, BaseModel):
                    yield model


def _restore(written: Any, source: Any) -> None:
    """Put back into `written` (the document's schema) the examples of `source` (the
    model's) that only lost their nulls, walking both alike."""
    if isinstance(written, dict) and isinstance(source, dict):
        for key in ("examples", "example"):
            if key in written and key in source and without_nulls(source[key]) == written[key]:
                written[key] = source[key]
        for key, value in written.items():
            if key not in ("examples", "example") and key in source:
                _restore(value, source[key])
    elif isinstance(written, list) and isinstance(source, list) and len(written) == len(source):
        for written_item, source_item in zip(written, source, strict=True):
            _restore(written_item, source_item)


def restore_example_nulls(document: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    models = sorted(set(_route_models(routes)), key=lambda model: model.__qualname__)
    if not models:
        return document
    pairs = [(model, mode) for model in models for mode in ("validation", "serialization")]
    _, definitions = models_json_schema(pairs, ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
    schemas = document.get("components", {}).get("schemas", {})
    defined = definitions.get("$defs", {})
    for name, written in schemas.items():
        # A model whose validation and serialization schemas differ is defined twice.
        for source_name in (name, f"{name}-Output", f"{name}-Input"):
            if source_name in defined:
                _restore(written, defined[source_name])
    return document


def keep_example_nulls(app: FastAPI) -> None:
    """The OpenAPI document of `app` shows its models' examples with their nulls."""
    build = app.openapi
    restored: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not restored:
            restored.append(restore_example_nulls(build(), app.routes))
        return restored[0]

    app.openapi = openapi  # type: ignore[method-assign]
