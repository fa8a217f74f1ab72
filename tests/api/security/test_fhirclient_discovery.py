"""The Python SMART client (fhirclient) runs its discovery against the service with auth on (issue 16):
it reads the open CapabilityStatement over real HTTP on loopback and finds the OAuth endpoints in it; with an
access token it reads its patient's data, and only that."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn
from fhirclient import client, server
from fhirclient.models.patient import Patient

from service.api.app import create_app
from service.bootstrap import build
from tests.api.security.conftest import FHIR, KeyServer, bearer, patient_data, smart_settings
from tests.app.fake_normaliser import fake_normaliser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_fhirclient_prepares_against_the_service(tmp_path: Path, keys: KeyServer) -> None:
    """fhirclient's prepare() reads the statement without a token and learns the authorize and token
    endpoints; it answers False because the client has no access token yet (an open server would be True)."""
    settings = smart_settings(tmp_path, keys)
    app = create_app(settings, build(settings, normaliser=fake_normaliser))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        smart = client.FHIRClient(
            settings={"app_id": "onco-test", "api_base": f"http://127.0.0.1:{port}/fhir"}
        )
        assert smart.prepare() is False
        assert smart.server.capabilityStatement.rest[0].security.service[0].coding[0].code == "SMART-on-FHIR"
        assert smart.server.auth.auth_type == "oauth2"
        assert smart.server.auth._authorize_uri == "https://auth.hospital.test/authorize"
        assert smart.server.auth._token_uri == "https://auth.hospital.test/token"
        assert smart.authorize_url.startswith("https://auth.hospital.test/authorize?")
        _read_with_a_token(smart, keys, port)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def _read_with_a_token(smart: client.FHIRClient, keys: KeyServer, port: int) -> None:
    """With the access token the authorization server issued, fhirclient reads its patient; another
    patient's resource is a 404 to it, and without the token it is refused (401)."""
    for patient in ("p1", "p2"):
        body = orjson.dumps(patient_data(patient, f"o-{patient}"))
        headers = {**FHIR, **bearer(keys.token())}
        assert httpx.post(f"http://127.0.0.1:{port}/fhir", content=body, headers=headers).status_code == 200
    with pytest.raises(server.FHIRUnauthorizedException):
        Patient.read("p1", smart.server)
    smart.server.auth.access_token = keys.token("patient/Patient.rs", patient="p1")
    assert Patient.read("p1", smart.server).id == "p1"
    with pytest.raises(server.FHIRNotFoundException):
        Patient.read("p2", smart.server)
