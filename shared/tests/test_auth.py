"""TokenVerifier (HS256 and RS256/ES256 through a real JWKS endpoint), Principal and the
service token provider."""

import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI, Request
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import SecretStr

from c2r_common.auth import (
    BEARER_SECURITY,
    CurrentPrincipal,
    Principal,
    Scope,
    TokenVerifier,
    authenticate,
    mint_token,
    principal_from_claims,
    require_scopes,
    service_token_provider,
)
from c2r_common.errors import ProblemError, install_error_handlers
from c2r_common.settings import DEVELOPMENT_JWT_SECRET, Environment, ServiceSettings

ISSUER = "c2r-embedded"
AUDIENCE = "c2r-platform"


@pytest.fixture(scope="module")
def hs_settings() -> ServiceSettings:
    return ServiceSettings(environment=Environment.TEST)


@pytest.fixture(scope="module")
def verifier(hs_settings: ServiceSettings) -> TokenVerifier:
    return TokenVerifier(hs_settings)


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "alice",
        "scope": "schools:read requests:read",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _hs(claims: dict[str, Any], secret: str = DEVELOPMENT_JWT_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def bearer_for(*scopes: str, subject: str = "bob") -> dict[str, str]:
    token = mint_token(DEVELOPMENT_JWT_SECRET, subject=subject, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


def _refused(verifier: TokenVerifier, token: str) -> ProblemError:
    with pytest.raises(ProblemError) as raised:
        verifier.verify(token)
    assert raised.value.status_code == 401
    assert raised.value.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return raised.value


# HS256


def test_valid_hs256_token_gives_its_principal(verifier: TokenVerifier) -> None:
    token = mint_token(
        DEVELOPMENT_JWT_SECRET,
        subject="focal-point-rw",
        scopes=["schools:read", "requests:submit"],
        countries=["rwa", "BDI"],
    )
    principal = verifier.verify(token)
    assert principal.subject == "focal-point-rw"
    assert principal.scopes == frozenset({"schools:read", "requests:submit"})
    assert principal.countries == frozenset({"RWA", "BDI"})
    assert principal.kind == "user"
    assert principal.claims["iss"] == ISSUER


def test_token_without_countries_is_not_limited(verifier: TokenVerifier) -> None:
    principal = verifier.verify(_hs(_claims()))
    assert principal.countries is None
    assert principal.can_access_country("KEN")
    principal.require_country("ken")


def test_expired_token_is_refused(verifier: TokenVerifier) -> None:
    now = int(time.time())
    error = _refused(verifier, _hs(_claims(iat=now - 7200, exp=now - 3600)))
    assert "expired" in str(error.detail)


def test_wrong_audience_is_refused(verifier: TokenVerifier) -> None:
    error = _refused(verifier, _hs(_claims(aud="another-platform")))
    assert "audience" in str(error.detail).lower()


def test_wrong_issuer_is_refused(verifier: TokenVerifier) -> None:
    error = _refused(verifier, _hs(_claims(iss="somebody-else")))
    assert "issuer" in str(error.detail).lower()


@pytest.mark.parametrize("claim", ["exp", "sub"])
def test_token_missing_a_required_claim_is_refused(verifier: TokenVerifier, claim: str) -> None:
    error = _refused(verifier, _hs(_claims(**{claim: None})))
    assert claim in str(error.detail)


def test_tampered_payload_is_refused(verifier: TokenVerifier) -> None:
    header, _payload, signature = _hs(_claims()).split(".")
    _h, forged_payload, _s = _hs(_claims(scope="admin")).split(".")
    _refused(verifier, f"{header}.{forged_payload}.{signature}")


def test_tampered_signature_is_refused(verifier: TokenVerifier) -> None:
    header, payload, signature = _hs(_claims()).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    _refused(verifier, f"{header}.{payload}.{flipped}")


def test_token_signed_with_another_secret_is_refused(verifier: TokenVerifier) -> None:
    _refused(verifier, _hs(_claims(), secret="an-entirely-different-secret-of-some-length"))


def test_garbage_token_is_refused(verifier: TokenVerifier) -> None:
    _refused(verifier, "not-a-jwt")


def test_unsigned_token_is_refused(verifier: TokenVerifier) -> None:
    _refused(verifier, jwt.encode(_claims(), None, algorithm="none"))


# Principal


def test_admin_implies_every_scope() -> None:
    admin = Principal(subject="root", scopes=frozenset({"admin"}))
    assert all(admin.has_scope(scope) for scope in Scope)
    assert admin.has_scope("anything:else")


def test_scopes_are_checked_one_by_one() -> None:
    reader = Principal(subject="r", scopes=frozenset({"schools:read"}))
    assert reader.has_scope(Scope.SCHOOLS_READ)
    assert not reader.has_scope(Scope.SCHOOLS_WRITE)
    assert not reader.has_scope(Scope.ADMIN)


def test_countries_claim_limits_access(verifier: TokenVerifier) -> None:
    principal = verifier.verify(_hs(_claims(countries=["rwa"])))
    assert principal.countries == frozenset({"RWA"})
    assert principal.can_access_country("RWA")
    assert principal.can_access_country("rwa")
    assert not principal.can_access_country("KEN")
    principal.require_country("rwa")
    with pytest.raises(ProblemError) as raised:
        principal.require_country("ken")
    assert raised.value.status_code == 403
    assert "KEN" in str(raised.value.detail)


def test_empty_countries_claim_gives_no_country(verifier: TokenVerifier) -> None:
    principal = verifier.verify(_hs(_claims(countries=[])))
    assert principal.countries == frozenset()
    assert not principal.can_access_country("RWA")


async def test_require_scopes_dependency_over_http(hs_settings: ServiceSettings) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier(hs_settings)

    @app.get("/write")
    async def write(
        principal: Principal = Depends(require_scopes(Scope.SCHOOLS_WRITE)),
    ) -> dict[str, str]:
        return {"subject": principal.subject}

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"subject": principal.subject}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/me")).status_code == 401
        assert (await http.get("/me", headers={"Authorization": "Bearer x.y.z"})).status_code == 401
        assert (await http.get("/me", headers=bearer_for())).json() == {"subject": "bob"}
        denied = await http.get("/write", headers=bearer_for("schools:read"))
        assert denied.status_code == 403
        assert "schools:write" in denied.json()["detail"]
        assert (await http.get("/write", headers=bearer_for("schools:write"))).status_code == 200
        assert (await http.get("/write", headers=bearer_for("admin"))).status_code == 200


async def test_authenticate_checks_token_and_scopes_without_dependency_injection(
    hs_settings: ServiceSettings,
) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier(hs_settings)

    @app.post("/push", openapi_extra=BEARER_SECURITY)
    async def push(request: Request) -> dict[str, str]:
        principal = await authenticate(request, Scope.MEASUREMENTS_WRITE)
        return {"subject": principal.subject}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.post("/push")).status_code == 401
        assert (await http.post("/push", headers={"Authorization": "Bearer x"})).status_code == 401
        denied = await http.post("/push", headers=bearer_for("schools:read"))
        assert denied.status_code == 403
        assert "measurements:write" in denied.json()["detail"]
        allowed = await http.post(
            "/push", headers=bearer_for("measurements:write", subject="agent")
        )
        assert allowed.json() == {"subject": "agent"}
    security = app.openapi()["paths"]["/push"]["post"]["security"]
    assert security == [{"HTTPBearer": []}]


# RS256 / ES256 through a JWKS served over HTTP


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def jwks_verifier(
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
    serve_json: Callable[[Any], str],
) -> TokenVerifier:
    rsa_jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    ec_jwk = ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)
    keys = [
        rsa_jwk | {"kid": "rsa-1", "alg": "RS256", "use": "sig"},
        ec_jwk | {"kid": "ec-1", "alg": "ES256", "use": "sig"},
    ]
    url = serve_json({"keys": keys})
    settings = ServiceSettings(
        environment=Environment.PRODUCTION,
        jwt_secret=None,
        jwt_jwks_url=url,
        jwt_algorithms=["RS256", "ES256"],
    )
    return TokenVerifier(settings)


def test_rs256_token_is_verified_through_the_jwks(
    jwks_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    claims = _claims(scope="assessments:read", countries=["ken"], kind="service")
    token = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    principal = jwks_verifier.verify(token)
    assert principal.subject == "alice"
    assert principal.scopes == frozenset({"assessments:read"})
    assert principal.countries == frozenset({"KEN"})
    assert principal.kind == "service"


def test_es256_token_is_verified_through_the_jwks(
    jwks_verifier: TokenVerifier, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(_claims(), ec_key, algorithm="ES256", headers={"kid": "ec-1"})
    principal = jwks_verifier.verify(token)
    assert principal.scopes == frozenset({"schools:read", "requests:read"})


def test_expired_rs256_token_is_refused(
    jwks_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey
) -> None:
    now = int(time.time())
    claims = _claims(iat=now - 7200, exp=now - 3600)
    token = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    assert "expired" in str(_refused(jwks_verifier, token).detail)


def test_token_signed_by_an_unknown_key_is_refused(jwks_verifier: TokenVerifier) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(), stranger, algorithm="RS256", headers={"kid": "stranger"})
    _refused(jwks_verifier, token)


def test_token_signed_by_another_key_under_a_known_kid_is_refused(
    jwks_verifier: TokenVerifier,
) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(_claims(), stranger, algorithm="ES256", headers={"kid": "ec-1"})
    _refused(jwks_verifier, token)


def test_hs256_token_is_refused_when_only_jwks_keys_are_trusted(
    jwks_verifier: TokenVerifier,
) -> None:
    token = jwt.encode(
        _claims(), DEVELOPMENT_JWT_SECRET, algorithm="HS256", headers={"kid": "rsa-1"}
    )
    _refused(jwks_verifier, token)


def test_unreachable_jwks_url_refuses_with_401(closed_port: int) -> None:
    settings = ServiceSettings(
        environment=Environment.TEST,
        jwt_secret=None,
        jwt_jwks_url=f"http://127.0.0.1:{closed_port}/jwks.json",
        jwt_algorithms=["RS256"],
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": "rsa-1"})
    _refused(TokenVerifier(settings), token)


def test_no_key_configured_refuses_with_401() -> None:
    # Validation never yields this state; the verifier still refuses rather than crash.
    settings = ServiceSettings.model_construct(jwt_secret=None)
    error = _refused(TokenVerifier(settings), _hs(_claims()))
    assert "No key" in str(error.detail)


# Service tokens


def test_service_token_is_accepted_with_kind_service(
    hs_settings: ServiceSettings, verifier: TokenVerifier
) -> None:
    provide = service_token_provider(
        hs_settings, subject="request-intake", scopes=["assessments:write", "calls:write"]
    )
    principal = verifier.verify(provide())
    assert principal.subject == "request-intake"
    assert principal.kind == "service"
    assert principal.scopes == frozenset({"assessments:write", "calls:write"})
    assert principal.countries is None


def test_service_token_is_cached(hs_settings: ServiceSettings) -> None:
    provide = service_token_provider(hs_settings, subject="svc", scopes=["schools:read"])
    assert provide() == provide()


def test_service_token_is_renewed_past_half_its_lifetime(
    hs_settings: ServiceSettings, verifier: TokenVerifier
) -> None:
    # ttl 0: renew_at is "now", so each call mints a new (distinct jti) token.
    provide = service_token_provider(hs_settings, subject="svc", scopes=[], ttl_seconds=0)
    assert provide() != provide()


def test_service_token_follows_issuer_and_audience_of_the_settings() -> None:
    settings = ServiceSettings(
        environment=Environment.TEST, jwt_issuer="idp.test", jwt_audience="c2r-test"
    )
    provide = service_token_provider(settings, subject="svc", scopes=["schools:read"])
    assert TokenVerifier(settings).verify(provide()).kind == "service"
    with pytest.raises(ProblemError):
        TokenVerifier(ServiceSettings(environment=Environment.TEST)).verify(provide())


def test_static_service_token_wins(hs_settings: ServiceSettings) -> None:
    provide = service_token_provider(
        hs_settings, subject="svc", scopes=["schools:read"], static_token="issued-by-idp"
    )
    assert provide() == "issued-by-idp"
    assert provide() == "issued-by-idp"


def test_static_service_token_needs_no_secret() -> None:
    settings = ServiceSettings(environment=Environment.TEST, jwt_secret=None)
    provide = service_token_provider(settings, subject="svc", scopes=[], static_token="t")
    assert provide() == "t"


def test_service_token_without_secret_or_static_token_is_an_error() -> None:
    settings = ServiceSettings.model_construct(jwt_secret=None)
    with pytest.raises(ValueError, match="JWT secret"):
        service_token_provider(settings, subject="svc", scopes=[])


def test_service_token_is_signed_with_the_settings_secret(verifier: TokenVerifier) -> None:
    settings = ServiceSettings(environment=Environment.TEST, jwt_secret=SecretStr("s" * 40))
    provide = service_token_provider(settings, subject="svc", scopes=[])
    assert TokenVerifier(settings).verify(provide()).subject == "svc"
    with pytest.raises(ProblemError):
        verifier.verify(provide())


@pytest.mark.parametrize("countries", [None, "RWA", ["RWANDA"], [1, 2]])
def test_malformed_countries_claim_is_refused(countries: object) -> None:
    with pytest.raises(ProblemError) as raised:
        principal_from_claims(
            {"sub": "focal-point", "scope": "requests:read", "countries": countries}
        )
    assert raised.value.status_code == 401
