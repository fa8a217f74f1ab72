"""``GET /fhir/metadata``: the CapabilityStatement; ``GET /fhir/OperationDefinition/{id}``: the definitions of
the operations it names that the service defines itself ($evaluate)."""

from __future__ import annotations

from service.adapters.fhir_out.capability import capability_statement
from service.adapters.fhir_out.operation_definition import operation_definition
from service.api.deps import ContainerDep, fhir_router
from service.api.fhir_json import FhirJSONResponse
from service.errors import NotFound

router = fhir_router()


@router.get(
    "/metadata",
    operation_id="capabilities",
    summary="The CapabilityStatement (R4)",
    response_class=FhirJSONResponse,
)
async def metadata(container: ContainerDep) -> FhirJSONResponse:
    return FhirJSONResponse(capability_statement(container.settings))


@router.get(
    "/OperationDefinition/{operation_id}",
    operation_id="read_operation_definition",
    summary="Read the definition of an operation the service defines ($evaluate)",
    response_class=FhirJSONResponse,
    responses={404: {"description": "OperationOutcome: no such OperationDefinition"}},
)
async def read_operation_definition(operation_id: str, container: ContainerDep) -> FhirJSONResponse:
    definition = operation_definition(operation_id, container.settings.canonical_base)
    if definition is None:
        raise NotFound(f"OperationDefinition/{operation_id} is not an operation this service defines")
    return FhirJSONResponse(definition)
