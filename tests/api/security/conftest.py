"""A real authorization server's keys for the security tests: RSA and EC signing keys, their JWKS served by
the test on loopback (rotatable, fetches counted), tokens signed with PyJWT, and the app in smart mode."""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI

from service.api.app import create_app
from service.bootstrap import build
from service.config import AuthMode, Settings
from tests.app.fake_normaliser import fake_normaliser

ISSUER = "https://auth.hospital.test"
AUDIENCE = "https://onco.hospital.test/fhir"
FHIR = {"content-type": "application/fhir+json"}


class KeyServer:
    """The issuer's JWKS on 127.0.0.1; ``keys`` can be replaced to rotate them."""

    def __init__(self) -> None:
        self.rsa, self.ec = _signing_keys()
        self.keys = [self.jwk(self.rsa, "rsa-1"), self.jwk(self.ec, "ec-1")]
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                server.fetches += 1
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks"

    @staticmethod
    def jwk(private_key: Any, kid: str) -> dict[str, Any]:
        algorithm = (
            jwt.algorithms.RSAAlgorithm
            if isinstance(private_key, rsa.RSAPrivateKey)
            else jwt.algorithms.ECAlgorithm
        )
        data: dict[str, Any] = json.loads(algorithm.to_jwk(private_key.public_key()))
        return {**data, "kid": kid, "use": "sig"}

    def token(self, scope: str = "system/*.cruds", *, key: Any = None, kid: str = "rsa-1",
              algorithm: str = "RS384", **claims: Any) -> str:  # fmt: skip
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now, "nbf": now - 5,
                   "client_id": "ehr-client", "sub": "ehr-client", "scope": scope, **claims}  # fmt: skip
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.rsa, algorithm=algorithm, headers={"kid": kid})


@functools.cache
def _signing_keys() -> tuple[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]:
    """The issuer's RSA and EC keys, made once per run (an RSA key takes a while); a test that rotates keys
    makes its own new one."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return rsa_key, ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def keys() -> Iterator[KeyServer]:
    server = KeyServer()
    # A short poll, so shutdown() at teardown returns at once (the default waits up to half a second).
    thread = threading.Thread(target=server.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def smart_settings(tmp_path: Path, keys: KeyServer, **overrides: Any) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'onco.db'}",
        auth_mode=AuthMode.SMART,
        auth_issuer=ISSUER,
        auth_jwks_url=keys.url,
        auth_audience=AUDIENCE,
        auth_token_url=f"{ISSUER}/token",
        auth_authorize_url=f"{ISSUER}/authorize",
        delivery_worker=False,
        **overrides,
    )


@pytest.fixture
async def smart_app(tmp_path: Path, keys: KeyServer) -> AsyncIterator[FastAPI]:
    settings = smart_settings(tmp_path, keys)
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(smart_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=smart_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def patient_data(patient: str, observation: str, *, given: str = "Ada") -> dict[str, Any]:
    """A transaction that PUTs a named Patient and one Observation of theirs (a value the audit must not
    hold)."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": {"resourceType": "Patient", "id": patient,
                          "name": [{"family": "Lovelace", "given": [given]}]},
             "request": {"method": "PUT", "url": f"Patient/{patient}"}},
            {"resource": {"resourceType": "Observation", "id": observation, "status": "final",
                          "code": {"text": "CEA"}, "subject": {"reference": f"Patient/{patient}"},
                          "valueQuantity": {"value": 987.654, "unit": "mm"}},
             "request": {"method": "PUT", "url": f"Observation/{observation}"}},
        ],
    }  # fmt: skip
