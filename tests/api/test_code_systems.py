"""``GET /fhir/CodeSystem/{id}`` and ``GET /fhir/CodeSystem`` serve the service's own code systems."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

CANON = "http://oncoresponse.org/fhir"


async def test_read_one_code_system(client: httpx.AsyncClient, app: FastAPI) -> None:
    """A known id answers the CodeSystem as FHIR JSON, versioned with the knowledge base."""
    response = await client.get("/fhir/CodeSystem/response-category")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert (body["resourceType"], body["url"]) == ("CodeSystem", f"{CANON}/CodeSystem/response-category")
    assert body["version"] == app.state.container.knowledge.version and body["content"] == "complete"
    assert {"CR", "PR", "SD", "PD", "iUPD", "iCPD"} <= {c["code"] for c in body["concept"]}


async def test_unknown_code_system_is_404(client: httpx.AsyncClient) -> None:
    """An unknown id answers 404 with an OperationOutcome."""
    response = await client.get("/fhir/CodeSystem/no-such-system")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_search_lists_every_code_system(client: httpx.AsyncClient) -> None:
    """The type-level search answers a searchset of every CodeSystem, each readable by its id."""
    response = await client.get("/fhir/CodeSystem")
    bundle = response.json()
    assert (response.status_code, bundle["type"]) == (200, "searchset")
    ids = [e["resource"]["id"] for e in bundle["entry"]]
    assert bundle["total"] == len(ids) >= 11
    assert all(e["fullUrl"] == f"{CANON}/CodeSystem/{i}" for e, i in zip(bundle["entry"], ids, strict=True))
