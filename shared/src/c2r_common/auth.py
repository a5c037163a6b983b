"""Bearer JWT authentication and scope-based authorisation.

Tokens carry `scope` (space separated, as in OAuth 2) and optionally `countries` (ISO
alpha-3 codes): a Member State focal point sees only its own countries, staff tokens
without the claim see all. `admin` grants every scope.
"""

import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from c2r_common.client import TokenProvider
from c2r_common.client_credentials import ClientCredentials, ClientCredentialsConfig
from c2r_common.errors import ProblemError
from c2r_common.settings import ServiceSettings


class Scope(StrEnum):
    ASSESSMENTS_READ = "assessments:read"
    ASSESSMENTS_WRITE = "assessments:write"
    ASSESSMENTS_APPROVE = "assessments:approve"
    CALLS_WRITE = "calls:write"
    REQUESTS_READ = "requests:read"
    REQUESTS_SUBMIT = "requests:submit"
    REQUESTS_REVIEW = "requests:review"
    REQUESTS_APPROVE = "requests:approve"
    SCHOOLS_READ = "schools:read"
    SCHOOLS_WRITE = "schools:write"
    AGENTS_WRITE = "agents:write"
    MEASUREMENTS_WRITE = "measurements:write"
    ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, another service or a school agent's device."""

    subject: str
    scopes: frozenset[str]
    countries: frozenset[str] | None = None  # None: not limited to any country
    kind: str = "user"
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    def has_scope(self, scope: str) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes

    def can_access_country(self, iso3: str) -> bool:
        return self.countries is None or iso3.upper() in self.countries

    def require_country(self, iso3: str) -> None:
        if not self.can_access_country(iso3):
            raise ProblemError(403, f"This token does not give access to country {iso3.upper()}.")


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


# Keys of the identity provider are fetched again at most this often, whatever tokens
# arrive: a stream of tokens naming unknown `kid`s must not become a stream of fetches.
JWKS_REFETCH_SECONDS = 60.0
# Known keys are fetched again after this long, so that a key the provider withdrew stops
# being trusted.
JWKS_LIFESPAN_SECONDS = 300.0
JWKS_TIMEOUT_SECONDS = 5.0
# RFC 7519 NumericDate claims, here required to be plain integers: PyJWT would take "123".
_NUMERIC_DATE_CLAIMS = ("exp", "iat", "nbf")


class JwksKeys:
    """The signing keys of a JWKS URL, by `kid`: fetched on first use, again for an unknown
    `kid` or once they are older than `lifespan_seconds`, but never more often than every
    `refetch_seconds` (a failed fetch counts too, so a down endpoint is not hammered)."""

    def __init__(
        self,
        url: str,
        refetch_seconds: float = JWKS_REFETCH_SECONDS,
        lifespan_seconds: float = JWKS_LIFESPAN_SECONDS,
    ) -> None:
        # The cache is this class. A fetch holds the others back: it must not take long.
        self.client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=JWKS_TIMEOUT_SECONDS)
        self.refetch_seconds = refetch_seconds
        self.lifespan_seconds = lifespan_seconds
        self.keys: dict[str | None, Any] = {}
        self.fetched_at: float | None = None
        self._lock = threading.Lock()

    def key_for(self, token: str) -> Any:
        kid = jwt.get_unverified_header(token).get("kid")
        with self._lock:
            if (kid not in self.keys or self._stale()) and self._may_fetch():
                self._fetch()
            key = self.keys.get(kid)
        if key is None:
            raise _unauthorized("The token is not valid: its key is not the identity provider's.")
        return key

    def _age(self) -> float:
        return float("inf") if self.fetched_at is None else time.monotonic() - self.fetched_at

    def _stale(self) -> bool:
        return self._age() >= self.lifespan_seconds

    def _may_fetch(self) -> bool:
        return self._age() >= self.refetch_seconds

    def _fetch(self) -> None:
        self.fetched_at = time.monotonic()
        self.keys = {key.key_id: key.key for key in self.client.get_signing_keys(refresh=True)}


class TokenVerifier:
    """Verifies JWTs with an HS256 secret or keys from a JWKS URL; checks iss, aud and exp."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.algorithms = settings.jwt_algorithms
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        self.jwks = JwksKeys(settings.jwt_jwks_url) if settings.jwt_jwks_url else None

    def _key(self, token: str) -> Any:
        if self.jwks is not None:
            return self.jwks.key_for(token)
        if self.secret is None:
            raise _unauthorized("No key is configured to verify tokens.")
        return self.secret

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key(token),
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("The token has expired.") from None
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise _unauthorized(f"The token is not valid: {exc}") from None
        _require_integer_dates(claims)
        return principal_from_claims(claims)


def _require_integer_dates(claims: dict[str, Any]) -> None:
    for name in _NUMERIC_DATE_CLAIMS:
        value = claims.get(name)
        if name in claims and (not isinstance(value, int) or isinstance(value, bool)):
            raise _unauthorized(f"The token is not valid: {name} must be an integer.")


def _countries_claim(claims: dict[str, Any]) -> frozenset[str] | None:
    """The `countries` claim: absent means all countries; otherwise a list of alpha-3 codes."""
    if "countries" not in claims:
        return None
    countries = claims["countries"]
    valid = isinstance(countries, list) and all(
        isinstance(code, str) and len(code) == 3 and code.isalpha() for code in countries
    )
    if not valid:
        raise _unauthorized("The countries claim must be a list of ISO alpha-3 codes.")
    return frozenset(code.upper() for code in countries)


def _scope_claim(claims: dict[str, Any]) -> frozenset[str]:
    """OAuth 2 scopes are separated by ASCII spaces (RFC 6749 3.3), nothing else: a scope
    with a non-breaking space in it is one unknown scope, not two known ones."""
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise _unauthorized("The scope claim must be a string.")
    return frozenset(name for name in scope.split(" ") if name)


def _device_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """A device-kind token names its school (and maybe its agent) by UUID, as school-monitor's
    device tokens do; the claims are given the same types as theirs."""
    parsed = dict(claims)
    for name, required in (("school_id", True), ("agent_id", False)):
        if name not in claims and not required:
            continue
        value = claims.get(name)
        try:
            parsed[name] = uuid.UUID(value) if isinstance(value, str) else None
        except ValueError:
            parsed[name] = None
        if parsed[name] is None:
            raise _unauthorized(f"A device token must carry its {name} as a UUID.")
    return parsed


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    kind = str(claims.get("kind", "user"))
    return Principal(
        subject=str(claims["sub"]),
        scopes=_scope_claim(claims),
        countries=_countries_claim(claims),
        kind=kind,
        claims=_device_claims(claims) if kind == "device" else claims,
    )


def mint_token(
    secret: str,
    *,
    subject: str,
    scopes: Iterable[str],
    countries: Iterable[str] | None = None,
    issuer: str = "c2r-embedded",
    audience: str = "c2r-platform",
    ttl_seconds: int = 12 * 3600,
    kind: str = "user",
) -> str:
    """An HS256 token, for the embedded default (`make token`) and service calls."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "scope": " ".join(sorted(set(scopes))),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "kind": kind,
    }
    if countries is not None:
        claims["countries"] = sorted({c.upper() for c in countries})
    return jwt.encode(claims, secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False, description="JWT issued by the identity provider")

# An app may put extra verifiers in front of the JWT one (school-monitor's device tokens):
# each returns a Principal, or None when the token is not of its kind.
ExtraVerifier = Callable[[Request, str], Awaitable[Principal | None]]


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("A bearer token is required.")
    extra_verifiers: list[ExtraVerifier] = getattr(request.app.state, "extra_verifiers", [])
    for verify in extra_verifiers:
        principal = await verify(request, credentials.credentials)
        if principal is not None:
            return principal
    verifier: TokenVerifier = request.app.state.token_verifier
    if verifier.jwks is not None:
        # PyJWKClient fetches (and caches) keys with blocking I/O: keep it off the event loop.
        return await run_in_threadpool(verifier.verify, credentials.credentials)
    return verifier.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

# For endpoints that resolve their caller themselves instead of through Depends: the
# operation still documents the bearer requirement.
BEARER_SECURITY: dict[str, Any] = {"security": [{_bearer.scheme_name: []}]}


async def authenticate(request: Request, *scopes: Scope | str) -> Principal:
    """The caller with every one of `scopes`, outside dependency injection.

    For the few endpoints hit thousands of times a second (agents pushing data): each
    FastAPI dependency costs about as much as a small endpoint's own work.
    """
    principal = await current_principal(request, await _bearer(request))
    return check_scopes(principal, scopes)


def check_scopes(
    principal: Principal, scopes: Iterable[Scope | str], all_countries: bool = False
) -> Principal:
    missing = [scope for scope in scopes if not principal.has_scope(scope)]
    if missing:
        raise ProblemError(403, f"This token lacks the scope(s): {', '.join(missing)}.")
    _require_all_countries(principal, all_countries)
    return principal


def _require_all_countries(principal: Principal, all_countries: bool) -> None:
    # Data shared by every country (methodologies, partners, the outbox) is changed or
    # overseen only by staff tokens, never by a focal point limited to its countries.
    if all_countries and principal.countries is not None:
        raise ProblemError(
            403, "This operation concerns every country; a token limited to countries cannot."
        )


def require_scopes(
    *scopes: Scope | str, all_countries: bool = False
) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the caller through only with every one of `scopes` (and, with
    `all_countries`, only with a token not limited to countries)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        return check_scopes(principal, scopes, all_countries)

    return dependency


def require_any_scope(
    *scopes: Scope | str, all_countries: bool = False
) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the caller through with at least one of `scopes`."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not any(principal.has_scope(scope) for scope in scopes):
            raise ProblemError(403, f"This token needs one of the scopes: {', '.join(scopes)}.")
        _require_all_countries(principal, all_countries)
        return principal

    return dependency


def service_token_provider(
    settings: ServiceSettings,
    *,
    subject: str,
    scopes: Iterable[str],
    static_token: str | None = None,
    ttl_seconds: int = 3600,
) -> TokenProvider:
    """Credentials for calls to another service, the first of:

    - a configured static token (issued by the identity provider, rotated by hand);
    - access tokens from the identity provider's token endpoint (client credentials grant,
      c2r_common.client_credentials): production, where no secret here can sign a token;
    - short-lived tokens minted with the shared HS256 secret, renewed before they expire
      (the embedded default and tests).
    """
    if static_token:
        return lambda: static_token
    scope_list = list(scopes)
    if settings.oauth_token_url and settings.oauth_client_id and settings.oauth_client_secret:
        config = ClientCredentialsConfig(
            token_url=settings.oauth_token_url,
            client_id=settings.oauth_client_id,
            client_secret=settings.oauth_client_secret.get_secret_value(),
            scopes=tuple(scope_list),
            audience=settings.jwt_audience,
            timeout_seconds=settings.http_timeout_seconds,
        )
        return ClientCredentials(config)
    if settings.jwt_secret is None:
        raise ValueError(
            "a service token, client credentials or a JWT secret is needed to call other services"
        )
    secret = settings.jwt_secret.get_secret_value()
    cached: dict[str, Any] = {"token": None, "renew_at": 0.0}

    def provide() -> str:
        if cached["token"] is None or time.time() >= cached["renew_at"]:
            cached["token"] = mint_token(
                secret,
                subject=subject,
                scopes=scope_list,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=ttl_seconds,
                kind="service",
            )
            cached["renew_at"] = time.time() + ttl_seconds / 2
        return str(cached["token"])

    return provide
