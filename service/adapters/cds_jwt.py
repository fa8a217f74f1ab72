"""The CDS Hooks security model (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients): every hook request
carries ``Authorization: Bearer <JWT>`` signed by the EHR (RS384 or ES384). The service trusts the
issuers of ``ONCO_CDS_TRUSTED_ISSUERS`` only, verifies the signature with a key of that issuer's JWK set
(fetched from the configured URL; a ``jku`` header is followed only when it is that very URL), and checks
``iss``, ``aud`` (the hook's own URL), ``exp`` (at most five minutes ahead, as the spec asks), ``iat`` and
``jti`` (never twice).

The seen ``jti`` values are kept in this process until their token expires: with several replicas a replay
to another replica within those minutes is not caught (a shared store would be needed for that).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from service.errors import Unauthorized

ALGORITHMS = ("RS384", "ES384")  # CDS Hooks 2.0: the JWT is signed with one of these
MAX_LIFETIME_SECONDS = 300  # "exp ... no more than 5 minutes in the future"
LEEWAY_SECONDS = 30
JWKS_TTL_SECONDS = 300


@dataclass
class CdsTokenVerifier:
    issuers: Mapping[str, str]  # issuer → JWKS URL
    http: httpx.AsyncClient
    clock: Callable[[], float] = time.time
    _keys: dict[str, tuple[float, list[dict[str, Any]]]] = field(default_factory=dict)
    _seen: dict[str, float] = field(default_factory=dict)

    async def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The verified claims; raises :class:`Unauthorized` (401) naming what failed, never the token."""
        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
            issuer = str(jwt.decode(token, options={"verify_signature": False}).get("iss", ""))
        except jwt.PyJWTError:
            raise Unauthorized("The CDS Hooks JWT cannot be read") from None
        jwks_url = self._jwks_url(issuer, header)
        key = await self._key(jwks_url, header)
        claims = self._decode(token, key, header, issuer, audience)
        self._remember(str(claims["jti"]), float(claims["exp"]))
        return claims

    def _jwks_url(self, issuer: str, header: dict[str, Any]) -> str:
        url = self.issuers.get(issuer)
        if url is None:
            raise Unauthorized("The CDS Hooks JWT's issuer is not trusted (ONCO_CDS_TRUSTED_ISSUERS)")
        if header.get("alg") not in ALGORITHMS:
            raise Unauthorized("The CDS Hooks JWT must be signed with RS384 or ES384")
        if "jku" in header and header["jku"] != url:
            raise Unauthorized("The CDS Hooks JWT's jku is not the JWK set configured for its issuer")
        return url

    async def _key(self, url: str, header: dict[str, Any]) -> Any:
        kid = header.get("kid")
        for refresh in (False, True):  # an unknown kid may be a rotated key: fetch the set once more
            keys = [k for k in await self._jwks(url, refresh) if kid is None or k.get("kid") == kid]
            if len(keys) == 1:
                try:
                    return jwt.PyJWK(keys[0], header["alg"]).key
                except jwt.PyJWTError:
                    raise Unauthorized("The issuer's JWK for this JWT is not usable") from None
        raise Unauthorized("No key of the issuer's JWK set matches the CDS Hooks JWT's kid")

    async def _jwks(self, url: str, refresh: bool) -> list[dict[str, Any]]:
        cached = self._keys.get(url)
        if cached and not refresh and cached[0] > self.clock():
            return cached[1]
        try:
            response = await self.http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            keys = [k for k in response.json().get("keys", []) if isinstance(k, dict)]
        except (httpx.HTTPError, ValueError, AttributeError):
            raise Unauthorized("The issuer's JWK set could not be fetched") from None
        self._keys[url] = (self.clock() + JWKS_TTL_SECONDS, keys)
        return keys

    def _decode(
        self, token: str, key: Any, header: dict[str, Any], issuer: str, audience: str
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[header["alg"]],
                audience=audience,
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"The CDS Hooks JWT is not valid: {exc}") from None
        if float(claims["exp"]) > self.clock() + MAX_LIFETIME_SECONDS + LEEWAY_SECONDS:
            raise Unauthorized("The CDS Hooks JWT expires more than five minutes from now")
        if str(claims["jti"]) in self._seen:
            raise Unauthorized("The CDS Hooks JWT's jti was already used")
        return claims

    def _remember(self, jti: str, expires: float) -> None:
        now = self.clock()
        for old in [j for j, until in self._seen.items() if until + LEEWAY_SECONDS < now]:
            del self._seen[old]
        self._seen[jti] = expires


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A CDS Hooks request needs Authorization: Bearer <JWT> from a trusted EHR")
    return token.strip()
