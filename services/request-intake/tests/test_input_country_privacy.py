"""A focal point's countries stay private: a request of another country is answered as a
missing one, the same 404 byte for byte but for the id asked for."""

import uuid
from typing import Any

import httpx
import pytest

from c2r_common.testing import TokenFactory, assert_refused_alike

MISSING = str(uuid.UUID(int=1))


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"title": "Another title", "comment": "a better title"}),
        ("GET", "/transitions", None),
        ("POST", "/transitions", {"to": "withdrawn", "comment": "no longer needed"}),
    ],
)
async def test_a_request_of_another_country_is_answered_as_a_missing_one(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    call = await api.create_call()
    submitted = await api.submit(rwanda, call["id"])
    kenya = auth_headers("requests:submit", "requests:read", countries=["KEN"])

    async def ask(request_id: str) -> httpx.Response:
        url = f"/v1/requests/{request_id}{suffix}"
        return await client.request(method, url, json=body, headers=kenya)

    foreign = await ask(submitted["id"])
    assert_refused_alike(foreign, submitted["id"], await ask(MISSING), MISSING)
    assert "RWA" not in foreign.text
