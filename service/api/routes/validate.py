"""``POST /fhir/$validate`` and ``POST /fhir/{type}/$validate``: full validation on demand."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from service.adapters.fhir_in.validation import validate_resource
from service.adapters.fhir_out.outcome import operation_outcome
from service.api.body import read_fhir_body
from service.api.deps import fhir_router
from service.api.fhir_json import FhirJSONResponse
from service.errors import BadRequest, Issue

router = fhir_router()

_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "An OperationOutcome: errors if invalid, one information issue if valid"}
}


@router.post(
    "/$validate",
    operation_id="validate",
    summary="Validate any resource",
    response_class=FhirJSONResponse,
    responses=_RESPONSE,
)
async def validate(request: Request) -> FhirJSONResponse:
    return await _validate(request, expected_type=None)


@router.post(
    "/{resource_type}/$validate",
    operation_id="validate_type",
    summary="Validate a resource of a type",
    response_class=FhirJSONResponse,
    responses=_RESPONSE,
)
async def validate_type(resource_type: str, request: Request) -> FhirJSONResponse:
    return await _validate(request, expected_type=resource_type)


async def _validate(request: Request, expected_type: str | None) -> FhirJSONResponse:
    body = await read_fhir_body(request)
    found = body.resource["resourceType"]
    if expected_type is not None and found != expected_type:
        raise BadRequest(
            f"The URL names {expected_type} but the body is a {found}", expression="resourceType"
        )
    issues = validate_resource(body.resource, body.version) or [
        Issue(f"No issues: valid {found} (FHIR {body.version})", "informational", "information")
    ]
    # FHIR $validate answers 200 either way; the verdict is in the OperationOutcome's issues.
    return FhirJSONResponse(operation_outcome(issues))
