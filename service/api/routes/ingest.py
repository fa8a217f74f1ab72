"""Where Bundles come in: ``POST /fhir`` (transaction, batch), ``POST /fhir/Bundle`` (collection,
document, searchset) and ``POST /fhir/$process-message`` (message). Parse, delegate, render."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from service.adapters.fhir_out.bundles import write_response
from service.api.body import read_fhir_body
from service.api.deps import ContainerDep, fhir_router
from service.api.fhir_json import FhirJSONResponse
from service.app.ingest import Endpoint

router = fhir_router()

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A transaction-response or batch-response Bundle, one entry per posted entry"},
    400: {"description": "OperationOutcome: not JSON, not a Bundle, a wrong Bundle type, a bad entry"},
    413: {"description": "OperationOutcome: over ONCO_MAX_BUNDLE_BYTES or ONCO_MAX_ENTRIES"},
    415: {"description": "OperationOutcome: not application/fhir+json, or an unsupported fhirVersion"},
    422: {"description": "OperationOutcome: a transaction with an entry the service cannot use (unit, date)"},
}


@router.post(
    "",
    operation_id="transaction_or_batch",
    summary="A transaction or batch Bundle",
    response_class=FhirJSONResponse,
    responses=_RESPONSES,
)
async def transaction_or_batch(request: Request, container: ContainerDep) -> FhirJSONResponse:
    return await _ingest(request, container, Endpoint.ROOT)


@router.post(
    "/Bundle",
    operation_id="post_bundle",
    summary="A collection, document or searchset Bundle",
    response_class=FhirJSONResponse,
    responses=_RESPONSES,
)
async def post_bundle(request: Request, container: ContainerDep) -> FhirJSONResponse:
    return await _ingest(request, container, Endpoint.BUNDLE)


@router.post(
    "/$process-message",
    operation_id="process_message",
    summary="A message Bundle (MessageHeader first)",
    response_class=FhirJSONResponse,
    responses=_RESPONSES,
)
async def process_message(request: Request, container: ContainerDep) -> FhirJSONResponse:
    return await _ingest(request, container, Endpoint.MESSAGE)


async def _ingest(request: Request, container: ContainerDep, endpoint: Endpoint) -> FhirJSONResponse:
    body = await read_fhir_body(request)
    result = await container.pipeline.accept(
        body.resource, body.raw, endpoint, body.version, posted_text=body.compact
    )
    return FhirJSONResponse(write_response(result))
