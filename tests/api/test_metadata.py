"""The CapabilityStatement lists only what is implemented and parses as R4B."""

from __future__ import annotations

import httpx
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from service.api.app import create_app
from service.config import AuthMode, Settings


async def test_metadata_parses_as_r4b_capability_statement(client: httpx.AsyncClient) -> None:
    """GET /fhir/metadata returns a CapabilityStatement that fhir.resources.R4B accepts."""
    response = await client.get("/fhir/metadata")
    assert response.headers["content-type"] == "application/fhir+json"
    statement = CapabilityStatement.model_validate(response.json())
    assert statement.fhirVersion == "4.0.1"
    assert statement.rest[0].mode == "server"


async def test_metadata_lists_what_is_served(client: httpx.AsyncClient) -> None:
    """The statement lists the readable types, transaction/batch and the implemented operations, and a
    type it lists can really be searched."""
    rest = (await client.get("/fhir/metadata")).json()["rest"][0]
    types = [r["type"] for r in rest["resource"]]
    assert "Observation" in types and "Account" not in types
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}
    assert {o["name"] for o in rest["operation"]} == {
        "validate",
        "process-message",
        "evaluate",
        "status",
        "events",
    }
    (subscription,) = [r for r in rest["resource"] if r["type"] == "Subscription"]
    topics = [e["valueCanonical"] for e in subscription["extension"]]
    assert topics == [
        "http://oncoresponse.org/fhir/SubscriptionTopic/response-assessment",
        "http://oncoresponse.org/fhir/SubscriptionTopic/care-plan-suggestion",
    ]
    for topic in topics:  # each listed topic can be read
        assert (await client.get(f"/fhir/SubscriptionTopic/{topic.rsplit('/', 1)[1]}")).status_code == 200
    searchable = [r["type"] for r in rest["resource"] if {"code": "search-type"} in r["interaction"]]
    for resource_type in searchable:
        assert (await client.get(f"/fhir/{resource_type}", params={"_count": 0})).status_code == 200


async def test_metadata_describes_bearer_security(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With bearer auth the statement says so and is open (discovery needs no token, issue 16); the rest of
    /fhir needs the token, refused with a Bearer challenge, while /healthz does not."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'db'}", auth_mode=AuthMode.BEARER, api_tokens=["t0k3n"]
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        statement = await client.get("/fhir/metadata")
        denied = await client.get("/fhir/CodeSystem")
        wrong = await client.get("/fhir/CodeSystem", headers={"authorization": "Bearer nope"})
        allowed = await client.get("/fhir/CodeSystem", headers={"authorization": "Bearer t0k3n"})
        probe = await client.get("/healthz")
    assert statement.status_code == 200 and "security" in statement.json()["rest"][0]
    assert denied.status_code == 401 and denied.json()["issue"][0]["code"] == "login"
    assert denied.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    assert allowed.status_code == 200
    assert probe.status_code == 200
