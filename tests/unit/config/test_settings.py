"""The settings class refuses unsafe combinations and reads ONCO_* variables."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.config import AuthMode, Environment, Settings, is_loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "oncoresponse.internal"])
def test_auth_none_on_non_loopback_host_is_refused(host: str) -> None:
    """No auth is only allowed when the service listens on loopback."""
    with pytest.raises(ValidationError, match="unauthenticated service may only listen on a loopback"):
        Settings(host=host, auth_mode=AuthMode.NONE)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.9.9.9"])
def test_auth_none_on_loopback_is_allowed(host: str) -> None:
    """Loopback hosts may run without auth (a developer's machine)."""
    assert Settings(host=host).auth_mode is AuthMode.NONE


def test_bearer_without_tokens_is_refused() -> None:
    """Bearer auth with no token configured would lock everyone out: refused."""
    with pytest.raises(ValidationError, match="needs at least one token"):
        Settings(host="0.0.0.0", auth_mode=AuthMode.BEARER)


def test_production_with_sqlite_is_refused() -> None:
    """Replicas cannot share a SQLite file, so production needs PostgreSQL."""
    with pytest.raises(ValidationError, match="use PostgreSQL"):
        Settings(env=Environment.PRODUCTION)


def test_environment_variables_and_comma_separated_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """ONCO_* variables are read; ONCO_API_TOKENS is a comma-separated list kept secret."""
    monkeypatch.setenv("ONCO_HOST", "0.0.0.0")
    monkeypatch.setenv("ONCO_AUTH_MODE", "bearer")
    monkeypatch.setenv("ONCO_API_TOKENS", "alpha, beta,")
    monkeypatch.setenv("ONCO_PORT", "9090")
    settings = Settings()
    assert [t.get_secret_value() for t in settings.api_tokens] == ["alpha", "beta"]
    assert settings.port == 9090
    assert "alpha" not in repr(settings)


def test_unknown_setting_is_refused() -> None:
    """A misspelt setting is an error, not silently ignored."""
    with pytest.raises(ValidationError):
        Settings(hots="127.0.0.1")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("fmt", "env", "json_logs"),
    [("auto", "development", False), ("json", "development", True), ("console", "development", False)],
)
def test_log_format(fmt: str, env: str, json_logs: bool) -> None:
    """Console logs in development, JSON in production, unless ONCO_LOG_FORMAT says otherwise."""
    assert Settings(log_format=fmt, env=env).json_logs is json_logs  # type: ignore[arg-type]


def test_production_logs_json_by_default() -> None:
    """In production, auto means JSON."""
    prod = Settings(env=Environment.PRODUCTION, database_url="postgresql://db/x")
    assert prod.json_logs is True


def test_is_loopback_rejects_names_other_than_localhost() -> None:
    """Only literal loopback addresses and 'localhost' count; other names might resolve anywhere."""
    assert is_loopback("localhost") and not is_loopback("my-host")
