"""``POST /fhir/$evaluate``: a synchronous evaluation answered as a ``collection`` Bundle, DiagnosticReport
first (FHIR-CONTRACT section 2). Parse, delegate, render."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request

from service.adapters.fhir_in.evaluate_params import read_evaluate_params
from service.adapters.fhir_in.versions import detect_version
from service.api.body import read_fhir_body
from service.api.deps import ContainerDep, fhir_router
from service.api.fhir_json import FhirJSONResponse
from service.domain.assess import NotAssessableError
from service.errors import Unprocessable

router = fhir_router()
# The report's HTML rendering (and its charts) is a third of the rendering: built only when asked for, by this
# query parameter or the Parameters' ``presentedForm`` (issue 19). Stored reports always carry it.
_PresentedForm = Annotated[
    bool,
    Query(alias="presentedForm", description="Add the report's HTML rendering (presentedForm)"),
]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A collection Bundle: DiagnosticReport, its Observations, the CarePlan, the Provenance"
    },
    400: {"description": "OperationOutcome: not a Bundle or Parameters, no patient, a bad parameter"},
    422: {"description": "OperationOutcome: unusable values, or no follow-up imaging to assess"},
}


@router.post("/$evaluate", operation_id="evaluate", summary="Evaluate response and resistance now",
             response_class=FhirJSONResponse, responses=_RESPONSES)  # fmt: skip
async def evaluate(
    request: Request, container: ContainerDep, presented_form: _PresentedForm = False
) -> FhirJSONResponse:
    body = await read_fhir_body(request)
    params = read_evaluate_params(body.resource)
    inner = params.bundle if params.bundle is not None else body.resource
    version = body.declared_version or detect_version(inner)
    try:
        assessment = await container.evaluate_operation(params, body.raw, version, body.compact)
    except NotAssessableError as exc:
        raise Unprocessable(str(exc)) from None
    output = output_version(request, container.settings.output_fhir_version)
    with_html = presented_form or params.presented_form
    bundle = container.render(assessment, params.language, output, datetime.now(UTC), with_html=with_html)
    return FhirJSONResponse(bundle)


_ACCEPT_VERSION = re.compile(r"fhirversion=\"?(4\.0|5\.0)", re.IGNORECASE)


def output_version(request: Request, default: str) -> str:
    """``Accept: application/fhir+json; fhirVersion=5.0`` asks for R5 (FHIR-CONTRACT section 1)."""
    match = _ACCEPT_VERSION.search(request.headers.get("accept", ""))
    return match.group(1) if match else default
