"""Talking to the EHR's FHIR server (issue 7): one ``transaction`` POST per result, and paged searches.

Every delivery attempt ends in a ``DeliveryResult`` that says whether to try again, so the durable outbox
(FHIR-CONTRACT.md section 6) can record it and schedule the retry. ``classify`` and
``classify_transport_error`` know nothing of FHIR servers; the subscription rest-hook uses them too.

    DeliveryError          carries the DeliveryResult of the failure, for the caller to record
    ├── SearchError        a search page was not 2xx, could not be fetched, or paged too far
    └── TokenError         (auth.py) the SMART token endpoint refused or could not be reached
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from typing import TYPE_CHECKING, Any

import httpx
import structlog

# The outbound ports' values, defined with the ports (service/app/delivery_records.py) and re-exported here.
from service.app.delivery_records import DeliveryError as DeliveryError
from service.app.delivery_records import DeliveryResult as DeliveryResult

if TYPE_CHECKING:
    from service.adapters.fhir_client.auth import Auth

log = structlog.get_logger("service.fhir_client")

JsonObject = dict[str, Any]

FHIR_JSON = "application/fhir+json"
MAX_SEARCH_PAGES = 100  # a server that pages on for ever must not hold the worker for ever
# Request Timeout, Conflict (a concurrent write; https://hl7.org/fhir/R4/http.html#concurrency) and
# Too Many Requests are worth another try; so is any 5xx. Other 4xx will fail the same way again.
RETRYABLE_4XX = frozenset({408, 409, 429})


class SearchError(DeliveryError):
    pass


def classify(response: httpx.Response, *, now: float | None = None) -> DeliveryResult:
    """2xx delivered; 408, 409, 429 and 5xx retryable; any other status permanent. ``now`` (epoch
    seconds) is for an HTTP-date Retry-After; the wall clock by default."""
    status = response.status_code
    if response.is_success:
        return DeliveryResult(True, status, False, None, f"HTTP {status}", body=_json_object(response))
    retryable = status in RETRYABLE_4XX or status >= 500
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
    outcome = _json_object(response)
    if outcome is not None and outcome.get("resourceType") != "OperationOutcome":
        outcome = None
    return DeliveryResult(False, status, retryable, retry_after, f"HTTP {status}", outcome=outcome)


def entry_failures(result: DeliveryResult) -> DeliveryResult:
    """A 2xx whose transaction-response (or batch-response) holds an entry that failed is not delivered:
    a server that applies a transaction entry by entry (as Medplum does outside its strict mode) answers 200
    with the failure inside. Retryable when every failed entry's status is; the detail names the entries'
    positions and statuses only."""
    body = result.body
    if not result.delivered or body is None or body.get("resourceType") != "Bundle":
        return result
    failed = []
    for index, entry in enumerate(body.get("entry") or []):
        response = entry.get("response") if isinstance(entry, dict) else None
        code = str(response.get("status", "")) if isinstance(response, dict) else ""
        number = int(code[:3]) if code[:3].isdigit() else 0
        if number >= 400:
            failed.append((index, number))
    if not failed:
        return result
    retryable = all(n in RETRYABLE_4XX or n >= 500 for _, n in failed)
    detail = f"HTTP {result.status}; entries failed: " + ", ".join(f"{i} ({n})" for i, n in failed[:10])
    return DeliveryResult(False, result.status, retryable, None, detail, body=body)


def classify_transport_error(exc: httpx.HTTPError) -> DeliveryResult:
    """No response (refused, reset, timed out): always worth another try. Only the exception's class name
    is kept; its message may carry the URL, and with it a search's patient parameters."""
    return DeliveryResult(
        delivered=False, status=None, retryable=True, retry_after=None, detail=type(exc).__name__
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After is delta-seconds or an HTTP-date (RFC 9110 section 10.2.3); a date in the past is 0."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; parsedate_to_datetime leaves "-0000" naive
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _json_object(response: httpx.Response) -> JsonObject | None:
    try:
        parsed = response.json()
    except ValueError:  # not JSON (json.JSONDecodeError and UnicodeDecodeError are ValueErrors)
        return None
    return parsed if isinstance(parsed, dict) else None


class FhirServerClient:
    """The EHR's FHIR server at ``base_url``. Timeouts, TLS and pooling are the given httpx client's."""

    def __init__(self, base_url: str, auth: Auth, http: httpx.AsyncClient) -> None:
        self._base = base_url.rstrip("/")
        self._auth = auth
        self._http = http

    async def transaction(self, bundle: JsonObject) -> DeliveryResult:
        """POST a ``transaction`` Bundle to the base. Never raises for a failed delivery: a token endpoint
        failure comes back as its DeliveryResult too, so the outbox has one thing to record."""
        try:
            response = await self._send("POST", self._base, json=bundle)
        except httpx.HTTPError as exc:
            return classify_transport_error(exc)
        except DeliveryError as exc:
            return exc.result
        result = entry_failures(classify(response))
        log.info("fhir_transaction", status=result.status, retryable=result.retryable)
        return result

    async def search(self, resource_type: str, params: dict[str, str]) -> list[JsonObject]:
        """Every resource (matches and includes) of the searchset, following ``next`` links; raises
        SearchError on a failure."""
        url = f"{self._base}/{resource_type}"
        query: dict[str, str] | None = params
        resources: list[JsonObject] = []
        for _ in range(MAX_SEARCH_PAGES):
            page = await self._search_page(url, query)
            resources += [e["resource"] for e in page.get("entry", []) if _is_result(e)]
            next_url = _next_link(page)
            if next_url is None:
                return resources
            # A next link carries its own query; httpx would replace it with any params, even {}.
            url, query = self._own_url(next_url), None
        raise SearchError(_refused(f"over {MAX_SEARCH_PAGES} pages"))

    async def _search_page(self, url: str, params: dict[str, str] | None) -> JsonObject:
        try:
            response = await self._send("GET", url, params=params)
        except httpx.HTTPError as exc:
            raise SearchError(classify_transport_error(exc)) from exc
        result = classify(response)
        if not result.delivered or result.body is None:
            raise SearchError(result)
        return result.body

    def _own_url(self, url: str) -> str:
        """A ``next`` link must stay on this server's origin: it is sent with our access token."""
        base, link = httpx.URL(self._base), httpx.URL(url)
        if (link.scheme, link.host, link.port) != (base.scheme, base.host, base.port):
            raise SearchError(_refused("a next link leaves the server's origin"))
        return url

    async def _send(
        self, method: str, url: str, *, json: JsonObject | None = None, params: dict[str, str] | None = None
    ) -> httpx.Response:
        """One request with the auth headers; on a 401, once more with fresh ones, if there are any (an
        expired or revoked SMART token; a static token would only be refused again)."""
        headers = {"Accept": FHIR_JSON} | ({"Content-Type": FHIR_JSON} if json is not None else {})
        sent = await self._auth.headers(self._http)
        response = await self._http.request(method, url, json=json, params=params, headers=headers | sent)
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return response
        self._auth.invalidate()
        fresh = await self._auth.headers(self._http)
        if fresh == sent:
            return response
        log.info("fhir_token_refused_retrying")
        return await self._http.request(method, url, json=json, params=params, headers=headers | fresh)


def _is_result(entry: JsonObject) -> bool:
    """Not a resource the server added about the search itself (``search.mode = outcome``)."""
    return "resource" in entry and entry.get("search", {}).get("mode") != "outcome"


def _next_link(page: JsonObject) -> str | None:
    links = [link.get("url") for link in page.get("link", []) if link.get("relation") == "next"]
    return links[0] if links and isinstance(links[0], str) else None


def _refused(detail: str) -> DeliveryResult:
    """A search we stop ourselves: no status, and trying again would end the same way."""
    return DeliveryResult(delivered=False, status=None, retryable=False, retry_after=None, detail=detail)
