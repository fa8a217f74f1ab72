"""The service's one settings class: every ``ONCO_*`` environment variable lives here.

The Helm chart's ``values.yaml`` (``config`` section) maps one-to-one onto these fields, and the
README's configuration table lists each of them; a test keeps the three in step.
"""

from __future__ import annotations

import ipaddress
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_SOURCE_MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
_PACKAGED_MAPPINGS = Path(__file__).resolve().parent / "_mappings"
# 1 s doubling to the 15-minute cap, then every 15 minutes: attempt 106 falls just after 24 hours.
DEFAULT_MAX_ATTEMPTS = 106


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
    BEARER = "bearer"  # static tokens (ONCO_API_TOKENS), for development: each acts as system/*.cruds
    SMART = "smart"  # OAuth 2.0 JWT access tokens with SMART scopes from the hospital's authorization server


class FhirAuth(StrEnum):
    """How the service authenticates to the EHR's FHIR server it writes back to."""

    NONE = "none"
    BEARER = "bearer"
    SMART_BACKEND = "smart-backend"  # SMART Backend Services: client credentials with a signed JWT


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
    # ONCO_AUTH_MODE=smart (issue 16): the authorization server whose JWT access tokens are accepted.
    auth_issuer: str | None = Field(default=None, pattern="^https?://")
    auth_jwks_url: str | None = Field(default=None, pattern="^https?://")
    auth_audience: str | None = None  # the service's public FHIR base URL, as the tokens' ``aud`` names it
    auth_token_url: str | None = Field(default=None, pattern="^https?://")  # for SMART discovery
    auth_authorize_url: str | None = Field(default=None, pattern="^https?://")  # for SMART discovery
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300)  # clock skew allowed on exp, nbf and iat
    # Per-client writes per minute (429 with Retry-After beyond); 0: no limit.
    rate_limit_writes_per_minute: int = Field(default=600, ge=0)
    body_read_timeout_seconds: float = Field(default=30.0, gt=0)  # a body slower than this gets a 408
    max_bundle_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_entries: int = Field(default=10_000, ge=1)
    # Search (issue 15): absolute links and fullUrls are built on this base, never on the Host header.
    public_base_url: str = Field(default="http://localhost:8080/fhir", pattern="^https?://")
    search_max_count: int = Field(default=1000, ge=1)  # the largest _count; more is a 400
    search_scan_limit: int = Field(default=10_000, ge=1)  # most resources a code/status/date search checks
    strict_validation: bool = False
    output_fhir_version: Literal["4.0", "5.0"] = "4.0"
    # Write-back to the EHR's FHIR server (issue 7); none configured means nothing is written back.
    fhir_base_url: str | None = Field(default=None, pattern="^https?://")
    fhir_auth: FhirAuth = FhirAuth.NONE
    fhir_token: SecretStr | None = None
    fhir_timeout_seconds: float = Field(default=10.0, gt=0)
    smart_token_url: str | None = Field(default=None, pattern="^https?://")
    smart_client_id: str | None = None
    smart_private_key: Path | None = None
    smart_key_id: str | None = None
    smart_algorithm: Literal["RS384", "ES384"] = "RS384"
    smart_scope: str = "system/DiagnosticReport.cu system/Observation.c system/CarePlan.c system/Provenance.c"
    # Fetch a new patient's earlier history from ONCO_FHIR_BASE_URL, once, before its first evaluation.
    fetch_history: bool = False
    # Issue 17: a posted Bundle that changes more patients than this is answered once its data and their
    # evaluation requests are committed; the evaluation workers (any replica's, or `oncoresponse worker`) make
    # the reports. None: every report is made inside the request's transaction.
    inline_report_patients: int | None = Field(default=None, ge=0)
    # How long a worker's claim on a batch of evaluation requests holds: a dead worker's batch waits this long
    # before another takes it, so keep it longer than a batch (100 patients) takes to evaluate and store.
    evaluation_lease_seconds: float = Field(default=120.0, gt=0)
    # The durable outbox's worker (subscriptions and write-back): the default schedule retries for 24 hours.
    # Off, this process runs neither it nor the evaluation worker: run `oncoresponse worker` beside it.
    delivery_worker: bool = True
    delivery_max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1)
    delivery_backoff_seconds: float = Field(default=1.0, gt=0)
    delivery_backoff_max_seconds: float = Field(default=900.0, gt=0)
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    # Where Subscription notifications may go: http(s) URL prefixes (scheme, host and port must match, the
    # path must start with the prefix's). Empty: any http(s) endpoint, so restrict egress another way.
    subscription_endpoints: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # CDS Hooks (issue 18): the EHRs whose signed JWTs are accepted, ``ISSUER=JWKS_URL`` pairs.
    cds_trusted_issuers: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _split_lists(cls, data: object) -> object:
        """``ONCO_API_TOKENS`` and ``ONCO_SUBSCRIPTION_ENDPOINTS`` are comma-separated in the environment, or
        a JSON array (as the Helm chart writes a list)."""
        if not isinstance(data, dict):
            return data
        for key in ("api_tokens", "subscription_endpoints"):
            value = data.get(key)
            if isinstance(value, str):
                items = json.loads(value) if value.lstrip().startswith("[") else value.split(",")
                data = {**data, key: [str(t).strip() for t in items if str(t).strip()]}
        return data

    @model_validator(mode="before")
    @classmethod
    def _split_issuers(cls, data: object) -> object:
        """``ONCO_CDS_TRUSTED_ISSUERS``: ``https://ehr.example=https://ehr.example/jwks,...``; the issuer is
        everything before the first ``=`` of a pair, so a JWKS URL may hold ``=`` in its query."""
        if not isinstance(data, dict) or not isinstance(value := data.get("cds_trusted_issuers"), str):
            return data
        pairs = [item.strip().split("=", 1) for item in value.split(",") if item.strip()]
        if any(len(pair) != 2 or not pair[0].strip() for pair in pairs):
            raise ValueError("ONCO_CDS_TRUSTED_ISSUERS: each item must be ISSUER=JWKS_URL")
        return {**data, "cds_trusted_issuers": {iss.strip(): url.strip() for iss, url in pairs}}

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Self:
        if self.auth_mode is AuthMode.NONE and not is_loopback(self.host):
            raise ValueError(
                f"ONCO_AUTH_MODE=none with ONCO_HOST={self.host}: an unauthenticated service may only "
                "listen on a loopback address; set ONCO_AUTH_MODE=smart (or bearer)"
            )
        self._refuse_unsafe_smart()
        if self.auth_mode is AuthMode.BEARER and not self.api_tokens:
            raise ValueError("ONCO_AUTH_MODE=bearer needs at least one token in ONCO_API_TOKENS")
        if self.env is Environment.PRODUCTION and self.database_url.startswith("sqlite"):
            raise ValueError(
                "ONCO_ENV=production with a SQLite ONCO_DATABASE_URL: "
                "replicas cannot share it; use PostgreSQL"
            )
        if self.fetch_history and self.fhir_base_url is None:
            raise ValueError("ONCO_FETCH_HISTORY=true needs ONCO_FHIR_BASE_URL, the server to fetch from")
        for prefix in self.subscription_endpoints:
            parts = urlsplit(prefix)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"ONCO_SUBSCRIPTION_ENDPOINTS: '{prefix}' is not an http(s) URL with a host")
        for jwks_url in self.cds_trusted_issuers.values():
            if urlsplit(jwks_url).scheme not in ("http", "https"):
                raise ValueError("ONCO_CDS_TRUSTED_ISSUERS: each JWKS_URL must be an http(s) URL")
        if self.fhir_auth is FhirAuth.BEARER and self.fhir_token is None:
            raise ValueError("ONCO_FHIR_AUTH=bearer needs ONCO_FHIR_TOKEN")
        if self.fhir_auth is FhirAuth.SMART_BACKEND and None in (
            self.smart_token_url,
            self.smart_client_id,
            self.smart_private_key,
        ):
            raise ValueError(
                "ONCO_FHIR_AUTH=smart-backend needs ONCO_SMART_TOKEN_URL, ONCO_SMART_CLIENT_ID "
                "and ONCO_SMART_PRIVATE_KEY"
            )
        return self

    def _refuse_unsafe_smart(self) -> None:
        if self.auth_mode is not AuthMode.SMART:
            return
        if None in (self.auth_issuer, self.auth_jwks_url, self.auth_audience):
            raise ValueError(
                "ONCO_AUTH_MODE=smart needs ONCO_AUTH_ISSUER, ONCO_AUTH_JWKS_URL and ONCO_AUTH_AUDIENCE "
                "(the service's public FHIR base URL)"
            )
        jwks_url = str(self.auth_jwks_url)
        if not jwks_url.startswith("https://") and not is_loopback(urlsplit(jwks_url).hostname or ""):
            raise ValueError("ONCO_AUTH_JWKS_URL must be https:// unless it is on a loopback address")

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
