"""The edges of token verification: NumericDate claims that are not integers, scope strings
split on other whitespace, device-kind tokens without a usable school, and a JWKS endpoint
asked again for every unknown `kid` (a real local HTTP server counts the fetches)."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from c2r_common.auth import JwksKeys, TokenVerifier
from c2r_common.errors import ProblemError
from c2r_common.settings import DEVELOPMENT_JWT_SECRET, Environment, ServiceSettings


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": "alice", "iss": "c2r-embedded", "aud": "c2r-platform", "exp": now + 600}
    return claims | {"scope": "schools:read"} | overrides


def _hs(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, DEVELOPMENT_JWT_SECRET, algorithm="HS256")


@pytest.fixture(scope="module")
def verifier() -> TokenVerifier:
    return TokenVerifier(ServiceSettings(environment=Environment.TEST))


def _refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(ProblemError) as raised:
        verifier.verify(token)
    assert raised.value.status_code == 401
    return str(raised.value.detail)


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
def test_a_numeric_date_given_as_a_string_is_refused(verifier: TokenVerifier, claim: str) -> None:
    value = _claims()["exp"] if claim == "exp" else int(time.time()) - 10
    assert f"{claim} must be an integer" in _refusal(verifier, _hs(_claims(**{claim: str(value)})))


@pytest.mark.parametrize("value", [1.5e10, True])
def test_a_non_integer_exp_is_refused(verifier: TokenVerifier, value: object) -> None:
    _refusal(verifier, _hs(_claims(exp=value)))


def test_an_integer_exp_is_accepted(verifier: TokenVerifier) -> None:
    assert verifier.verify(_hs(_claims())).subject == "alice"


def test_scopes_are_split_on_ascii_spaces_only(verifier: TokenVerifier) -> None:
    principal = verifier.verify(_hs(_claims(scope="schools:read\u00a0admin  requests:read\t")))
    assert principal.scopes == {"schools:read\u00a0admin", "requests:read\t"}
    assert not principal.has_scope("schools:read")
    assert not principal.has_scope("admin")


def test_a_scope_claim_that_is_not_a_string_is_refused(verifier: TokenVerifier) -> None:
    assert "scope claim" in _refusal(verifier, _hs(_claims(scope=["admin"])))


@pytest.mark.parametrize("school_id", [None, "", "not-a-uuid", 42, ["x"]])
def test_a_device_token_without_a_school_uuid_is_refused(
    verifier: TokenVerifier, school_id: object
) -> None:
    claims = _claims(kind="device") | ({} if school_id is None else {"school_id": school_id})
    assert "school_id" in _refusal(verifier, _hs(claims))


def test_a_device_token_with_a_malformed_agent_id_is_refused(verifier: TokenVerifier) -> None:
    claims = _claims(kind="device", school_id=str(uuid.uuid4()), agent_id="agent-7")
    assert "agent_id" in _refusal(verifier, _hs(claims))


def test_a_device_token_gives_its_school_as_a_uuid(verifier: TokenVerifier) -> None:
    school_id = uuid.uuid4()
    principal = verifier.verify(_hs(_claims(kind="device", school_id=str(school_id))))
    assert principal.kind == "device"
    assert principal.claims["school_id"] == school_id


class CountingJwks:
    """A real JWKS endpoint on loopback that counts the fetches; its keys can be rotated."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.fetches = 0
        self.lock = threading.Lock()
        state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with state.lock:
                    state.fetches += 1
                    payload = json.dumps(state.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    def publish(self, *keys: tuple[str, rsa.RSAPrivateKey]) -> None:
        jwks = [
            RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            | {"kid": kid, "alg": "RS256", "use": "sig"}
            for kid, key in keys
        ]
        with self.lock:
            self.document = {"keys": jwks}


@pytest.fixture
def jwks() -> Iterator[CountingJwks]:
    server = CountingJwks()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048) for name in "ab"}


def _rs(key: rsa.RSAPrivateKey, kid: str) -> str:
    return jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": kid})


def _jwks_verifier(keys: JwksKeys) -> TokenVerifier:
    settings = ServiceSettings(environment=Environment.TEST, jwt_algorithms=["RS256"])
    verifier = TokenVerifier(settings)
    verifier.jwks = keys
    return verifier


def test_unknown_kids_do_not_fetch_the_jwks_again_within_the_refetch_interval(
    jwks: CountingJwks, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    jwks.publish(("a", keys["a"]))
    verifier = _jwks_verifier(JwksKeys(jwks.url, refetch_seconds=3600))
    assert verifier.verify(_rs(keys["a"], "a")).subject == "alice"
    for attempt in range(50):
        _refusal(verifier, _rs(keys["b"], f"unknown-{attempt}"))
    assert verifier.verify(_rs(keys["a"], "a")).subject == "alice"
    assert jwks.fetches == 1


def test_a_rotated_key_is_found_once_the_refetch_interval_has_passed(
    jwks: CountingJwks, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    jwks.publish(("a", keys["a"]))
    verifier = _jwks_verifier(JwksKeys(jwks.url, refetch_seconds=0.3))
    verifier.verify(_rs(keys["a"], "a"))
    jwks.publish(("a", keys["a"]), ("b", keys["b"]))
    _refusal(verifier, _rs(keys["b"], "b"))  # too soon after the first fetch: not asked
    assert jwks.fetches == 1
    time.sleep(0.35)
    assert verifier.verify(_rs(keys["b"], "b")).subject == "alice"
    assert jwks.fetches == 2


def test_a_withdrawn_key_stops_being_trusted_after_the_lifespan(
    jwks: CountingJwks, keys: dict[str, rsa.RSAPrivateKey]
) -> None:
    jwks.publish(("a", keys["a"]))
    verifier = _jwks_verifier(JwksKeys(jwks.url, refetch_seconds=0.1, lifespan_seconds=0.3))
    verifier.verify(_rs(keys["a"], "a"))
    jwks.publish(("b", keys["b"]))
    verifier.verify(_rs(keys["a"], "a"))  # still within the lifespan: no fetch
    assert jwks.fetches == 1
    time.sleep(0.35)
    _refusal(verifier, _rs(keys["a"], "a"))
    assert jwks.fetches == 2
