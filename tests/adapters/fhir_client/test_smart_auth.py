"""SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html): the
client-credentials grant with a JWT assertion signed RS384 or ES384, the access token cached until shortly
before it expires, one fetch for concurrent callers, a fresh token after a 401, and typed token endpoint
failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from structlog.testing import capture_logs

from service.adapters.fhir_client import (
    FhirServerClient,
    NoAuth,
    SmartBackendAuth,
    StaticBearer,
    TokenError,
    auth_from_config,
)

TOKEN_URL = "https://auth.example.org/token"
BASE = "https://ehr.example.org/fhir"
CLIENT_ID = "oncoresponse-client"
SCOPE = "system/DiagnosticReport.cu system/Observation.c"
START = 1_750_000_000.0
BUNDLE: dict[str, Any] = {"resourceType": "Bundle", "type": "transaction", "entry": []}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KEYS: dict[str, Callable[[], PrivateKey]] = {
    "RS384": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
}


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def token(value: str, expires_in: int = 300) -> httpx.Response:
    return httpx.Response(200, json={"access_token": value, "token_type": "bearer", "expires_in": expires_in})


def form_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode(), strict_parsing=True).items()}


@pytest.fixture(scope="module")
def rsa_key() -> PrivateKey:
    return KEYS["RS384"]()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def smart(rsa_key: PrivateKey, clock: FakeClock) -> SmartBackendAuth:
    return SmartBackendAuth(TOKEN_URL, CLIENT_ID, pem(rsa_key), "key-1", "RS384", SCOPE, clock=clock)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0) as client:
        yield client


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
async def test_token_is_requested_with_a_correctly_signed_assertion(
    algorithm: str, clock: FakeClock, http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """client_credentials with a jwt-bearer assertion that verifies with the public key: iss = sub =
    client_id, aud = the token URL, exp at most five minutes ahead, a jti, and kid and typ in the header."""
    key = KEYS[algorithm]()
    auth = SmartBackendAuth(TOKEN_URL, CLIENT_ID, pem(key), "key-1", algorithm, SCOPE, clock=clock)  # type: ignore[arg-type]
    route = respx_mock.post(TOKEN_URL).mock(return_value=token("t1"))
    assert await auth.headers(http) == {"Authorization": "Bearer t1"}
    form = form_of(route.calls.last.request)
    assert {k: v for k, v in form.items() if k != "client_assertion"} == {
        "grant_type": "client_credentials",
        "scope": SCOPE,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }
    assertion = form["client_assertion"]
    assert jwt.get_unverified_header(assertion) == {"alg": algorithm, "typ": "JWT", "kid": "key-1"}
    claims = jwt.decode(
        assertion,
        key.public_key(),
        algorithms=[algorithm],
        audience=TOKEN_URL,
        issuer=CLIENT_ID,
        options={"require": ["iss", "sub", "aud", "exp", "jti"], "verify_exp": False},
    )
    assert claims["sub"] == CLIENT_ID
    assert START < claims["exp"] <= START + 300
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16


def test_every_assertion_has_its_own_jti(smart: SmartBackendAuth) -> None:
    """Servers refuse a replayed jti, so each assertion needs a new one."""
    jtis = {jwt.decode(smart.assertion(), options={"verify_signature": False})["jti"] for _ in range(5)}
    assert len(jtis) == 5


def test_an_assertion_without_key_id_has_no_kid(rsa_key: PrivateKey, clock: FakeClock) -> None:
    auth = SmartBackendAuth(TOKEN_URL, CLIENT_ID, pem(rsa_key), None, "RS384", SCOPE, clock=clock)
    assert jwt.get_unverified_header(auth.assertion()) == {"alg": "RS384", "typ": "JWT"}


async def test_the_token_is_cached_while_it_is_valid(
    smart: SmartBackendAuth, clock: FakeClock, http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """A second call, even four minutes later, makes no token request."""
    route = respx_mock.post(TOKEN_URL).mock(side_effect=[token("t1"), token("t2")])
    await smart.headers(http)
    clock.now += 240
    assert await smart.headers(http) == {"Authorization": "Bearer t1"}
    assert route.call_count == 1


async def test_the_token_is_refreshed_shortly_before_it_expires(
    smart: SmartBackendAuth, clock: FakeClock, http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """30 seconds before expires_in runs out, the next call fetches a new token."""
    route = respx_mock.post(TOKEN_URL).mock(side_effect=[token("t1"), token("t2")])
    await smart.headers(http)
    clock.now += 270
    assert await smart.headers(http) == {"Authorization": "Bearer t2"}
    assert route.call_count == 2


async def test_a_short_lived_token_is_used_for_half_its_life(
    smart: SmartBackendAuth, clock: FakeClock, http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """A token shorter than the 30 s margin is not refetched on every call."""
    route = respx_mock.post(TOKEN_URL).mock(side_effect=[token("t1", 20), token("t2", 20)])
    await smart.headers(http)
    clock.now += 9
    assert await smart.headers(http) == {"Authorization": "Bearer t1"}
    clock.now += 1
    assert await smart.headers(http) == {"Authorization": "Bearer t2"}
    assert route.call_count == 2


async def test_concurrent_callers_share_one_token_request(smart: SmartBackendAuth) -> None:
    """While one fetch is in flight the others wait for it (the token endpoint is slow here)."""
    requests: list[httpx.Request] = []

    async def slow_token_endpoint(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        await asyncio.sleep(0.05)
        return token(f"t{len(requests)}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow_token_endpoint)) as http:
        results = await asyncio.gather(*(smart.headers(http) for _ in range(5)))
    assert len(requests) == 1
    assert results == [{"Authorization": "Bearer t1"}] * 5


async def test_a_401_invalidates_the_token_and_retries_once_with_a_new_one(
    smart: SmartBackendAuth, http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """An expired or revoked token: a new one is fetched and the transaction sent again, once."""
    tokens = respx_mock.post(TOKEN_URL).mock(side_effect=[token("t1"), token("t2")])
    server = respx_mock.post(BASE).mock(
        side_effect=[httpx.Response(401), httpx.Response(200, json={"resourceType": "Bundle"})]
    )
    result = await FhirServerClient(BASE, smart, http).transaction(BUNDLE)
    assert result.delivered and result.status == 200
    assert tokens.call_count == 2
    assert [c.request.headers["Authorization"] for c in server.calls] == ["Bearer t1", "Bearer t2"]


async def test_a_second_401_is_not_retried_again(
    smart: SmartBackendAuth, http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """Refused with a fresh token too: a permanent failure after two requests, not a loop."""
    respx_mock.post(TOKEN_URL).mock(side_effect=[token("t1"), token("t2")])
    server = respx_mock.post(BASE).respond(401)
    result = await FhirServerClient(BASE, smart, http).transaction(BUNDLE)
    assert (server.call_count, result.status, result.retryable) == (2, 401, False)


async def test_token_endpoint_400_raises_a_permanent_token_error(
    smart: SmartBackendAuth, http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """invalid_client will not fix itself: TokenError, not retryable, the OAuth body not recorded."""
    respx_mock.post(TOKEN_URL).respond(400, json={"error": "invalid_client"})
    with pytest.raises(TokenError) as raised:
        await smart.headers(http)
    result = raised.value.result
    assert (result.delivered, result.status, result.retryable) == (False, 400, False)
    assert (result.detail, result.outcome, result.body) == ("token endpoint: HTTP 400", None, None)


@pytest.mark.parametrize(
    ("response", "retryable"),
    [
        (httpx.Response(503, headers={"Retry-After": "20"}), True),
        (httpx.Response(429), True),
        (httpx.Response(401), False),
        (httpx.Response(200, json={"token_type": "bearer"}), False),
        (httpx.ConnectTimeout("connect timed out"), True),
    ],
    ids=["503", "429", "401", "no-access-token", "timeout"],
)
async def test_token_endpoint_failures_say_whether_to_retry(
    smart: SmartBackendAuth,
    http: httpx.AsyncClient,
    respx_mock: respx.MockRouter,
    response: httpx.Response | Exception,
    retryable: bool,
) -> None:
    """Retryable for a 5xx, 429 or no response; permanent for a refusal or a response without a token."""
    respx_mock.post(TOKEN_URL).mock(side_effect=[response])
    with pytest.raises(TokenError) as raised:
        await smart.headers(http)
    assert raised.value.result.retryable is retryable
    assert raised.value.result.detail.startswith("token endpoint: ")


async def test_a_token_failure_comes_back_from_transaction_as_its_result(
    smart: SmartBackendAuth, http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    """The outbox records one kind of thing; nothing is sent to the FHIR server without a token."""
    respx_mock.post(TOKEN_URL).respond(503, headers={"Retry-After": "20"})
    server = respx_mock.post(BASE).respond(200)
    result = await FhirServerClient(BASE, smart, http).transaction(BUNDLE)
    assert (result.delivered, result.retryable, result.retry_after) == (False, True, 20.0)
    assert result.detail == "token endpoint: HTTP 503"
    assert server.call_count == 0


async def test_token_logs_carry_no_token_and_no_assertion(
    smart: SmartBackendAuth, http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(TOKEN_URL).mock(return_value=token("t1"))
    with capture_logs() as logs:
        await smart.headers(http)
    assert logs == [{"event": "smart_token_acquired", "expires_in": 300.0, "log_level": "info"}]


@pytest.mark.parametrize(("algorithm", "key_kind"), [("ES384", "RS384"), ("RS384", "ES384")])
def test_a_key_that_does_not_fit_the_algorithm_is_refused_at_start_up(algorithm: str, key_kind: str) -> None:
    with pytest.raises(ValueError, match=algorithm):
        SmartBackendAuth(TOKEN_URL, CLIENT_ID, pem(KEYS[key_kind]()), None, algorithm, SCOPE)  # type: ignore[arg-type]


def test_an_ec_key_on_another_curve_is_refused_for_es384() -> None:
    """ES384 is ECDSA on P-384; a P-256 key would sign ES256."""
    with pytest.raises(ValueError, match="P-384"):
        SmartBackendAuth(
            TOKEN_URL, CLIENT_ID, pem(ec.generate_private_key(ec.SECP256R1())), None, "ES384", SCOPE
        )


# --- auth_from_config ---------------------------------------------------------------------------------


def test_auth_from_config_builds_each_mode(rsa_key: PrivateKey, tmp_path: Path) -> None:
    key_file = tmp_path / "smart.pem"
    key_file.write_bytes(pem(rsa_key))
    assert isinstance(auth_from_config("none"), NoAuth)
    assert auth_from_config("bearer", token="abc") == StaticBearer("abc")
    smart = auth_from_config(
        "smart-backend",
        token_url=TOKEN_URL,
        client_id=CLIENT_ID,
        private_key_path=key_file,
        key_id="k",
        algorithm="RS384",
        scope=SCOPE,
    )
    assert isinstance(smart, SmartBackendAuth)


@pytest.mark.parametrize(
    ("mode", "values", "message"),
    [
        ("bearer", {}, "needs token"),
        ("smart-backend", {"client_id": CLIENT_ID, "private_key_path": "k.pem"}, "needs token_url"),
        ("smart-backend", {"token_url": TOKEN_URL, "private_key_path": "k.pem"}, "needs client_id"),
        ("smart-backend", {"token_url": TOKEN_URL, "client_id": CLIENT_ID}, "needs private_key_path"),
        ("basic", {}, "unknown FHIR auth mode 'basic'"),
    ],
)
def test_auth_from_config_names_what_is_missing(mode: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        auth_from_config(mode, **values)


def test_a_static_token_stays_out_of_reprs() -> None:
    """A repr may end up in a log or a traceback."""
    assert "abc" not in repr(StaticBearer("abc"))
    assert "abc" not in repr(auth_from_config("bearer", token="abc"))
