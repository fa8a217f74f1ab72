"""The guard on inbound JSON and the Bundle invariants (issue 20, issue 21): hostile or inconsistent input is
a 400 OperationOutcome naming the element, never a 500, and never stored differently from how it was sent."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from service.adapters.fhir_in.guard import MAX_DEPTH

FHIR = {"content-type": "application/fhir+json"}


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"a": 1}
    for _ in range(depth):
        node = {"a": node}
    return node


def _bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def _patient_entry(url: str, resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"resource": resource, "request": {"method": "PUT", "url": url}}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


async def _post(
    client: httpx.AsyncClient, body: bytes | dict[str, Any], path: str = "/fhir"
) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return await client.post(path, content=content, headers=FHIR)


def _issue(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("depth", [MAX_DEPTH, 500, 900, 1500])
async def test_deep_nesting_is_a_400_naming_the_element(client: httpx.AsyncClient, depth: int) -> None:
    """An unknown element nested hundreds of levels deep is refused before any walk (it was a 500)."""
    patient = {"resourceType": "Patient", "id": "deep", "x": _nested(depth)}
    raw = b'{"resourceType":"Bundle","type":"transaction","entry":[{"resource":' + _dumps_deep(patient)
    response = await _post(client, raw + b',"request":{"method":"PUT","url":"Patient/deep"}}]}')
    assert response.status_code == 400
    issue = _issue(response)
    assert issue["expression"][0].startswith("Bundle.entry[0].resource.x.a.a")
    assert str(MAX_DEPTH) in issue["diagnostics"]


def _dumps_deep(node: dict[str, Any]) -> bytes:
    """orjson serialises only 255 levels: write the nesting by hand."""
    depth, inner = 0, node["x"]
    while isinstance(inner, dict) and "a" in inner and isinstance(inner["a"], dict):
        depth, inner = depth + 1, inner["a"]
    return b'{"resourceType":"Patient","id":"deep","x":' + b'{"a":' * (depth + 1) + b"1" + b"}" * (depth + 2)


async def test_nesting_within_the_limit_is_read(client: httpx.AsyncClient) -> None:
    """Deep but legal nesting (an extension in an extension) is accepted."""
    patient = {"resourceType": "Patient", "id": "shallow", "x": _nested(20)}
    response = await _post(client, _bundle("transaction", _patient_entry("Patient/shallow", patient)))
    assert response.status_code == 200


async def test_duplicate_keys_are_a_400(client: httpx.AsyncClient) -> None:
    """'"type":"batch", ..., "type":"transaction"' is refused, not read as its last value."""
    raw = b'{"resourceType":"Bundle","type":"batch","entry":[],"type":"transaction"}'
    response = await _post(client, raw)
    assert response.status_code == 400
    issue = _issue(response)
    assert issue["expression"] == ["Bundle.type"]
    assert "repeats the key 'type'" in issue["diagnostics"]


async def test_a_string_holding_a_key_like_text_is_not_a_duplicate(client: httpx.AsyncClient) -> None:
    """The cheap key count over-counts '\\":' inside a string; the token scan clears it."""
    patient = {"resourceType": "Patient", "id": "quoted", "name": [{"text": 'a": "b'}]}
    response = await _post(client, _bundle("transaction", _patient_entry("Patient/quoted", patient)))
    assert response.status_code == 200


async def test_duplicate_full_urls_are_a_400_naming_both_entries(client: httpx.AsyncClient) -> None:
    """bdl-7: two different resources under one fullUrl make references ambiguous."""
    url = "urn:uuid:4a6b6b1e-1f8e-4d36-9a57-1c0a6f1b2c3d"
    first = {
        "fullUrl": url,
        "resource": {"resourceType": "Patient"},
        "request": {"method": "POST", "url": "Patient"},
    }
    second = {"fullUrl": url, "resource": {"resourceType": "Patient", "gender": "male"}}
    second["request"] = {"method": "POST", "url": "Patient"}
    response = await _post(client, _bundle("transaction", first, second))
    assert response.status_code == 400
    body = response.json()
    expressions = [issue["expression"][0] for issue in body["issue"]]
    assert expressions == ["Bundle.entry[0].fullUrl", "Bundle.entry[1].fullUrl"]


async def test_full_urls_may_repeat_with_different_versions(client: httpx.AsyncClient) -> None:
    """bdl-7 allows one fullUrl for different meta.versionId (two versions of one resource)."""
    url = "http://example.org/fhir/Patient/45"
    entries = [
        {"fullUrl": url, "resource": {"resourceType": "Patient", "id": "45", "meta": {"versionId": v}}}
        for v in ("1", "2")
    ]
    response = await _post(client, _bundle("collection", *entries), "/fhir/Bundle")
    assert response.status_code == 200


async def test_put_whose_body_id_differs_is_a_400(client: httpx.AsyncClient) -> None:
    """FHIR http.html#update: PUT Patient/put-a with a body id put-b is refused, nothing stored."""
    entry = _patient_entry("Patient/put-a", {"resourceType": "Patient", "id": "put-b"})
    response = await _post(client, _bundle("transaction", entry))
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["Bundle.entry[0].resource.id"]
    assert (await client.get("/fhir/Patient/put-a")).status_code == 404


async def test_post_to_another_type_is_a_400(client: httpx.AsyncClient) -> None:
    """A POST entry's url names the type it creates."""
    entry = {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Observation"}}
    response = await _post(client, _bundle("transaction", entry))
    assert response.status_code == 400
    assert _issue(response)["expression"] == ["Bundle.entry[0].request.url"]


async def test_an_id_that_is_not_a_fhir_id_fails_its_entry(client: httpx.AsyncClient) -> None:
    """A collection keeps the sender's ids: one that is not a FHIR id fails, it is not replaced."""
    entries = [
        {"resource": {"resourceType": "Patient", "id": "../x"}},
        {"resource": {"resourceType": "Patient", "id": "ok"}},
    ]
    response = await _post(client, _bundle("collection", *entries), "/fhir/Bundle")
    assert response.status_code == 200
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0].startswith("400") and statuses[1].startswith("201")


@pytest.mark.parametrize("value", ["2026-02-30", "", "2025-13-01", "2024-02-29T25:00:00Z", "yesterday"])
async def test_impossible_dates_are_refused_where_the_service_does_not_read_them(
    client: httpx.AsyncClient, value: str
) -> None:
    """ImagingStudy.started is stored as sent, so it must be a real date (issue 21)."""
    study = {"resourceType": "ImagingStudy", "id": "st", "status": "available", "started": value}
    study["subject"] = {"reference": "Patient/p"}
    response = await _post(client, _bundle("collection", {"resource": study}), "/fhir/Bundle")
    entry = response.json()["entry"][0]["response"]
    assert entry["status"].startswith("400")
    assert entry["outcome"]["issue"][0]["expression"] == ["Bundle.entry[0].resource.started"]


async def test_real_dates_and_integer_starts_are_accepted(client: httpx.AsyncClient) -> None:
    """A leap day, a dateTime with a zone and MolecularSequence's integer start pass."""
    patient = {"resourceType": "Patient", "id": "leap", "birthDate": "2024-02-29"}
    sequence = {"resourceType": "MolecularSequence", "id": "seq", "coordinateSystem": 0}
    sequence["variant"] = [{"start": 10, "end": 11}]
    entries = [{"resource": patient}, {"resource": sequence}]
    response = await _post(client, _bundle("collection", *entries), "/fhir/Bundle")
    assert [e["response"]["status"][:3] for e in response.json()["entry"]] == ["201", "201"]


async def test_a_trailing_slash_is_served_not_redirected(client: httpx.AsyncClient) -> None:
    """POST /fhir/ is POST /fhir: no 307 to a URL built from the Host header (followed without the body by
    many clients, and pointing wherever the header says)."""
    batch = orjson.dumps({"resourceType": "Bundle", "type": "batch", "entry": []})
    answer = await client.post("/fhir/", content=batch, headers={**FHIR, "host": "elsewhere.example"})
    assert answer.status_code == 200 and "location" not in answer.headers
    assert answer.json()["type"] == "batch-response"
    assert (await client.get("/fhir/metadata/")).json()["resourceType"] == "CapabilityStatement"
