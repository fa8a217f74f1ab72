"""Every error is an OperationOutcome with application/fhir+json and the right status."""

from __future__ import annotations

import random
import uuid

import httpx
import pytest
import structlog
from fastapi import FastAPI

from service.api.fhir_json import FHIR_JSON
from service.api.middleware import uuid4_hex


def assert_outcome(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == FHIR_JSON
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    assert body["issue"][0]["severity"] == "error"
    return body


async def test_unknown_route_is_404_outcome(client: httpx.AsyncClient) -> None:
    """A route that does not exist answers 404 not-found."""
    assert_outcome(await client.get("/fhir/NoSuchThing/here/too"), 404, "not-found")


async def test_wrong_method_is_405_outcome(client: httpx.AsyncClient) -> None:
    """DELETE on the CapabilityStatement answers 405 not-supported."""
    assert_outcome(await client.delete("/fhir/metadata"), 405, "not-supported")


async def test_non_json_body_is_400_outcome(client: httpx.AsyncClient) -> None:
    """A body that is not JSON answers 400 invalid."""
    response = await client.post(
        "/fhir/$validate", content=b"<Patient/>", headers={"content-type": FHIR_JSON}
    )
    assert_outcome(response, 400, "invalid")


async def test_json_that_is_not_a_resource_is_400(client: httpx.AsyncClient) -> None:
    """A JSON array, or an object without resourceType, is not a FHIR resource."""
    for body in (b"[1, 2]", b'{"id": "x"}'):
        response = await client.post("/fhir/$validate", content=body, headers={"content-type": FHIR_JSON})
        assert_outcome(response, 400, "invalid")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/fhir+json; fhirVersion=3.0", ""],
)
async def test_wrong_media_type_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    """XML, plain text, no Content-Type or an unsupported fhirVersion answer 415."""
    response = await client.post("/fhir/$validate", content=b"{}", headers={"content-type": content_type})
    assert_outcome(response, 415, "not-supported")


async def test_body_over_the_limit_is_413(client: httpx.AsyncClient, app: FastAPI) -> None:
    """A body larger than ONCO_MAX_BUNDLE_BYTES answers 413 before it is read."""
    limit = app.state.container.settings.max_bundle_bytes
    body = b'{"resourceType": "Bundle", "x": "' + b"a" * limit + b'"}'
    response = await client.post("/fhir/$validate", content=body, headers={"content-type": FHIR_JSON})
    assert_outcome(response, 413, "too-costly")


async def test_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Without a Content-Length the limit is enforced while the body streams in."""
    limit = app.state.container.settings.max_bundle_bytes

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536

    response = await client.post("/fhir/$validate", content=chunks(), headers={"content-type": FHIR_JSON})
    assert_outcome(response, 413, "too-costly")


async def test_internal_error_is_500_without_internals(client: httpx.AsyncClient, app: FastAPI) -> None:
    """An unhandled exception answers 500 naming the request id, logs the trace, and leaks nothing."""

    async def explode() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/boom", explode)
    with structlog.testing.capture_logs() as logs:
        response = await client.get("/boom", headers={"x-request-id": "req-123"})
    body = assert_outcome(response, 500, "exception")
    assert "secret" not in response.text
    assert "req-123" in str(body)
    assert response.headers["x-request-id"] == "req-123"
    failure = next(e for e in logs if e["event"] == "unhandled_exception")
    assert failure["log_level"] == "error" and failure["exc_info"] is True


async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    """A request id with characters outside [A-Za-z0-9._-] is not echoed; a fresh one is made."""
    response = await client.get("/healthz", headers={"x-request-id": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32
    assert uuid.UUID(hex=response.headers["x-request-id"]).version == 4


async def test_the_first_safe_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    """Of several X-Request-ID headers, the first safe one is echoed."""
    headers = [("x-request-id", "bad id"), ("x-request-id", "first-safe"), ("x-request-id", "second")]
    response = await client.get("/healthz", headers=headers)
    assert response.headers["x-request-id"] == "first-safe"


def test_new_request_ids_are_uuid4_hex() -> None:
    """A new request id is what uuid.uuid4().hex makes of the same 16 random bytes."""
    rng = random.Random(19)  # noqa: S311 -- test inputs, not secrets
    samples = [bytes(16), b"\xff" * 16] + [rng.randbytes(16) for _ in range(5000)]
    assert all(uuid4_hex(b) == uuid.UUID(bytes=b, version=4).hex for b in samples)


@pytest.mark.parametrize("query", [{"_count": "many"}, {"_count": "-1"}, {"_count": "5000"}])
async def test_bad_search_parameter_is_400(client: httpx.AsyncClient, query: dict[str, str]) -> None:
    """A search parameter of the wrong type or out of range answers 400 with the parameter as expression."""
    response = await client.get("/fhir/Observation", params=query)
    body = assert_outcome(response, 400, "invalid")
    assert body["issue"][0]["expression"] == ["_count"]  # type: ignore[index]
