"""``GET /fhir/metadata``: the CapabilityStatement."""

from __future__ import annotations

from service.adapters.fhir_out.capability import capability_statement
from service.api.deps import ContainerDep, fhir_router
from service.api.fhir_json import FhirJSONResponse

router = fhir_router()


@router.get(
    "/metadata",
    operation_id="capabilities",
    summary="The CapabilityStatement (R4)",
    response_class=FhirJSONResponse,
)
async def metadata(container: ContainerDep) -> FhirJSONResponse:
    return FhirJSONResponse(capability_statement(container.settings))
