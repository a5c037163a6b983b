"""Calls to another service with access tokens from the identity provider (the OAuth 2.0
client credentials grant): a real token endpoint over HTTP that signs RS256 tokens and
publishes its JWKS, and a peer app that verifies them through that JWKS, as production
runs; the caller's ServiceClient between them."""

import asyncio
import base64
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr, ValidationError

from c2r_common.auth import CurrentPrincipal, TokenVerifier, service_token_provider
from c2r_common.client import ServiceClient
from c2r_common.client_credentials import ClientCredentials, ServiceCredentialsError
from c2r_common.errors import install_error_handlers
from c2r_common.settings import Environment, ServiceSettings

CLIENT_ID, CLIENT_SECRET = "request-intake", "s3cret-of-request-intake-at-the-idp"
AUDIENCE = "c2r-platform"


@dataclass
class IdentityProvider:
    """What the token endpoint was asked and what it hands out next."""

    key: rsa.RSAPrivateKey
    lifetime_seconds: int = 600
    # Tokens whose exp lies this far in the past although expires_in says otherwise: a
    # provider whose token the peer refuses while the caller still holds it.
    next_expired: int = 0
    grants: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        now = int(time.time())
        expired = self.next_expired > 0
        self.next_expired -= int(expired)
        claims = {
            "sub": CLIENT_ID,
            "iss": self.url,
            "aud": form.get("audience", ""),
            "scope": form["scope"],
            "iat": now - 3600 * expired,
            "exp": now - 60 if expired else now + self.lifetime_seconds,
        }
        signed = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "idp-1"})
        return {"access_token": signed, "token_type": "Bearer", "expires_in": self.lifetime_seconds}

    def jwks(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [public | {"kid": "idp-1", "alg": "RS256", "use": "sig"}]}


def _handler(idp: IdentityProvider) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, document: Any) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer(200, idp.jwks())

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            idp.grants.append(form)
            if self.headers.get("Authorization") != expected:
                self._answer(401, {"error": "invalid_client"})
            elif form.get("grant_type") != "client_credentials":
                self._answer(400, {"error": "unsupported_grant_type"})
            else:
                self._answer(200, idp.token(form))

    return Handler


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def idp(signing_key: rsa.RSAPrivateKey) -> Iterator[IdentityProvider]:
    provider = IdentityProvider(signing_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield provider
    server.shutdown()
    server.server_close()


def peer_app(idp: IdentityProvider) -> FastAPI:
    """A service that trusts only the provider's published keys, as in production."""
    settings = ServiceSettings(
        environment=Environment.PRODUCTION,
        jwt_secret=None,
        jwt_jwks_url=f"{idp.url}/jwks.json",
        jwt_algorithms=["RS256"],
        jwt_issuer=idp.url,
        jwt_audience=AUDIENCE,
    )
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier(settings)

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"subject": principal.subject, "scopes": sorted(principal.scopes)}

    return app


def caller_settings(idp: IdentityProvider, secret: str = CLIENT_SECRET) -> ServiceSettings:
    return ServiceSettings(
        environment=Environment.PRODUCTION,
        jwt_secret=None,
        jwt_jwks_url=f"{idp.url}/jwks.json",
        jwt_algorithms=["RS256"],
        jwt_audience=AUDIENCE,
        oauth_token_url=f"{idp.url}/token",
        oauth_client_id=CLIENT_ID,
        oauth_client_secret=SecretStr(secret),
    )


def client_to_peer(idp: IdentityProvider, settings: ServiceSettings) -> ServiceClient:
    credentials = service_token_provider(settings, subject=CLIENT_ID, scopes=["assessments:write"])
    transport = httpx.ASGITransport(app=peer_app(idp))
    return ServiceClient("http://peer", token_provider=credentials, transport=transport)


async def test_a_call_carries_the_providers_token_and_the_peer_verifies_it_by_its_jwks(
    idp: IdentityProvider,
) -> None:
    client = client_to_peer(idp, caller_settings(idp))
    try:
        response = await client.get("/whoami")
    finally:
        await client.aclose()
    assert response.status_code == 200, response.text
    assert response.json() == {"subject": CLIENT_ID, "scopes": ["assessments:write"]}
    [grant] = idp.grants
    assert grant == {
        "grant_type": "client_credentials",
        "scope": "assessments:write",
        "audience": AUDIENCE,
    }


async def test_concurrent_calls_on_a_cold_start_ask_the_provider_once(
    idp: IdentityProvider,
) -> None:
    client = client_to_peer(idp, caller_settings(idp))
    try:
        responses = await asyncio.gather(*(client.get("/whoami") for _ in range(50)))
        again = await client.get("/whoami")
    finally:
        await client.aclose()
    assert {r.status_code for r in [*responses, again]} == {200}
    assert len(idp.grants) == 1


async def test_the_token_is_renewed_once_most_of_its_lifetime_has_passed(
    idp: IdentityProvider,
) -> None:
    idp.lifetime_seconds = 2  # renewed after 80 %: 1.6 s
    client = client_to_peer(idp, caller_settings(idp))
    try:
        assert (await client.get("/whoami")).status_code == 200
        await asyncio.sleep(0.5)
        assert (await client.get("/whoami")).status_code == 200
        assert len(idp.grants) == 1
        await asyncio.sleep(1.3)
        assert (await client.get("/whoami")).status_code == 200
    finally:
        await client.aclose()
    assert len(idp.grants) == 2


async def test_a_token_the_peer_refuses_is_dropped_and_the_call_made_with_a_new_one(
    idp: IdentityProvider,
) -> None:
    idp.next_expired = 1  # the first token is refused by the peer while still held here
    client = client_to_peer(idp, caller_settings(idp))
    try:
        response = await client.get("/whoami")
    finally:
        await client.aclose()
    assert response.status_code == 200, response.text
    assert len(idp.grants) == 2


async def test_a_peer_that_keeps_refusing_is_answered_401_after_one_new_token(
    idp: IdentityProvider,
) -> None:
    idp.next_expired = 5
    client = client_to_peer(idp, caller_settings(idp))
    try:
        response = await client.get("/whoami")
    finally:
        await client.aclose()
    assert response.status_code == 401
    assert len(idp.grants) == 2  # no loop of token requests


async def test_refused_client_credentials_are_an_error_naming_the_answer(
    idp: IdentityProvider,
) -> None:
    client = client_to_peer(idp, caller_settings(idp, secret="not-the-secret-at-the-idp"))
    try:
        with pytest.raises(ServiceCredentialsError, match=r"refused the client credentials \(401"):
            await client.get("/whoami")
    finally:
        await client.aclose()


async def test_an_unreachable_token_endpoint_is_a_transport_error(
    idp: IdentityProvider, closed_port: int
) -> None:
    settings = caller_settings(idp).model_copy(
        update={"oauth_token_url": f"http://127.0.0.1:{closed_port}/token"}
    )
    client = client_to_peer(idp, settings)
    try:
        with pytest.raises(httpx.TransportError, match="token endpoint is unreachable"):
            await client.get("/whoami")
    finally:
        await client.aclose()


def test_client_credentials_come_between_a_static_token_and_the_shared_secret(
    idp: IdentityProvider,
) -> None:
    settings = caller_settings(idp)
    assert isinstance(service_token_provider(settings, subject="s", scopes=[]), ClientCredentials)
    static = service_token_provider(settings, subject="s", scopes=[], static_token="t")
    assert static() == "t"
    shared = ServiceSettings(environment=Environment.TEST)
    assert isinstance(service_token_provider(shared, subject="s", scopes=[])(), str)


@pytest.mark.parametrize("missing", ["oauth_token_url", "oauth_client_id", "oauth_client_secret"])
def test_client_credentials_are_refused_unless_complete(
    idp: IdentityProvider, missing: str
) -> None:
    values = caller_settings(idp).model_dump() | {missing: None}
    with pytest.raises(ValidationError, match="go together"):
        ServiceSettings(**values)
