"""ServiceSettings: the production secret rules and load_settings' error message."""

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from c2r_common.auth import service_token_provider
from c2r_common.settings import (
    DEVELOPMENT_JWT_SECRET,
    Environment,
    ServiceSettings,
    SettingsError,
    load_settings,
)

REAL_SECRET = "k3J9-vQ2x-8mZt-Lr4P-w7Yc-Nb6H-sD1f-Ge5A"  # 39 characters, no placeholder


class XSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="C2R_X_", extra="ignore", frozen=True)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "JWT_SECRET", "JWT_JWKS_URL", "MAX_BODY_BYTES", "HTTP_RETRIES"):
        monkeypatch.delenv(f"C2R_X_{name}", raising=False)


def test_development_accepts_the_embedded_secret() -> None:
    settings = XSettings()
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET


def test_test_environment_accepts_a_short_secret() -> None:
    settings = XSettings(environment=Environment.TEST, jwt_secret=SecretStr("short"))
    assert settings.environment is Environment.TEST


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="jwt_secret"):
        XSettings(environment=Environment.PRODUCTION)


@pytest.mark.parametrize("secret", ["short-secret", "changeme", "", "x" * 31])
def test_production_refuses_a_short_or_placeholder_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="jwt_secret"):
        XSettings(environment=Environment.PRODUCTION, jwt_secret=SecretStr(secret))


def test_production_refuses_a_missing_secret() -> None:
    with pytest.raises(ValidationError, match="jwt_secret"):
        XSettings(environment=Environment.PRODUCTION, jwt_secret=None)


def test_production_accepts_a_real_secret() -> None:
    settings = XSettings(environment=Environment.PRODUCTION, jwt_secret=SecretStr(REAL_SECRET))
    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == REAL_SECRET


def test_production_accepts_a_missing_secret_with_a_jwks_url() -> None:
    settings = XSettings(
        environment=Environment.PRODUCTION,
        jwt_secret=None,
        jwt_jwks_url="https://idp.example.org/.well-known/jwks.json",
    )
    assert settings.jwt_jwks_url == "https://idp.example.org/.well-known/jwks.json"


def test_load_settings_reads_the_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C2R_X_HTTP_RETRIES", "5")
    monkeypatch.setenv("C2R_X_MAX_BODY_BYTES", "2048")
    settings = load_settings(XSettings)
    assert isinstance(settings, XSettings)
    assert settings.http_retries == 5
    assert settings.max_body_bytes == 2048


def test_load_settings_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C2R_X_MAX_BODY_BYTES", "0")
    with pytest.raises(SettingsError) as raised:
        load_settings(XSettings)
    assert isinstance(raised.value, SystemExit)
    message = str(raised.value.code)
    assert "Invalid configuration for XSettings" in message
    assert "C2R_X_MAX_BODY_BYTES" in message


def test_load_settings_reports_every_invalid_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C2R_X_MAX_BODY_BYTES", "-1")
    monkeypatch.setenv("C2R_X_HTTP_RETRIES", "99")
    with pytest.raises(SettingsError) as raised:
        load_settings(XSettings)
    message = str(raised.value.code)
    assert "C2R_X_MAX_BODY_BYTES" in message
    assert "C2R_X_HTTP_RETRIES" in message


def test_load_settings_refuses_production_with_the_development_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("C2R_X_ENVIRONMENT", "production")
    with pytest.raises(SettingsError) as raised:
        load_settings(XSettings)
    message = str(raised.value.code)
    assert "C2R_X_" in message
    assert "jwt_secret" in message
    assert DEVELOPMENT_JWT_SECRET not in message


def test_load_settings_accepts_production_with_a_real_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("C2R_X_ENVIRONMENT", "production")
    monkeypatch.setenv("C2R_X_JWT_SECRET", REAL_SECRET)
    settings = load_settings(XSettings)
    assert settings.environment is Environment.PRODUCTION


def test_production_with_jwks_has_no_secret_to_mint_peer_tokens_with() -> None:
    settings = ServiceSettings(
        environment=Environment.PRODUCTION, jwt_jwks_url="https://idp.example/jwks.json"
    )
    assert settings.jwt_secret is None
    with pytest.raises(ValueError, match="a service token, client credentials or a JWT secret"):
        service_token_provider(settings, subject="request-intake", scopes=["assessments:write"])


def test_development_falls_back_to_the_well_known_secret() -> None:
    settings = ServiceSettings(environment=Environment.DEVELOPMENT)
    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET
