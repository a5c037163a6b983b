"""A JWT of kind "device" is a device only with a school it names by UUID: without one, or
with a malformed one, every push path answers 401, not a server error."""

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
import pytest

from c2r_common.auth import mint_token
from c2r_common.settings import DEVELOPMENT_JWT_SECRET

ItemFactory = Callable[..., dict[str, Any]]
SchoolFactory = Callable[..., Awaitable[dict[str, Any]]]

PUSH_PATHS = ["/v1/measurements", "/v1/measurements/batch", "/v1/pings", "/v1/pings/batch"]


def _device_jwt(**claims: Any) -> dict[str, str]:
    token = mint_token(
        DEVELOPMENT_JWT_SECRET, subject="agent:jwt", scopes=["measurements:write"], kind="device"
    )
    if claims:
        payload = jwt.decode(token, options={"verify_signature": False}) | claims
        token = jwt.encode(payload, DEVELOPMENT_JWT_SECRET, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def _body(path: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"items": [item]} if path.endswith("/batch") else item


@pytest.mark.parametrize("path", PUSH_PATHS)
@pytest.mark.parametrize("school_id", [None, "school-7", 12])
async def test_a_device_jwt_without_a_school_uuid_is_refused_401(
    client: httpx.AsyncClient,
    measurement: ItemFactory,
    ping: ItemFactory,
    path: str,
    school_id: object,
) -> None:
    headers = _device_jwt() if school_id is None else _device_jwt(school_id=school_id)
    item = ping() if path.startswith("/v1/pings") else measurement()
    response = await client.post(path, json=_body(path, item), headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "school_id" in response.json()["detail"]


async def test_a_device_jwt_naming_its_school_pushes_for_it(
    client: httpx.AsyncClient, make_school: SchoolFactory, measurement: ItemFactory
) -> None:
    school = await make_school()
    headers = _device_jwt(school_id=school["id"])
    response = await client.post("/v1/measurements", json=measurement(), headers=headers)
    assert response.status_code == 201, response.text
