import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel, Field, TypeAdapter

from c2r_common.bodies import json_body_openapi, read_json_body
from c2r_common.errors import install_error_handlers


class Reading(BaseModel):
    mbps: float = Field(ge=0)


class Readings(BaseModel):
    station: str
    readings: list[Reading]


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    adapter = TypeAdapter(Readings)

    @app.post("/readings", openapi_extra=json_body_openapi(Readings, "some readings"))
    async def take(request: Request) -> dict[str, float]:
        body = await read_json_body(request, adapter)
        return {"total": sum(reading.mbps for reading in body.readings)}

    return app


async def _post(content: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await http.post("/readings", content=content)


async def test_a_valid_body_is_parsed_into_the_model() -> None:
    response = await _post(b'{"station": "a", "readings": [{"mbps": 1.5}, {"mbps": 2}]}')
    assert response.status_code == 200
    assert response.json() == {"total": 3.5}


async def test_an_invalid_field_is_a_problem_naming_it_under_body() -> None:
    response = await _post(b'{"station": "a", "readings": [{"mbps": 1}, {"mbps": -1}]}')
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["body.readings.1.mbps"]


async def test_a_body_that_is_not_json_is_a_problem() -> None:
    response = await _post(b'{"station": ')
    assert response.status_code == 422
    assert response.json()["errors"][0]["type"] == "json_invalid"
    assert response.json()["errors"][0]["field"] == "body"


def test_the_documented_body_has_its_nested_models_inlined() -> None:
    operation = _app().openapi()["paths"]["/readings"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    assert body["description"] == "some readings"
    schema = body["content"]["application/json"]["schema"]
    assert "$defs" not in schema
    assert schema["properties"]["readings"]["items"]["properties"]["mbps"]["minimum"] == 0
