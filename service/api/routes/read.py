"""``GET /fhir/{type}/{id}``, its ``_history`` and ``_history/{vid}``, and ``GET /fhir/{type}?patient=…``:
what was stored or produced, current or as of an earlier version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query, Request

from service.adapters.fhir_in.resource_types import READABLE_TYPES
from service.adapters.fhir_out.bundles import instance_history, searchset
from service.adapters.store import SearchQuery
from service.api.deps import ContainerDep, fhir_router
from service.api.fhir_json import FhirJSONResponse
from service.errors import BadRequest, NotFound

router = fhir_router()

# Newest first or not. ``issued`` sorts like ``_lastUpdated``: the service stores each report it issues at
# once, so a report's issued time and its version's lastUpdated are the same moment.
_SORTS = {"-_lastUpdated": True, "_lastUpdated": False, "-issued": True, "issued": False}


@router.get(
    "/{resource_type}/{resource_id}",
    operation_id="read",
    summary="Read the current version",
    response_class=FhirJSONResponse,
)
async def read(resource_type: str, resource_id: str, container: ContainerDep) -> FhirJSONResponse:
    _check_type(resource_type)
    async with container.store.reading() as reader:
        found = await reader.current(resource_type, resource_id)
    if found is None:
        raise NotFound(f"{resource_type}/{resource_id} is not known here")
    return FhirJSONResponse(found.content, headers={"ETag": f'W/"{found.version_id}"'})


@router.get(
    "/{resource_type}/{resource_id}/_history",
    operation_id="history_instance",
    summary="Every version of one resource, newest first",
    response_class=FhirJSONResponse,
)
async def history(
    resource_type: str, resource_id: str, request: Request, container: ContainerDep
) -> FhirJSONResponse:
    _check_type(resource_type)
    async with container.store.reading() as reader:
        versions = await reader.versions(resource_type, resource_id)
    if not versions:
        raise NotFound(f"{resource_type}/{resource_id} is not known here")
    return FhirJSONResponse(instance_history(versions, str(request.url)))


@router.get(
    "/{resource_type}/{resource_id}/_history/{version_id}",
    operation_id="vread",
    summary="Read one version, current or earlier",
    response_class=FhirJSONResponse,
)
async def vread(
    resource_type: str, resource_id: str, version_id: str, container: ContainerDep
) -> FhirJSONResponse:
    """The ``Location`` of every stored entry (``Type/id/_history/n``) resolves here."""
    _check_type(resource_type)
    number = version_number(f"{resource_type}/{resource_id}", version_id)
    async with container.store.reading() as reader:
        found = await reader.version(resource_type, resource_id, number)
    if found is None:
        raise NotFound(f"{resource_type}/{resource_id}/_history/{version_id} is not known here")
    return FhirJSONResponse(found.content, headers={"ETag": f'W/"{found.version_id}"'})


@router.get(
    "/{resource_type}",
    operation_id="search",
    summary="Search by patient and last update",
    response_class=FhirJSONResponse,
)
async def search(  # one parameter per FHIR search parameter the contract names
    resource_type: str,
    request: Request,
    container: ContainerDep,
    patient: str | None = None,
    subject: str | None = None,
    last_updated: Annotated[list[str] | None, Query(alias="_lastUpdated")] = None,
    sort: Annotated[str, Query(alias="_sort")] = "-_lastUpdated",
    count: Annotated[int, Query(alias="_count", ge=0, le=1000)] = 50,
) -> FhirJSONResponse:
    _check_type(resource_type)
    if sort not in _SORTS:
        raise BadRequest(
            f"_sort={sort} is not supported; use (-)_lastUpdated or (-)issued", expression="_sort"
        )
    after, before = _last_updated_range(last_updated or [])
    query = SearchQuery(resource_type, _patient_ref(patient or subject), after, before, _SORTS[sort], count)
    async with container.store.reading() as reader:
        total, found = await reader.search(query)
    return FhirJSONResponse(searchset([s.content for s in found], str(request.url), total))


def version_number(reference: str, version_id: str) -> int:
    """The service numbers versions 1, 2, 3 …; anything else names none (404)."""
    if not version_id.isdigit():
        raise NotFound(f"{reference}/_history/{version_id} is not known here")
    return int(version_id)


def _check_type(resource_type: str) -> None:
    if resource_type not in READABLE_TYPES:
        raise NotFound(f"{resource_type} is not a type this service serves")


def _patient_ref(value: str | None) -> str | None:
    if value is None:
        return None
    return value if value.startswith("Patient/") else f"Patient/{value}"


def _last_updated_range(values: list[str]) -> tuple[datetime | None, datetime | None]:
    """``ge``/``gt``/``le``/``lt`` prefixes on an ISO date or dateTime (FHIR search.html#prefix)."""
    after = before = None
    for value in values:
        prefix, instant = value[:2], value[2:]
        try:
            moment = datetime.fromisoformat(instant)
        except ValueError:
            raise BadRequest(
                f"_lastUpdated={value} is not prefix+ISO date", expression="_lastUpdated"
            ) from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # a bare date or time is read as UTC
        if prefix in ("ge", "gt"):
            after = moment
        elif prefix in ("le", "lt"):
            before = moment
        else:
            raise BadRequest(
                f"_lastUpdated prefix '{prefix}' is not supported; use ge, gt, le or lt",
                expression="_lastUpdated",
            )
    return after, before
