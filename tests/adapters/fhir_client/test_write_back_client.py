"""The FHIR server client and the delivery classification (issue 7): a transaction is delivered, retryable
(408, 409, 429, 5xx, no response; Retry-After kept) or permanent (other 4xx, OperationOutcome kept); searches
follow their pages. All HTTP through respx."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from service.adapters.fhir_client import (
    DeliveryResult,
    FhirServerClient,
    NoAuth,
    SearchError,
    StaticBearer,
    classify,
    classify_transport_error,
)

BASE = "https://ehr.example.org/fhir"
BUNDLE: dict[str, Any] = {"resourceType": "Bundle", "type": "transaction", "entry": []}
RESPONSE_BUNDLE = {
    "resourceType": "Bundle",
    "type": "transaction-response",
    "entry": [{"response": {"status": "201 Created", "location": "DiagnosticReport/77/_history/1"}}],
}
OUTCOME = {
    "resourceType": "OperationOutcome",
    "issue": [{"severity": "error", "code": "invalid", "diagnostics": "DiagnosticReport.code: required"}],
}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2.0) as client:
        yield client


@pytest.fixture
def fhir(http: httpx.AsyncClient) -> FhirServerClient:
    return FhirServerClient(BASE, StaticBearer("secret-token"), http)


async def test_transaction_success_parses_the_transaction_response(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    """A 200 is delivered; the transaction-response Bundle is the result's body."""
    route = respx_mock.post(BASE).respond(200, json=RESPONSE_BUNDLE)
    result = await fhir.transaction(BUNDLE)
    assert result == DeliveryResult(True, 200, False, None, "HTTP 200", body=RESPONSE_BUNDLE)
    assert route.call_count == 1


async def test_a_200_with_a_failed_entry_is_not_delivered(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    """A server that applies a transaction entry by entry answers 200 with a failure inside: that is not a
    delivery (permanent for a 400, retryable when every failure is), and the detail names only positions."""
    failed = {"response": {"status": "400 Bad Request", "outcome": OUTCOME}}
    busy = {"response": {"status": "503"}}
    body = {**RESPONSE_BUNDLE, "entry": [*RESPONSE_BUNDLE["entry"], failed]}
    respx_mock.post(BASE).respond(200, json=body)
    result = await fhir.transaction(BUNDLE)
    assert (result.delivered, result.retryable, result.detail) == (
        False,
        False,
        "HTTP 200; entries failed: 1 (400)",
    )
    respx_mock.post(BASE).respond(200, json={**RESPONSE_BUNDLE, "entry": [busy]})
    assert (await fhir.transaction(BUNDLE)).retryable


async def test_transaction_posts_fhir_json_to_the_base_with_the_bearer_token(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    """POST [base] with Content-Type and Accept application/fhir+json and the Authorization header."""
    route = respx_mock.post(BASE).respond(200, json=RESPONSE_BUNDLE)
    await fhir.transaction(BUNDLE)
    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/fhir+json"
    assert request.headers["Accept"] == "application/fhir+json"
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert json.loads(request.content) == BUNDLE


async def test_no_auth_sends_no_authorization_header(
    http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(BASE).respond(200, json=RESPONSE_BUNDLE)
    await FhirServerClient(f"{BASE}/", NoAuth(), http).transaction(BUNDLE)
    assert "Authorization" not in route.calls.last.request.headers


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
async def test_timeouts_conflicts_rate_limits_and_server_errors_are_retryable(
    fhir: FhirServerClient, respx_mock: respx.MockRouter, status: int
) -> None:
    respx_mock.post(BASE).respond(status)
    result = await fhir.transaction(BUNDLE)
    assert (result.delivered, result.status, result.retryable, result.detail) == (
        False,
        status,
        True,
        f"HTTP {status}",
    )


@pytest.mark.parametrize("status", [400, 403, 404, 405, 412, 422])
async def test_other_client_errors_are_permanent(
    fhir: FhirServerClient, respx_mock: respx.MockRouter, status: int
) -> None:
    """The same Bundle would be refused the same way again."""
    respx_mock.post(BASE).respond(status)
    result = await fhir.transaction(BUNDLE)
    assert (result.delivered, result.status, result.retryable) == (False, status, False)


async def test_503_with_retry_after_seconds_is_retryable_after_that_long(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(BASE).respond(503, headers={"Retry-After": "7"})
    result = await fhir.transaction(BUNDLE)
    assert (result.retryable, result.retry_after) == (True, 7.0)


async def test_429_with_retry_after_http_date_waits_until_that_date(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    """An HTTP-date Retry-After (RFC 9110) is turned into seconds from now."""
    date = email.utils.formatdate(time.time() + 120, usegmt=True)
    respx_mock.post(BASE).respond(429, headers={"Retry-After": date})
    result = await fhir.transaction(BUNDLE)
    assert result.retryable and result.retry_after is not None and 115 <= result.retry_after <= 120


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # already past
        ("  12 ", 12.0),
        ("soon", None),
        ("-5", None),
        ("", None),
    ],
)
def test_retry_after_is_delta_seconds_or_an_http_date(header: str, seconds: float | None) -> None:
    """Against a fixed ``now`` (2015-10-21 07:28:00 GMT); what is neither form is ignored."""
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    result = classify(httpx.Response(503, headers={"Retry-After": header}), now=now)
    assert result.retry_after == seconds


async def test_400_with_operation_outcome_is_permanent_and_records_the_outcome(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(BASE).respond(400, json=OUTCOME)
    result = await fhir.transaction(BUNDLE)
    assert (result.retryable, result.status, result.outcome, result.body) == (False, 400, OUTCOME, None)


@pytest.mark.parametrize("body", [b'{"error": "bad"}', b"<html>Bad Request</html>", b"[1, 2]", b"\xff\xfe"])
def test_an_error_body_that_is_not_an_operation_outcome_is_not_recorded(body: bytes) -> None:
    result = classify(httpx.Response(422, content=body))
    assert (result.retryable, result.outcome) == (False, None)


@pytest.mark.parametrize(
    "error", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError]
)
async def test_no_response_at_all_is_retryable(
    fhir: FhirServerClient, respx_mock: respx.MockRouter, error: type[httpx.HTTPError]
) -> None:
    """A transport error or timeout: no status, worth another try, named by its class only."""
    respx_mock.post(BASE).mock(side_effect=error)
    result = await fhir.transaction(BUNDLE)
    assert result == DeliveryResult(False, None, True, None, error.__name__)


def test_a_transport_error_detail_leaves_out_the_message_and_its_url() -> None:
    """The message may name the URL, and a search URL may name the patient."""
    result = classify_transport_error(httpx.ReadTimeout("timed out GET /Observation?patient=Patient/p1"))
    assert result.detail == "ReadTimeout"


async def test_a_401_with_a_static_token_is_not_retried(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    """A fixed token cannot be renewed: one request, a permanent failure."""
    route = respx_mock.post(BASE).respond(401)
    result = await fhir.transaction(BUNDLE)
    assert (route.call_count, result.status, result.retryable) == (1, 401, False)


async def test_logs_carry_neither_the_token_nor_the_bundle(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    """HOUSE-STYLE rule 9: the transaction is logged by status alone."""
    respx_mock.post(BASE).respond(400, json=OUTCOME)
    with capture_logs() as logs:
        await fhir.transaction({**BUNDLE, "entry": [{"resource": {"subject": {"reference": "Patient/p1"}}}]})
    assert logs == [{"event": "fhir_transaction", "status": 400, "retryable": False, "log_level": "info"}]


# --- search -------------------------------------------------------------------------------------------


def searchset(*ids: str, next_url: str | None = None, outcome: bool = False) -> dict[str, Any]:
    entries: list[dict[str, Any]] = [
        {"resource": {"resourceType": "Observation", "id": i}, "search": {"mode": "match"}} for i in ids
    ]
    if outcome:
        entries.append({"resource": OUTCOME, "search": {"mode": "outcome"}})
    links = [{"relation": "self", "url": f"{BASE}/Observation"}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries}


async def test_search_follows_next_links_and_returns_every_resource(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    """Page one with the given parameters; page two by its next link, query and all; outcome entries out."""
    page_two = f"{BASE}?_getpages=abc&_getpagesoffset=2"
    first = respx_mock.get(f"{BASE}/Observation", params={"patient": "Patient/p1"}).respond(
        200, json=searchset("o1", "o2", next_url=page_two)
    )
    second = respx_mock.get(page_two).respond(200, json=searchset("o3", outcome=True))
    found = await fhir.search("Observation", {"patient": "Patient/p1"})
    assert [r["id"] for r in found] == ["o1", "o2", "o3"]
    assert (first.call_count, second.call_count) == (1, 1)
    assert second.calls.last.request.url.params["_getpagesoffset"] == "2"
    assert second.calls.last.request.headers["Authorization"] == "Bearer secret-token"


async def test_an_empty_searchset_is_an_empty_list(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(f"{BASE}/Observation").respond(200, json={"resourceType": "Bundle", "type": "searchset"})
    assert await fhir.search("Observation", {}) == []


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (503, True)])
async def test_search_raises_on_a_non_2xx_page(
    fhir: FhirServerClient, respx_mock: respx.MockRouter, status: int, retryable: bool
) -> None:
    respx_mock.get(f"{BASE}/Observation").respond(status, json=OUTCOME)
    with pytest.raises(SearchError) as raised:
        await fhir.search("Observation", {"patient": "Patient/p1"})
    assert (raised.value.result.status, raised.value.result.retryable) == (status, retryable)
    assert raised.value.result.outcome == OUTCOME
    assert "Patient" not in str(raised.value)


async def test_search_raises_on_a_transport_error(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(f"{BASE}/Observation").mock(side_effect=httpx.ReadTimeout)
    with pytest.raises(SearchError) as raised:
        await fhir.search("Observation", {})
    assert (raised.value.result.detail, raised.value.result.retryable) == ("ReadTimeout", True)


async def test_search_stops_after_100_pages(fhir: FhirServerClient, respx_mock: respx.MockRouter) -> None:
    """A server that always has a next page cannot hold the worker for ever."""
    route = respx_mock.get(f"{BASE}/Observation").respond(
        200, json=searchset("o1", next_url=f"{BASE}/Observation?page=again")
    )
    with pytest.raises(SearchError, match="over 100 pages"):
        await fhir.search("Observation", {})
    assert route.call_count == 100


async def test_search_refuses_a_next_link_to_another_server(
    fhir: FhirServerClient, respx_mock: respx.MockRouter
) -> None:
    """The next request carries our token, so it must go to the same origin."""
    respx_mock.get(f"{BASE}/Observation").respond(
        200, json=searchset("o1", next_url="https://elsewhere.example/fhir?page=2")
    )
    with pytest.raises(SearchError, match="origin"):
        await fhir.search("Observation", {})
