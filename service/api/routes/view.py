"""``GET /view/Patient/{id}``: the report page, server-rendered HTML (the same document as the stored
report's ``presentedForm``, with the patient's identification), for a person, or an EHR's CDS Hooks link.
No script, no external asset; the caller's token needs read scopes, and a ``patient/`` token opens only its
own patient's page. Parse, delegate, render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.adapters.fhir_out.html import report_html
from service.adapters.fhir_out.patient_banner import PatientBanner
from service.adapters.fhir_out.result_context import ResultContext
from service.api.auth import authenticate
from service.api.deps import ContainerDep
from service.api.guard import GuardedRoute
from service.app.evaluate import EvaluationRequest
from service.domain.assess import NotAssessableError
from service.errors import NotFound

# The page shows a patient's data and identification: the guard (issue 16) checks the token's read scopes on
# them, lets a patient/ token see only its own patient's page, records the AuditEvent; the route checks again.
router = APIRouter(tags=["report page"], route_class=GuardedRoute)
_NEEDS = [("Patient", "r"), ("DiagnosticReport", "r"), ("Observation", "r")]


_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "OperationOutcome: no such patient or no assessment"}
}


@router.get("/view/Patient/{patient_id}", name="view_patient", operation_id="view_patient",
            summary="The report page of a patient's latest assessment (HTML)", response_class=HTMLResponse,
            responses=_NOT_FOUND)  # fmt: skip
async def view_patient(
    request: Request, patient_id: str, container: ContainerDep, lang: Literal["en", "zh-CN"] = "en"
) -> HTMLResponse:
    reference = f"Patient/{patient_id}"
    confined = (await authenticate(request)).confinement(_NEEDS)
    if confined is not None and confined.removeprefix("Patient/") != patient_id:
        raise NotFound(f"The service holds no data for {reference}")  # as for a read outside the compartment
    if not await container.evaluate.stored_facts(reference):
        raise NotFound(f"The service holds no data for {reference}")
    try:
        assessment = await container.evaluate(EvaluationRequest(reference))
    except NotAssessableError as exc:
        raise NotFound(str(exc)) from None
    async with container.store.reading() as reader:
        stored = await reader.current("Patient", patient_id)
    banner = PatientBanner.of(stored.content) if stored else None
    k, settings = container.knowledge, container.settings
    ctx = ResultContext(
        assessment,
        k,
        settings.canonical_base,
        lang,
        settings.output_fhir_version,
        datetime.now(UTC),
        k.texts.text,
    )
    return HTMLResponse(report_html(ctx, banner), headers=_HEADERS)


# The page loads nothing from anywhere: a CSP that says so, and no caching of a page holding PHI.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "Cache-Control": "no-store",
}
