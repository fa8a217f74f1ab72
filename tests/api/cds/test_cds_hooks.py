"""CDS Hooks 2.0 over HTTP: discovery, the three hooks with a signed JWT, and feedback (issue 18)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import respx
from fastapi import FastAPI

from service.api.app import create_app
from service.config import Settings
from tests.api.cds.ehr import (
    ISSUER,
    JWKS_URL,
    Ehr,
    example,
    medication_request,
    order_hook,
    patient_view,
    prefetch,
)

VIEW = "oncoresponse-patient-view"
SIGN = "oncoresponse-order-sign"
SELECT = "oncoresponse-order-select"
GEFITINIB, OSIMERTINIB = "328134", "1721560"


@pytest.fixture
def ehr() -> Ehr:
    return Ehr()


@pytest.fixture
async def cds(tmp_path: Path, ehr: Ehr) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'onco.db'}", cds_trusted_issuers={ISSUER: JWKS_URL}
    )
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        with respx.mock(assert_all_called=False) as mock:
            mock.get(JWKS_URL).respond(json=ehr.jwks())
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield client


async def call(
    client: httpx.AsyncClient, ehr: Ehr, service: str, body: dict[str, Any], **kw: Any
) -> httpx.Response:
    return await client.post(f"/cds-services/{service}", json=body, headers=ehr.headers(service, **kw))


async def test_discovery_lists_the_three_hooks_with_their_prefetch(cds: httpx.AsyncClient) -> None:
    """GET /cds-services names patient-view, order-select and order-sign, each with prefetch templates."""
    response = await cds.get("/cds-services")
    services = {s["id"]: s for s in response.json()["services"]}
    assert response.status_code == 200
    assert {s["hook"] for s in services.values()} == {"patient-view", "order-select", "order-sign"}
    assert services[VIEW]["prefetch"]["patient"] == "Patient/{{context.patientId}}"


async def test_t790m_patient_view_is_critical_and_suggests_osimertinib(
    cds: httpx.AsyncClient, ehr: Ehr
) -> None:
    """The T790M case at patient-view: critical, osimertinib suggested, a link to the report page."""
    body = patient_view("p-e2", prefetch(example("seed-t790m-progression")))
    response = await call(cds, ehr, VIEW, body)
    [card] = response.json()["cards"]
    assert response.status_code == 200
    assert card["indicator"] == "critical"
    assert "T790M" in card["summary"] and len(card["summary"]) <= 140
    [suggestion] = card["suggestions"]
    assert "osimertinib" in suggestion["label"]
    assert suggestion["actions"][0]["type"] == "create"
    assert card["links"][0]["url"] == "http://test/view/Patient/p-e2?lang=en"
    assert card["source"]["label"].startswith("oncoresponse ")


@pytest.mark.parametrize("service", [SIGN, SELECT])
async def test_gefitinib_order_with_t790m_warns_and_offers_osimertinib(
    cds: httpx.AsyncClient, ehr: Ehr, service: str
) -> None:
    """order-sign / order-select of gefitinib with T790M: a warning, osimertinib as an update of the draft."""
    order = medication_request("draft-1", "p-e2", GEFITINIB, "gefitinib")
    hook = service.removeprefix("oncoresponse-")
    body = order_hook(hook, "p-e2", [order], prefetch(example("seed-t790m-progression")))
    response = await call(cds, ehr, service, body)
    [card] = response.json()["cards"]
    assert card["indicator"] == "warning"
    assert "gefitinib" in card["summary"] and "T790M" in card["summary"]
    [suggestion] = card["suggestions"]
    [action] = suggestion["actions"]
    assert action["type"] == "update"
    assert action["resource"]["id"] == "draft-1"
    assert action["resource"]["medicationCodeableConcept"]["coding"][0]["code"] == OSIMERTINIB
    assert card["selectionBehavior"] == "at-most-one"


async def test_an_order_with_nothing_to_say_gets_no_card(cds: httpx.AsyncClient, ehr: Ehr) -> None:
    """Ordering the suggested osimertinib in the T790M case: no card (no noise)."""
    order = medication_request("draft-2", "p-e2", OSIMERTINIB, "osimertinib")
    body = order_hook("order-sign", "p-e2", [order], prefetch(example("seed-t790m-progression")))
    response = await call(cds, ehr, SIGN, body)
    assert response.json() == {"cards": []}


async def test_measurement_error_case_is_an_info_card(cds: httpx.AsyncClient, ehr: Ehr) -> None:
    """The slightly-larger seed: an info card saying the change is within measurement error."""
    body = patient_view("p-e1", prefetch(example("seed-slightly-larger")))
    [card] = (await call(cds, ehr, VIEW, body)).json()["cards"]
    assert card["indicator"] == "info"
    assert "within measurement error" in card["summary"]


async def test_cards_in_chinese_use_the_report_texts(cds: httpx.AsyncClient, ehr: Ehr) -> None:
    """Accept-Language zh-CN: the card's words are the zh-CN report texts (奥希替尼 for osimertinib)."""
    body = patient_view("p-e2", prefetch(example("seed-t790m-progression")))
    [card] = (await call(cds, ehr, VIEW, body, language="zh-CN")).json()["cards"]
    assert "奥希替尼" in card["suggestions"][0]["label"]
    assert card["links"][0]["url"].endswith("lang=zh-CN")


async def test_unknown_patient_without_data_gets_no_card(cds: httpx.AsyncClient, ehr: Ehr) -> None:
    """No prefetch, nothing stored, and the EHR's server answers nothing: no card, not an error."""
    body = patient_view("nobody")
    body["fhirServer"] = "http://127.0.0.1:9/fhir"
    with respx.mock(assert_all_called=False) as mock:
        mock.get(JWKS_URL).respond(json=ehr.jwks())
        mock.get(url__startswith="http://127.0.0.1:9/fhir/").respond(404)
        response = await call(cds, ehr, VIEW, body)
    assert response.json() == {"cards": []}


async def test_missing_prefetch_is_fetched_from_fhir_server_with_the_ehr_token(
    cds: httpx.AsyncClient, ehr: Ehr
) -> None:
    """No prefetch: the resources come from fhirServer, with the fhirAuthorization access token."""
    bundle = example("seed-t790m-progression")
    searchset = prefetch(bundle)["observations"]
    body = patient_view("p-e2")
    body["fhirServer"] = "http://127.0.0.1:9/fhir"
    body["fhirAuthorization"] = {"access_token": "ehr-token", "token_type": "Bearer", "expires_in": 300,
                                 "scope": "patient/*.read", "subject": "oncoresponse"}  # fmt: skip
    with respx.mock(assert_all_called=False) as mock:
        mock.get(JWKS_URL).respond(json=ehr.jwks())
        obs = mock.get(url__startswith="http://127.0.0.1:9/fhir/Observation").respond(json=searchset)
        mock.get(url__startswith="http://127.0.0.1:9/fhir/").respond(
            json={"resourceType": "Bundle", "type": "searchset"}
        )
        [card] = (await call(cds, ehr, VIEW, body)).json()["cards"]
    assert card["indicator"] == "critical"
    assert obs.calls.last.request.headers["Authorization"] == "Bearer ehr-token"


async def test_stored_patient_needs_no_prefetch(cds: httpx.AsyncClient, ehr: Ehr) -> None:
    """A patient the service holds: the card comes from the stored data, no prefetch, no fetch."""
    stored = await cds.post("/fhir/Bundle", json=example("seed-t790m-progression"),
                            headers={"Content-Type": "application/fhir+json"})  # fmt: skip
    assert stored.status_code < 300, stored.text
    [card] = (await call(cds, ehr, VIEW, patient_view("p-e2"))).json()["cards"]
    assert card["indicator"] == "critical"


@pytest.mark.parametrize(
    ("case", "overrides"),
    [
        ("unsigned", None),
        ("another key", {"key": "other"}),
        ("wrong audience", {"aud": "http://test/cds-services/elsewhere"}),
        ("untrusted issuer", {"iss": "https://evil.example"}),
        ("jku elsewhere", {"headers": {"jku": "http://127.0.0.1:9/other/jwks.json"}}),
        ("expired", {"exp": 1}),
        ("too long-lived", {"exp": 4_000_000_000}),
    ],
)
async def test_a_request_without_a_valid_jwt_is_a_401(
    cds: httpx.AsyncClient, ehr: Ehr, case: str, overrides: dict[str, Any] | None
) -> None:
    """Unsigned, wrongly signed, for another audience or issuer, a foreign jku, expired: 401."""
    body = patient_view("p-e2", prefetch(example("seed-t790m-progression")))
    if overrides is None:
        response = await cds.post(f"/cds-services/{VIEW}", json=body)
    else:
        if overrides.get("key") == "other":
            overrides = {"key": Ehr().key}
        response = await call(cds, ehr, VIEW, body, **overrides)
    assert response.status_code == 401, case
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("algorithm", ["none", "HS256"])
async def test_an_unsigned_or_symmetric_jwt_is_a_401(cds: httpx.AsyncClient, algorithm: str) -> None:
    """A JWT with alg none (no signature) or HS256 keyed with a guessable secret: 401, whatever its claims."""
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "ehr-client", "aud": f"http://test/cds-services/{VIEW}",
              "exp": now + 120, "iat": now, "jti": str(uuid.uuid4())}  # fmt: skip
    key = None if algorithm == "none" else "ehr-key-1" * 4
    token = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": "ehr-key-1"})
    body = patient_view("p-e2", prefetch(example("seed-t790m-progression")))
    response = await cds.post(
        f"/cds-services/{VIEW}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_a_replayed_jti_is_a_401(cds: httpx.AsyncClient, ehr: Ehr) -> None:
    """The same JWT twice: the second is refused (jti)."""
    body = patient_view("p-e1", prefetch(example("seed-slightly-larger")))
    headers = ehr.headers(VIEW)
    first = await cds.post(f"/cds-services/{VIEW}", json=body, headers=headers)
    second = await cds.post(f"/cds-services/{VIEW}", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (200, 401)


async def test_a_matching_jku_is_accepted(cds: httpx.AsyncClient, ehr: Ehr) -> None:
    """A jku header equal to the configured JWKS URL is fine."""
    body = patient_view("p-e1", prefetch(example("seed-slightly-larger")))
    response = await call(cds, ehr, VIEW, body, headers={"jku": JWKS_URL})
    assert response.status_code == 200


async def feedback_events(database: Path) -> list[dict[str, Any]]:
    """The CDS feedback AuditEvents in the database, as a new app (a restart) finds them."""
    return [e for e in await audit_events(database) if e["type"]["code"] == "feedback"]


async def audit_events(database: Path) -> list[dict[str, Any]]:
    """The EHR client's AuditEvents in the database, as a new app (a restart) finds them."""
    app: FastAPI = create_app(Settings(database_url=f"sqlite+aiosqlite:///{database}"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            found = await client.get("/fhir/AuditEvent", params={"agent": "ehr-client"})
    assert found.status_code == 200, found.text
    return [e["resource"] for e in found.json().get("entry", [])]


async def test_feedback_is_stored_and_counted(cds: httpx.AsyncClient, ehr: Ehr, tmp_path: Path) -> None:
    """POST feedback: 200; /metrics counts it by service and outcome; after a restart the audit trail holds
    it as an AuditEvent naming the EHR client, the service, the card, the outcome, the accepted suggestion."""
    feedback = {"feedback": [{"card": "9368d37b-283f-44a0-93ea-547cebab93ea", "outcome": "accepted",
                              "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
                              "outcomeTimestamp": "2026-05-01T10:00:00Z"}]}  # fmt: skip
    url = f"/cds-services/{VIEW}/feedback"
    response = await cds.post(url, json=feedback, headers=ehr.headers(f"{VIEW}/feedback"))
    metrics = (await cds.get("/metrics")).text
    assert response.status_code == 200
    assert f'onco_cds_feedback_total{{outcome="accepted",service="{VIEW}"}} 1.0' in metrics
    (event,) = await feedback_events(tmp_path / "onco.db")
    assert event["subtype"][0]["code"] == VIEW and event["outcomeDesc"] == "accepted"
    assert event["agent"][0]["who"]["identifier"] == {"system": ISSUER, "value": "ehr-client"}
    (entity,) = event["entity"]
    assert entity["what"]["identifier"]["value"] == "9368d37b-283f-44a0-93ea-547cebab93ea"
    details = {(d["type"], d["valueString"]) for d in entity["detail"]}
    assert ("acceptedSuggestion", "e56e1945-20b3-4393-8503-a1a20fd73152") in details


async def test_each_hook_call_leaves_one_audit_event(
    cds: httpx.AsyncClient, ehr: Ehr, tmp_path: Path
) -> None:
    """The EHR reads a patient's assessment through a hook: one AuditEvent per call, naming the EHR client
    (under its issuer), the service called and the patient, and no clinical value."""
    body = patient_view("p-e2", prefetch(example("seed-t790m-progression")))
    assert (await call(cds, ehr, VIEW, body)).status_code == 200
    (event,) = [e for e in await audit_events(tmp_path / "onco.db") if e["type"]["code"] == "rest"]
    assert event["subtype"][0]["code"] == f"cds-services/{VIEW}"
    assert event["agent"][0]["who"]["identifier"] == {"system": ISSUER, "value": "ehr-client"}
    assert {"reference": "Patient/p-e2"} in [e.get("what") for e in event["entity"]]
    assert "T790M" not in json.dumps(event)


async def test_malformed_feedback_is_a_400_and_stores_nothing(
    cds: httpx.AsyncClient, ehr: Ehr, tmp_path: Path
) -> None:
    """A request whose second item has no outcome is refused as an OperationOutcome; the first is not kept."""
    items = [{"card": "a", "outcome": "overridden"}, {"card": "b"}]
    url = f"/cds-services/{VIEW}/feedback"
    response = await cds.post(url, json={"feedback": items}, headers=ehr.headers(f"{VIEW}/feedback"))
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert await feedback_events(tmp_path / "onco.db") == []


async def test_unknown_service_is_a_404(cds: httpx.AsyncClient, ehr: Ehr) -> None:
    """A service id not in discovery: 404."""
    response = await call(cds, ehr, "nope", patient_view("p-e1"))
    assert response.status_code == 404
