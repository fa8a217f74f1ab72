"""``GET /fhir/CodeSystem/{id}`` and ``GET /fhir/CodeSystem``: the service's own code systems
(FHIR-CONTRACT.md preamble and section 2). Parse, delegate, render."""

from __future__ import annotations

from fastapi import Request

from service.adapters.fhir_out.code_systems import code_system_resource, code_system_searchset
from service.api.deps import ContainerDep, fhir_router
from service.api.fhir_json import FhirJSONResponse
from service.errors import NotFound

router = fhir_router()


@router.get(
    "/CodeSystem/{system_id}",
    operation_id="read_code_system",
    summary="Read one of the service's CodeSystems",
    response_class=FhirJSONResponse,
    responses={404: {"description": "OperationOutcome: no such CodeSystem"}},
)
async def read_code_system(system_id: str, container: ContainerDep) -> FhirJSONResponse:
    knowledge = container.knowledge
    definition = knowledge.code_systems.get(system_id)
    if definition is None:
        raise NotFound(f"CodeSystem/{system_id} is not a code system of this service")
    resource = code_system_resource(
        definition, canonical_base=container.settings.canonical_base, version=knowledge.version
    )
    return FhirJSONResponse(resource)


@router.get(
    "/CodeSystem",
    operation_id="search_code_systems",
    summary="Every CodeSystem the service defines (searchset)",
    response_class=FhirJSONResponse,
)
async def search_code_systems(request: Request, container: ContainerDep) -> FhirJSONResponse:
    knowledge = container.knowledge
    bundle = code_system_searchset(
        knowledge.code_systems,
        canonical_base=container.settings.canonical_base,
        version=knowledge.version,
        self_url=str(request.url),
    )
    return FhirJSONResponse(bundle)
