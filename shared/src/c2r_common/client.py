"""The client one service uses to call another over REST.

Pooled connections, a timeout on every call, bounded retries with exponential backoff for
calls that are safe to repeat (idempotent methods, or any call carrying an
Idempotency-Key), a service credential, and the current request id passed on.
"""

import asyncio
import inspect
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from c2r_common.context import current_request_id

logger = logging.getLogger("c2r.client")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})
_BACKOFF_BASE_SECONDS = 0.1
_BACKOFF_CAP_SECONDS = 2.0

# A function of no arguments giving the bearer token, or an awaitable of it (a credential
# fetched from the identity provider, c2r_common.client_credentials).
TokenProvider = Callable[[], str | Awaitable[str]]


class ServiceClient:
    """A pooled httpx client bound to one service's base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        token_provider: TokenProvider | None = None,
        timeout_seconds: float = 5.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self.token_provider = token_provider
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        request_id = current_request_id()
        if request_id:
            headers.setdefault("X-Request-ID", request_id)
        if self.token_provider is not None and "Authorization" not in headers:
            token = self.token_provider()
            if inspect.isawaitable(token):
                token = await token
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Sends the call, retrying only when repeating it cannot do harm; once more with a
        fresh credential when the peer refuses the one the provider still held."""
        response = await self._send(method, path, headers, kwargs)
        forget = getattr(self.token_provider, "forget", None)
        own_credential = "Authorization" in (headers or {})
        if response.status_code == 401 and forget is not None and not own_credential:
            forget()
            response = await self._send(method, path, headers, kwargs)
        return response

    async def _send(
        self, method: str, path: str, extra: dict[str, str] | None, kwargs: dict[str, Any]
    ) -> httpx.Response:
        headers = await self._headers(extra)
        retryable = method.upper() in IDEMPOTENT_METHODS or "Idempotency-Key" in headers
        attempts = 1 + (self.retries if retryable else 0)
        for attempt in range(1, attempts + 1):
            try:
                response = await self._http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:  # timeouts included
                if attempt == attempts:
                    raise
                logger.warning("call %s %s failed (%s); retrying", method, path, exc)
            else:
                if response.status_code not in RETRYABLE_STATUSES or attempt == attempts:
                    return response
                logger.warning(
                    "call %s %s answered %s; retrying", method, path, response.status_code
                )
            await asyncio.sleep(_backoff(attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)


def _backoff(attempt: int) -> float:
    # Full jitter keeps many retrying callers from hitting a recovering service in step.
    ceiling = min(_BACKOFF_CAP_SECONDS, _BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
    return random.uniform(0, ceiling)
