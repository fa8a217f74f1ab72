"""A search, from its parameters to the searchset: parse (:mod:`service.app.search_params`), one page from
the store (:mod:`service.adapters.store.search`), what ``_include`` / ``_revinclude`` add to it
(:mod:`service.api.search_included`), links that walk the pages (``first``, ``previous``, ``next``) on the
configured public base URL (``ONCO_PUBLIC_BASE_URL``, never the ``Host`` header).

A ``patient/`` token's search is narrowed by the guard to its patient; every patient or subject named in
the parameters, from the URL or a ``POST _search`` form, in any form (``subject:Patient=``), must be that
patient too, or the search is a 403 (never an answer with another patient's data)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from service.adapters.fhir_out.bundles import searchset
from service.adapters.fhir_out.outcome import operation_outcome
from service.adapters.store.repository import SearchPage
from service.api import compartment
from service.api.fhir_json import FhirJSONResponse
from service.api.search_included import confinement, gather, permitted
from service.app.search_elements import subset
from service.app.search_params import Limits, ParsedSearch, cursor, parse, patient_value
from service.bootstrap import Container
from service.errors import Forbidden, Issue

DEFAULT_COUNT = 50
PATIENT_PARAMS = ("patient", "subject")


async def run_search(
    resource_type: str, pairs: Sequence[tuple[str, str]], request: Request, container: Container
) -> FhirJSONResponse:
    settings = container.settings
    limits = Limits(min(DEFAULT_COUNT, settings.search_max_count), settings.search_max_count,
                    settings.search_scan_limit)  # fmt: skip
    confine_patients(resource_type, pairs, request)
    parsed = parse(resource_type, list(pairs), lenient=lenient(request.headers.get("prefer")), limits=limits)
    query = replace(parsed.query, count=0) if parsed.summary_count else parsed.query
    async with container.store.reading() as reader:
        page = await reader.search_page(query)
        candidates = await gather(reader, parsed.includes, page.found, limits.scan_limit)
    included = await permitted(candidates, request)
    base = settings.public_base_url.rstrip("/")
    return FhirJSONResponse(render(resource_type, parsed, page, base, included))


def confine_patients(resource_type: str, pairs: Sequence[tuple[str, str]], request: Request) -> None:
    """403 when a ``patient/`` token's search names any patient or subject but its own."""
    patient = confinement(request, resource_type, "s")
    if patient is None:
        return
    for key, value in pairs:
        named = (
            [patient_value(v) for v in value.split(",")] if key.partition(":")[0] in PATIENT_PARAMS else []
        )
        if any(compartment.as_patient(one) != patient for one in named):
            raise Forbidden("A patient/ token may search only its own patient's compartment")


def lenient(prefer: str | None) -> bool:
    """``Prefer: handling=lenient`` (https://hl7.org/fhir/R4/http.html#prefer); strict is the default."""
    tokens = (t.strip().replace(" ", "") for t in (prefer or "").replace(";", ",").split(","))
    return "handling=lenient" in tokens


def render(
    resource_type: str,
    parsed: ParsedSearch,
    page: SearchPage,
    base: str,
    included: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    def url(params: list[tuple[str, str]]) -> str:
        return f"{base}/{resource_type}" + (f"?{urlencode(params)}" if params else "")

    outcome = None
    if parsed.ignored:
        issues = [Issue(f"Ignored: {why}", "not-supported", "warning") for why in parsed.ignored]
        outcome = operation_outcome(issues)
    resources = [] if parsed.summary_count else [found.content for found in page.found]
    if parsed.elements is not None:
        resources = [subset(resource, parsed.elements) for resource in resources]
    bundle = searchset(
        resources,
        url(parsed.applied),
        page.total,
        base=base,
        links={} if parsed.summary_count else {k: url(v) for k, v in _walks(parsed, page).items()},
        outcome=outcome,
    )
    if included and not parsed.summary_count:
        at = len(resources)  # after the matches, before the outcome entry
        bundle["entry"][at:at] = [_included_entry(resource, base) for resource in included]
    return bundle


def _included_entry(resource: dict[str, Any], base: str) -> dict[str, Any]:
    full_url = f"{base}/{resource['resourceType']}/{resource['id']}"
    return {"fullUrl": full_url, "resource": resource, "search": {"mode": "include"}}


def _walks(parsed: ParsedSearch, page: SearchPage) -> dict[str, list[tuple[str, str]]]:
    """The ``first``, ``previous`` and ``next`` pages' parameters, where there are such pages."""
    plain = [(k, v) for k, v in parsed.applied if k != "_cursor"]
    walks: dict[str, list[tuple[str, str]]] = {"first": plain}
    if not page.found:
        return walks
    first, last = page.found[0], page.found[-1]
    backwards, paged = parsed.query.backwards, parsed.query.after is not None
    if (page.more and backwards) or (paged and not backwards):
        walks["previous"] = [
            *plain,
            ("_cursor", cursor(first.last_updated, first.resource_id, backwards=True)),
        ]
    if (page.more and not backwards) or backwards:
        walks["next"] = [*plain, ("_cursor", cursor(last.last_updated, last.resource_id, backwards=False))]
    return walks
