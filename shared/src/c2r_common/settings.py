"""Settings base shared by every service.

Each service subclasses :class:`ServiceSettings` with its own environment prefix
(``C2R_ASSESSMENT_``, ``C2R_INTAKE_``, ``C2R_SCHOOLS_``) and its own defaults.
"""

from enum import StrEnum
from typing import Any, Self, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The embedded default signs and verifies tokens with this well-known secret so that
# `make run` + `make token` work out of the box. It is refused outside development.
DEVELOPMENT_JWT_SECRET = "c2r-embedded-development-secret-not-for-production"
_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", DEVELOPMENT_JWT_SECRET}
_MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="C2R_", extra="ignore", frozen=True)

    environment: Environment = Field(
        Environment.DEVELOPMENT, description="development, test or production"
    )
    database_url: str = Field(
        "sqlite+aiosqlite:///./data/service.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    jwt_secret: SecretStr | None = Field(
        None,
        description="HS256 secret shared with the token issuer (development and test default "
        "to a well-known one)",
    )
    jwt_jwks_url: str | None = Field(
        None, description="JWKS URL for RS256/ES256 tokens (production identity provider)"
    )
    jwt_algorithms: list[str] = Field(["HS256"], description="accepted JWT algorithms")
    jwt_issuer: str = Field("c2r-embedded", description="expected `iss` claim")
    jwt_audience: str = Field("c2r-platform", description="expected `aud` claim")
    max_body_bytes: int = Field(1_048_576, gt=0, description="largest request body accepted")
    log_level: str = Field("INFO", description="log level of the JSON logs")
    http_timeout_seconds: float = Field(5.0, gt=0, description="timeout of calls to other services")
    http_retries: int = Field(2, ge=0, le=10, description="retries of idempotent calls")
    idempotency_retention_hours: float = Field(
        168.0,
        gt=0,
        description="how long an Idempotency-Key is remembered; a retry after that creates anew",
    )
    oauth_token_url: str | None = Field(
        None,
        description="the identity provider's OAuth 2.0 token endpoint: calls to other services "
        "carry access tokens this service gets there (client credentials grant)",
    )
    oauth_client_id: str | None = Field(None, description="this service's client id there")
    oauth_client_secret: SecretStr | None = Field(
        None, description="this service's client secret there"
    )
    idempotency_prune_seconds: float = Field(
        600.0, ge=0, description="pause between prunings of expired idempotency keys (0: never)"
    )

    @model_validator(mode="before")
    @classmethod
    def _development_secret(cls, data: Any) -> Any:
        # Only outside production does a missing secret fall back to the well-known one, so
        # a production service never signs peer tokens with it by accident.
        if not isinstance(data, dict) or data.get("jwt_secret") is not None:
            return data
        if str(data.get("environment", Environment.DEVELOPMENT)) == Environment.PRODUCTION:
            return data
        return {**data, "jwt_secret": DEVELOPMENT_JWT_SECRET}

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Self:
        if self.environment is not Environment.PRODUCTION:
            return self
        if self.jwt_jwks_url:
            return self
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if secret in _PLACEHOLDER_SECRETS or len(secret) < _MIN_SECRET_LENGTH:
            raise ValueError(
                "jwt_secret is missing, a placeholder or shorter than "
                f"{_MIN_SECRET_LENGTH} characters; set a real secret or jwt_jwks_url in production"
            )
        return self

    @model_validator(mode="after")
    def _complete_client_credentials(self) -> Self:
        given = [self.oauth_token_url, self.oauth_client_id, self.oauth_client_secret]
        if any(given) and not all(given):
            raise ValueError(
                "oauth_token_url, oauth_client_id and oauth_client_secret go together: "
                "set all three to call other services with the provider's tokens, or none"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


class SettingsError(SystemExit):
    """Raised at start-up when the environment does not give valid settings."""


def load_settings(settings_class: type[SettingsT]) -> SettingsT:
    """Build settings from the environment, turning validation errors into one clear message."""
    try:
        return settings_class()
    except ValidationError as exc:
        prefix = settings_class.model_config.get("env_prefix", "")
        lines = [f"Invalid configuration for {settings_class.__name__}:"]
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "settings"
            env_name = f"{prefix}{field}".upper() if error["loc"] else prefix + "*"
            lines.append(f"  {env_name}: {error['msg']}")
        raise SettingsError("\n".join(lines)) from None
