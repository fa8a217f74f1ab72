"""How the service proves who it is to the EHR's FHIR server: nothing, a fixed bearer token, or SMART
Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html), where a JWT signed with the
service's private key is exchanged for a short-lived access token."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import httpx
import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from service.adapters.fhir_client.client import (
    DeliveryError,
    DeliveryResult,
    classify,
    classify_transport_error,
)

log = structlog.get_logger("service.fhir_client")

Algorithm = Literal["RS384", "ES384"]  # the two the SMART spec requires servers to support
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # seconds; SMART: exp "no more than five minutes in the future"
REFRESH_EARLY = 30  # seconds before expires_in runs out, so a token never expires in flight
DEFAULT_EXPIRES_IN = 300  # SMART recommends 300 s; used when a server leaves expires_in out


class Auth(Protocol):
    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        """The headers that authorise one request; may fetch a token with ``http``."""
        ...

    def invalidate(self) -> None:
        """The server refused what ``headers`` gave: fetch anew next time, if that can help."""
        ...


class TokenError(DeliveryError):
    """The token endpoint failed; ``result.retryable`` for a 5xx, 408, 429 or a transport error."""


class NoAuth:
    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        return {}

    def invalidate(self) -> None:
        pass


@dataclass(frozen=True)
class StaticBearer:
    token: str = field(repr=False)  # a secret: kept out of reprs, and so out of logs

    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def invalidate(self) -> None:
        pass  # a fixed token cannot be renewed


class SmartBackendAuth:
    """The client-credentials grant with a signed JWT assertion; the access token is cached until shortly
    before it expires, and one lock makes concurrent callers share one fetch."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        private_key_pem: bytes,
        key_id: str | None,
        algorithm: Algorithm,
        scope: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._key = _signing_key(private_key_pem, algorithm)
        self._key_id = key_id
        self._algorithm = algorithm
        self._scope = scope
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        async with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                self._token, self._expires_at = await self._fetch(http)
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        self._token = None

    def assertion(self) -> str:
        """The signed JWT of the spec's "Protocol details": iss = sub = client_id, aud = the token URL."""
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self._token_url,
            "exp": int(self._clock()) + ASSERTION_LIFETIME,
            "jti": uuid.uuid4().hex,  # unique per assertion: servers reject a replayed jti
        }
        header = {"typ": "JWT"} | ({"kid": self._key_id} if self._key_id else {})
        return jwt.encode(claims, self._key, algorithm=self._algorithm, headers=header)

    async def _fetch(self, http: httpx.AsyncClient) -> tuple[str, float]:
        started = self._clock()
        form = {
            "grant_type": "client_credentials",
            "scope": self._scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
        }
        try:
            response = await http.post(self._token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise TokenError(_token_failure(classify_transport_error(exc))) from exc
        result = classify(response)
        token = (result.body or {}).get("access_token")
        if not result.delivered or not isinstance(token, str):
            raise TokenError(_token_failure(result, missing=result.delivered))
        expires_in = _expires_in(result.body)
        log.info("smart_token_acquired", expires_in=expires_in)
        return token, started + max(expires_in - REFRESH_EARLY, expires_in / 2)


def _token_failure(result: DeliveryResult, *, missing: bool = False) -> DeliveryResult:
    """The failure as the outbox records it: status, retryability and Retry-After of the token endpoint;
    its body (an OAuth error, never an OperationOutcome) is dropped."""
    detail = "no access_token in the response" if missing else result.detail
    return replace(result, delivered=False, outcome=None, body=None, detail=f"token endpoint: {detail}")


def _expires_in(body: dict[str, object] | None) -> float:
    value = (body or {}).get("expires_in", DEFAULT_EXPIRES_IN)
    return float(value) if isinstance(value, int | float) and value > 0 else DEFAULT_EXPIRES_IN


def _signing_key(pem: bytes, algorithm: Algorithm) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """Load the key at start-up, so a wrong key stops the service there, not at the first write-back."""
    key = load_pem_private_key(pem, password=None)
    if algorithm == "RS384" and isinstance(key, rsa.RSAPrivateKey):
        return key
    if algorithm == "ES384" and isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1":
        return key
    raise ValueError(f"the SMART private key does not fit {algorithm} (RS384: RSA; ES384: EC P-384)")


@dataclass(frozen=True)
class AuthConfig:
    """The plain values an ``Auth`` is built from (ONCO_FHIR_TOKEN, ONCO_SMART_*)."""

    token: str | None = field(default=None, repr=False)
    token_url: str | None = None
    client_id: str | None = None
    private_key_path: Path | None = None
    key_id: str | None = None
    algorithm: Algorithm = "RS384"
    scope: str = ""


def _smart_backend(config: AuthConfig) -> SmartBackendAuth:
    return SmartBackendAuth(
        token_url=_required("token_url", config.token_url),
        client_id=_required("client_id", config.client_id),
        private_key_pem=_required("private_key_path", config.private_key_path).read_bytes(),
        key_id=config.key_id,
        algorithm=config.algorithm,
        scope=config.scope,
    )


AUTH_MODES: dict[str, Callable[[AuthConfig], Auth]] = {  # ONCO_FHIR_AUTH
    "none": lambda _: NoAuth(),
    "bearer": lambda config: StaticBearer(_required("token", config.token)),
    "smart-backend": _smart_backend,
}


def auth_from_config(
    mode: str,
    *,
    token: str | None = None,
    token_url: str | None = None,
    client_id: str | None = None,
    private_key_path: str | Path | None = None,
    key_id: str | None = None,
    algorithm: Algorithm = "RS384",
    scope: str = "",
) -> Auth:
    """The Auth that ``mode`` names, from the values it needs; a missing value or an unknown mode is a
    ValueError naming it, raised at start-up."""
    if mode not in AUTH_MODES:
        raise ValueError(f"unknown FHIR auth mode {mode!r}; expected one of {', '.join(AUTH_MODES)}")
    key_path = None if private_key_path is None else Path(private_key_path)
    config = AuthConfig(token, token_url, client_id, key_path, key_id, algorithm, scope)
    return AUTH_MODES[mode](config)


T = TypeVar("T")


def _required(name: str, value: T | None) -> T:
    if value is None or value == "":
        raise ValueError(f"FHIR auth needs {name}")
    return value
