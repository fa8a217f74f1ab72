"""The service's one settings class: every ``ONCO_*`` environment variable lives here.

The Helm chart's ``values.yaml`` (``config`` section) maps one-to-one onto these fields, and the
README's configuration table lists each of them; a test keeps the three in step.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_SOURCE_MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
_PACKAGED_MAPPINGS = Path(__file__).resolve().parent / "_mappings"


def default_mappings_dir() -> Path:
    """The repository's ``mappings/`` when run from a checkout, else the copy packaged in the wheel."""
    return _SOURCE_MAPPINGS if _SOURCE_MAPPINGS.is_dir() else _PACKAGED_MAPPINGS


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    AUTO = "auto"  # console in development, JSON in production
    CONSOLE = "console"
    JSON = "json"


class AuthMode(StrEnum):
    NONE = "none"
    BEARER = "bearer"


class Settings(BaseSettings):
    """Validated at start-up; an unsafe combination stops the service with a message."""

    model_config = SettingsConfigDict(env_prefix="ONCO_", extra="forbid", frozen=True)

    env: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: LogFormat = LogFormat.AUTO
    database_url: str = "sqlite+aiosqlite:///./var/oncoresponse.db"
    mappings_dir: Path = Field(default_factory=default_mappings_dir)
    canonical_base: str = Field(default="http://oncoresponse.org/fhir", pattern="^https?://")
    auth_mode: AuthMode = AuthMode.NONE
    api_tokens: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    max_bundle_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_entries: int = Field(default=10_000, ge=1)
    strict_validation: bool = False
    output_fhir_version: Literal["4.0", "5.0"] = "4.0"

    @model_validator(mode="before")
    @classmethod
    def _split_tokens(cls, data: object) -> object:
        """``ONCO_API_TOKENS`` is a comma-separated list in the environment."""
        if isinstance(data, dict) and isinstance(data.get("api_tokens"), str):
            data = {**data, "api_tokens": [t.strip() for t in data["api_tokens"].split(",") if t.strip()]}
        return data

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Self:
        if self.auth_mode is AuthMode.NONE and not is_loopback(self.host):
            raise ValueError(
                f"ONCO_AUTH_MODE=none with ONCO_HOST={self.host}: an unauthenticated service may only "
                "listen on a loopback address; set ONCO_AUTH_MODE=bearer and ONCO_API_TOKENS"
            )
        if self.auth_mode is AuthMode.BEARER and not self.api_tokens:
            raise ValueError("ONCO_AUTH_MODE=bearer needs at least one token in ONCO_API_TOKENS")
        if self.env is Environment.PRODUCTION and self.database_url.startswith("sqlite"):
            raise ValueError(
                "ONCO_ENV=production with a SQLite ONCO_DATABASE_URL: "
                "replicas cannot share it; use PostgreSQL"
            )
        return self

    @property
    def json_logs(self) -> bool:
        if self.log_format is LogFormat.AUTO:
            return self.env is Environment.PRODUCTION
        return self.log_format is LogFormat.JSON


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
