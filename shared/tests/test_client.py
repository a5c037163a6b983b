"""ServiceClient against a real local HTTP server (scripted statuses, recorded requests);
httpx.MockTransport only to raise connection errors."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from c2r_common.client import ServiceClient
from c2r_common.context import set_request_id


@pytest.fixture
async def make_client(scripted_server: Any) -> AsyncIterator[Callable[..., ServiceClient]]:
    clients: list[ServiceClient] = []

    def make(**options: Any) -> ServiceClient:
        client = ServiceClient(scripted_server.url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def request_id() -> Any:
    """Sets the request id of the context for one test and clears it afterwards."""
    yield set_request_id
    set_request_id(None)


async def test_get_is_retried_on_503_then_succeeds(
    scripted_server: Any, make_client: Callable[..., ServiceClient]
) -> None:
    scripted_server.script("/items", [503, 503, 200])
    response = await make_client(retries=2).get("/items")
    assert response.status_code == 200
    assert scripted_server.attempts("/items") == 3


@pytest.mark.parametrize("status", [502, 504])
async def test_get_is_retried_on_other_gateway_errors(
    scripted_server: Any, make_client: Callable[..., ServiceClient], status: int
) -> None:
    scripted_server.script("/items", [status, 200])
    response = await make_client(retries=2).get("/items")
    assert response.status_code == 200
    assert scripted_server.attempts("/items") == 2


@pytest.mark.parametrize("retries", [0, 1, 3])
async def test_attempts_are_bounded_and_the_last_response_is_returned(
    scripted_server: Any, make_client: Callable[..., ServiceClient], retries: int
) -> None:
    scripted_server.script("/down", [503])  # 503 for ever
    response = await make_client(retries=retries).get("/down")
    assert response.status_code == 503
    assert response.json() == {"status": 503, "path": "/down"}
    assert scripted_server.attempts("/down") == 1 + retries


async def test_post_without_idempotency_key_is_not_retried(
    scripted_server: Any, make_client: Callable[..., ServiceClient]
) -> None:
    scripted_server.script("/things", [503, 201])
    response = await make_client(retries=2).post("/things", json={"name": "x"})
    assert response.status_code == 503
    assert scripted_server.attempts("/things") == 1


async def test_post_with_idempotency_key_is_retried_with_the_same_key_and_body(
    scripted_server: Any, make_client: Callable[..., ServiceClient]
) -> None:
    scripted_server.script("/things", [503, 503, 201])
    response = await make_client(retries=2).post(
        "/things", json={"name": "x"}, headers={"Idempotency-Key": "key-1"}
    )
    assert response.status_code == 201
    seen = scripted_server.requests_to("/things")
    assert len(seen) == 3
    assert {request.headers["Idempotency-Key"] for request in seen} == {"key-1"}
    assert {request.body for request in seen} == {b'{"name":"x"}'}


async def test_put_and_delete_are_retried(
    scripted_server: Any, make_client: Callable[..., ServiceClient]
) -> None:
    client = make_client(retries=1)
    scripted_server.script("/put", [503, 200])
    scripted_server.script("/delete", [503, 204])
    assert (await client.request("PUT", "/put", json={})).status_code == 200
    assert (await client.request("DELETE", "/delete")).status_code == 204
    assert scripted_server.attempts("/put") == 2
    assert scripted_server.attempts("/delete") == 2


@pytest.mark.parametrize("status", [400, 404, 409, 500])
async def test_other_errors_are_not_retried(
    scripted_server: Any, make_client: Callable[..., ServiceClient], status: int
) -> None:
    scripted_server.script("/items", [status, 200])
    response = await make_client(retries=2).get("/items")
    assert response.status_code == status
    assert scripted_server.attempts("/items") == 1


async def test_timeout_raises(
    scripted_server: Any, make_client: Callable[..., ServiceClient]
) -> None:
    scripted_server.hang.add("/slow")
    client = make_client(timeout_seconds=0.2, retries=0)
    with pytest.raises(httpx.TimeoutException):
        await client.get("/slow")


async def test_timeout_of_an_idempotent_call_is_retried_then_raised(
    scripted_server: Any, make_client: Callable[..., ServiceClient]
) -> None:
    scripted_server.hang.add("/slow")
    client = make_client(timeout_seconds=0.2, retries=1)
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/slow")
    # The server records a request before hanging, and the client waits for the answer
    # before timing out: both attempts reached the server.
    assert scripted_server.attempts("/slow") == 2


async def test_request_id_of_the_context_is_sent(
    scripted_server: Any, make_client: Callable[..., ServiceClient], request_id: Any
) -> None:
    request_id("req-abc-123")
    await make_client().get("/items")
    (seen,) = scripted_server.requests_to("/items")
    assert seen.headers["X-Request-ID"] == "req-abc-123"


async def test_no_request_id_header_outside_a_request(
    scripted_server: Any, make_client: Callable[..., ServiceClient], request_id: Any
) -> None:
    request_id(None)
    await make_client().get("/items")
    (seen,) = scripted_server.requests_to("/items")
    assert "X-Request-ID" not in seen.headers


async def test_explicit_request_id_header_is_kept(
    scripted_server: Any, make_client: Callable[..., ServiceClient], request_id: Any
) -> None:
    request_id("from-context")
    await make_client().get("/items", headers={"X-Request-ID": "explicit"})
    (seen,) = scripted_server.requests_to("/items")
    assert seen.headers["X-Request-ID"] == "explicit"


async def test_authorization_comes_from_the_token_provider(
    scripted_server: Any, make_client: Callable[..., ServiceClient]
) -> None:
    tokens = iter(["token-1", "token-2"])
    client = make_client(token_provider=lambda: next(tokens))
    await client.get("/a")
    await client.post("/b", json={})
    assert scripted_server.requests_to("/a")[0].headers["Authorization"] == "Bearer token-1"
    assert scripted_server.requests_to("/b")[0].headers["Authorization"] == "Bearer token-2"


async def test_no_authorization_without_a_token_provider(
    scripted_server: Any, make_client: Callable[..., ServiceClient]
) -> None:
    await make_client().get("/a")
    assert "Authorization" not in scripted_server.requests_to("/a")[0].headers


def _refusing_transport(attempts: list[httpx.Request], failures: int) -> httpx.MockTransport:
    """Connection refused `failures` times, then 200."""

    def handle(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) <= failures:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handle)


async def test_connection_error_of_a_get_is_retried() -> None:
    attempts: list[httpx.Request] = []
    client = ServiceClient("http://svc", retries=2, transport=_refusing_transport(attempts, 2))
    try:
        response = await client.get("/items")
    finally:
        await client.aclose()
    assert response.status_code == 200
    assert len(attempts) == 3


async def test_connection_error_is_raised_after_the_last_attempt() -> None:
    attempts: list[httpx.Request] = []
    client = ServiceClient("http://svc", retries=2, transport=_refusing_transport(attempts, 99))
    try:
        with pytest.raises(httpx.ConnectError):
            await client.get("/items")
    finally:
        await client.aclose()
    assert len(attempts) == 3


async def test_connection_error_of_a_post_without_key_is_not_retried() -> None:
    attempts: list[httpx.Request] = []
    client = ServiceClient("http://svc", retries=2, transport=_refusing_transport(attempts, 1))
    try:
        with pytest.raises(httpx.ConnectError):
            await client.post("/things", json={})
    finally:
        await client.aclose()
    assert len(attempts) == 1


async def test_really_refused_connection_raises_connect_error(closed_port: int) -> None:
    client = ServiceClient(f"http://127.0.0.1:{closed_port}", retries=1)
    try:
        with pytest.raises(httpx.ConnectError):
            await client.get("/items")
    finally:
        await client.aclose()
