"""A body over ONCO_MAX_BUNDLE_BYTES is answered with the 413 OperationOutcome, also for a client that sends
the whole body before it reads (Python's http.client, as urllib, Java and .NET do): the service reads and
discards the rest, bounded, rather than resetting the connection (issue 20)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_subscriptions_e2e import Service, running

LIMIT = 10_000
BODY = b'{"resourceType":"Bundle","type":"batch","entry":[' + b" " * 4_000_000 + b"]}"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    folder: Path = tmp_path_factory.mktemp("limit")
    server = Service(f"sqlite:///{folder / 'onco.db'}", folder / "service.log")
    server.env |= {"ONCO_MAX_BUNDLE_BYTES": str(LIMIT), "ONCO_DELIVERY_WORKER": "false"}
    with running(server):
        yield server


def _post(service: Service, body: bytes | Iterator[bytes], chunked: bool) -> tuple[int, dict[str, object]]:
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/fhir",
            body=body,
            headers={"content-type": "application/fhir+json"},
            encode_chunked=chunked,
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_declared_length_over_the_limit_is_a_413_not_a_reset(service: Service) -> None:
    """Content-Length over the limit: the whole body is sent first, and the 413 still arrives."""
    status, body = _post(service, BODY, chunked=False)
    assert status == 413
    assert body["resourceType"] == "OperationOutcome"
    assert "ONCO_MAX_BUNDLE_BYTES" in body["issue"][0]["diagnostics"]


def test_a_chunked_body_over_the_limit_is_a_413_not_a_reset(service: Service) -> None:
    """No Content-Length: the limit is found while streaming, and the rest is discarded."""
    chunks = iter([BODY[i : i + 65536] for i in range(0, len(BODY), 65536)])
    status, body = _post(service, chunks, chunked=True)
    assert status == 413
    assert body["issue"][0]["code"] == "too-costly"
