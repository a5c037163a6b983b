"""A service's credential for calling another, from the identity provider: the OAuth 2.0
client credentials grant (RFC 6749 section 4.4).

A production service verifies tokens by the provider's public keys (JWKS) and holds no
secret that could sign one, so it cannot mint its own peer tokens; a static token pasted
into a Secret would expire or, if it never did, be a password that outlives every
rotation. Instead the caller asks the provider's token endpoint for a short-lived access
token with its client id and secret, keeps it while it is fresh and asks again before it
expires. One request for a token at a time, however many calls wait for it.
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

# A token is renewed once this share of its lifetime has passed, so that a call never
# goes out with one about to expire on the way.
RENEW_AT_SHARE = 0.8
# Used when the provider leaves expires_in out (RFC 6749 makes it only RECOMMENDED).
DEFAULT_LIFETIME_SECONDS = 300.0


class ServiceCredentialsError(httpx.TransportError):
    """No access token could be had from the token endpoint: the peer call cannot be made.
    A transport error, so that callers that degrade when a peer is unreachable (the
    connectivity reader, the hand-off relay) degrade the same way."""


@dataclass(frozen=True)
class ClientCredentialsConfig:
    token_url: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    audience: str | None = None
    timeout_seconds: float = 5.0


class ClientCredentials:
    """An async token provider for ServiceClient: `await credentials()` is a fresh token."""

    def __init__(
        self,
        config: ClientCredentialsConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._transport = transport
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def __call__(self) -> str:
        if self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        async with self._lock:  # callers that waited find the token the first one got
            if self._token is None or time.monotonic() >= self._renew_at:
                await self._renew()
            assert self._token is not None
            return self._token

    def forget(self) -> None:
        """Drops the token (the peer refused it: revoked, or the keys rotated)."""
        self._token = None

    async def _renew(self) -> None:
        answer = await self._request_token()
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise ServiceCredentialsError("the token endpoint answered without an access_token")
        lifetime = answer.get("expires_in", DEFAULT_LIFETIME_SECONDS)
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_LIFETIME_SECONDS
        self._token = token
        self._renew_at = time.monotonic() + lifetime * RENEW_AT_SHARE

    async def _request_token(self) -> dict[str, Any]:
        config = self.config
        form = {"grant_type": "client_credentials", "scope": " ".join(config.scopes)}
        if config.audience:
            form["audience"] = config.audience
        async with httpx.AsyncClient(
            timeout=config.timeout_seconds, transport=self._transport
        ) as http:
            try:
                response = await http.post(
                    config.token_url,
                    data=form,
                    # client_secret_basic, the method every provider must support (2.3.1).
                    auth=httpx.BasicAuth(config.client_id, config.client_secret),
                    headers={"Accept": "application/json"},
                )
            except httpx.TransportError as exc:
                raise ServiceCredentialsError(f"the token endpoint is unreachable: {exc}") from exc
        if response.status_code != 200:
            raise ServiceCredentialsError(
                f"the token endpoint refused the client credentials ({response.status_code}: "
                f"{response.text[:200]})"
            )
        try:
            answer = response.json()
        except ValueError as exc:
            raise ServiceCredentialsError("the token endpoint answered no JSON") from exc
        if not isinstance(answer, dict):
            raise ServiceCredentialsError("the token endpoint answered no JSON object")
        return answer
