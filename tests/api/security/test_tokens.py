"""Access tokens from the hospital's authorization server (issue 16): signed with a real key, checked against
the JWKS the test serves on loopback. Each kind of bad token is refused with its status and challenge."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.api.security.conftest import KeyServer, bearer

pytestmark = pytest.mark.usefixtures("smart_app")


async def test_a_valid_token_passes(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """RS384 and ES256 tokens from the issuer, for this audience, with the scope, are let through."""
    for token in (keys.token(), keys.token(key=keys.ec, kid="ec-1", algorithm="ES256")):
        assert (await api.get("/fhir/Observation", headers=bearer(token))).status_code == 200


def _now() -> int:
    return int(time.time())


# Times are offsets from when the test runs (a time taken at collection would drift over a long suite).
@pytest.mark.parametrize(
    ("claims", "error_text"),
    [
        ({"exp": -120}, "expired"),
        ({"nbf": +120}, "not yet valid"),
        ({"iss": "https://evil.test"}, "iss"),
        ({"aud": "https://other.test/fhir"}, "aud"),
        ({"exp": None}, "claims"),
    ],
)
async def test_bad_claims_are_401_invalid_token(
    api: httpx.AsyncClient, keys: KeyServer, claims: dict[str, object], error_text: str
) -> None:
    """Expired, not yet valid (beyond the leeway), another issuer, another audience, no exp: 401."""
    timed = {k: _now() + v if k in ("exp", "nbf") and isinstance(v, int) else v for k, v in claims.items()}
    answer = await api.get("/fhir/Observation", headers=bearer(keys.token(**timed)))
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert error_text in answer.json()["issue"][0]["diagnostics"]


async def test_small_clock_skew_is_within_the_leeway(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """A token that expired 10 s ago is still accepted (30 s leeway)."""
    answer = await api.get("/fhir/Observation", headers=bearer(keys.token(exp=_now() - 10)))
    assert answer.status_code == 200


def _forged_tokens(keys: KeyServer) -> dict[str, str]:
    good = keys.token()
    header, payload, signature = good.split(".")
    other = jwt.encode({"iss": "x"}, keys.rsa, algorithm="RS384").split(".")[1]
    public_pem = keys.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unsigned = jwt.api_jws.PyJWS(algorithms=["none"])
    return {
        "unknown kid": keys.token(kid="nobody"),
        "alg none": unsigned.encode(payload=jwt.utils.base64url_decode(payload), key="", algorithm="none",
                                    headers={"kid": "rsa-1"}),
        "HS256 with the public key": _hs256(public_pem, payload),
        "tampered payload": f"{header}.{other}.{signature}",
        "another key, same kid": keys.token(key=stranger),
        "not a JWT": "abc.def",
    }  # fmt: skip


def _hs256(secret: bytes, payload: str) -> str:
    import base64
    import hashlib
    import hmac
    import json

    head = base64.urlsafe_b64encode(
        json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode()
    ).rstrip(b"=")
    signing_input = head + b"." + payload.encode()
    mac = base64.urlsafe_b64encode(hmac.new(secret, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return (signing_input + b"." + mac).decode()


async def test_forged_tokens_are_401(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """Unknown kid, alg none, HS256 keyed with the public key, a tampered payload, a stranger's key: 401."""
    for name, token in _forged_tokens(keys).items():
        answer = await api.get("/fhir/Observation", headers=bearer(token))
        assert answer.status_code == 401, name
        assert 'error="invalid_token"' in answer.headers["www-authenticate"], name


async def test_no_token_is_401_with_a_bare_challenge(api: httpx.AsyncClient) -> None:
    """No credentials: 401 and ``WWW-Authenticate: Bearer`` without an error code (RFC 6750 section 3.1)."""
    answer = await api.get("/fhir/Observation")
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == 'Bearer realm="oncoresponse"'


async def test_a_missing_scope_is_403_insufficient_scope(api: httpx.AsyncClient, keys: KeyServer) -> None:
    """A valid token without the scope the interaction needs: 403 with ``error="insufficient_scope"``."""
    answer = await api.get("/fhir/Observation", headers=bearer(keys.token("system/DiagnosticReport.rs")))
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert answer.json()["issue"][0]["code"] == "forbidden"


async def test_the_jwks_is_fetched_again_on_key_rotation(
    api: httpx.AsyncClient, keys: KeyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token with a new kid makes the service fetch the JWKS again and accept it; the cache is reused."""
    assert (await api.get("/fhir/Observation", headers=bearer(keys.token()))).status_code == 200
    assert (await api.get("/fhir/Observation", headers=bearer(keys.token()))).status_code == 200
    assert keys.fetches == 1
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys.keys = [keys.jwk(rotated, "rsa-2")]
    monkeypatch.setattr("service.api.jwt_tokens._MIN_REFRESH_SECONDS", 0.0)
    answer = await api.get("/fhir/Observation", headers=bearer(keys.token(key=rotated, kid="rsa-2")))
    assert answer.status_code == 200 and keys.fetches == 2
    old = await api.get("/fhir/Observation", headers=bearer(keys.token()))
    assert old.status_code == 401  # the retired key is gone from the set
