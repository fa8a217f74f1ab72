"""``GET /fhir/{type}/{id}``, its ``_history`` and ``_history/{vid}``, and search (``GET /fhir/{type}?…``,
``POST /fhir/{type}/_search``): what was stored or produced, current or as of an earlier version. Read,
vread and search answer ``HEAD`` too (:mod:`service.api.head`)."""

from __future__ import annotations

from email.utils import format_datetime
from urllib.parse import parse_qsl

from fastapi import Request, Response

from service.adapters.fhir_in.resource_types import READABLE_TYPES
from service.adapters.fhir_out.bundles import instance_history
from service.adapters.store import StoredResource
from service.api.deps import ContainerDep, fhir_router
from service.api.fhir_json import FhirJSONResponse
from service.api.head import headers_only
from service.api.search import run_search
from service.errors import NotFound

router = fhir_router()


@router.get(
    "/{resource_type}/{resource_id}",
    operation_id="read",
    summary="Read the current version",
    response_class=FhirJSONResponse,
)
async def read(resource_type: str, resource_id: str, request: Request, container: ContainerDep) -> Response:
    _check_type(resource_type)
    async with container.store.reading() as reader:
        found = await reader.current(resource_type, resource_id)
    if found is None:
        raise NotFound(f"{resource_type}/{resource_id} is not known here")
    return versioned(found, request)


@router.head(
    "/{resource_type}/{resource_id}",
    name="read",  # the guard checks it as the read it is
    operation_id="read_head",
    summary="The headers a read would answer (ETag, Last-Modified), without the body",
    response_class=FhirJSONResponse,
)
async def read_head(
    resource_type: str, resource_id: str, request: Request, container: ContainerDep
) -> Response:
    response = await read(resource_type, resource_id, request, container)
    return await headers_only(response, request, resource_type, "r")


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
    resource_type: str, resource_id: str, version_id: str, request: Request, container: ContainerDep
) -> Response:
    """The ``Location`` of every stored entry (``Type/id/_history/n``) resolves here."""
    _check_type(resource_type)
    number = version_number(f"{resource_type}/{resource_id}", version_id)
    async with container.store.reading() as reader:
        found = await reader.version(resource_type, resource_id, number)
    if found is None:
        raise NotFound(f"{resource_type}/{resource_id}/_history/{version_id} is not known here")
    return versioned(found, request)


@router.head(
    "/{resource_type}/{resource_id}/_history/{version_id}",
    name="vread",
    operation_id="vread_head",
    summary="The headers a vread would answer, without the body",
    response_class=FhirJSONResponse,
)
async def vread_head(
    resource_type: str, resource_id: str, version_id: str, request: Request, container: ContainerDep
) -> Response:
    response = await vread(resource_type, resource_id, version_id, request, container)
    return await headers_only(response, request, resource_type, "r")


@router.get(
    "/{resource_type}",
    operation_id="search",
    summary="Search (the parameters the CapabilityStatement declares; unknown ones are a 400)",
    response_class=FhirJSONResponse,
)
async def search(resource_type: str, request: Request, container: ContainerDep) -> FhirJSONResponse:
    _check_type(resource_type)
    return await run_search(resource_type, request.query_params.multi_items(), request, container)


@router.head(
    "/{resource_type}",
    name="search",
    operation_id="search_head",
    summary="The headers a search would answer, without the body",
    response_class=FhirJSONResponse,
)
async def search_head(resource_type: str, request: Request, container: ContainerDep) -> Response:
    response = await search(resource_type, request, container)
    return await headers_only(response, request, resource_type, "s")


@router.post(
    "/{resource_type}/_search",
    name="search",  # the guard narrows it to a patient/ token's compartment like the GET
    operation_id="search_post",
    summary="Search with form parameters (application/x-www-form-urlencoded), and any in the URL",
    response_class=FhirJSONResponse,
)
async def search_post(resource_type: str, request: Request, container: ContainerDep) -> FhirJSONResponse:
    _check_type(resource_type)
    form = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return await run_search(resource_type, [*request.query_params.multi_items(), *form], request, container)


def versioned(found: StoredResource, request: Request) -> Response:
    """The resource with its ``ETag`` and ``Last-Modified``; 304 when ``If-None-Match`` names this version,
    except for a ``patient/`` token, whose answers the guard must see to confine them to the compartment."""
    etag = f'W/"{found.version_id}"'
    headers = {"ETag": etag, "Last-Modified": format_datetime(found.last_updated, usegmt=True)}
    asked = [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]
    if (etag in asked or "*" in asked) and not _confined(request, found.resource_type):
        return Response(status_code=304, headers=headers)
    return FhirJSONResponse(found.content, headers=headers)


def _confined(request: Request, resource_type: str) -> bool:
    access = getattr(request.state, "access", None)
    return access is not None and access.confinement([(resource_type, "r")]) is not None


def version_number(reference: str, version_id: str) -> int:
    """The service numbers versions 1, 2, 3 …; anything else names none (404)."""
    if not version_id.isdigit():
        raise NotFound(f"{reference}/_history/{version_id} is not known here")
    return int(version_id)


def _check_type(resource_type: str) -> None:
    if resource_type not in READABLE_TYPES:
        raise NotFound(f"{resource_type} is not a type this service serves")
