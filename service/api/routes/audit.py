"""``GET /fhir/AuditEvent?patient=&date=&agent=&_count=``: the audit trail, for system/ and user/ clients with
``AuditEvent.s`` (the guard refuses patient/ tokens). Parse, delegate, render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query, Request

from service.adapters.fhir_out.bundles import searchset
from service.api.audit_hook import trail
from service.api.deps import fhir_router
from service.api.fhir_json import FhirJSONResponse
from service.app.audit import AuditQuery
from service.errors import BadRequest

router = fhir_router()


@router.get("/AuditEvent", operation_id="search_audit_events", summary="Search the audit trail",
            response_class=FhirJSONResponse)  # fmt: skip
async def search_audit_events(
    request: Request,
    patient: str | None = None,
    date: Annotated[list[str] | None, Query()] = None,
    agent: str | None = None,
    count: Annotated[int, Query(alias="_count", ge=0, le=1000)] = 50,
) -> FhirJSONResponse:
    after, before = _date_range(date or [])
    patient_ref = f"Patient/{patient.removeprefix('Patient/')}" if patient else None
    total, events = await trail(request).search(AuditQuery(patient_ref, after, before, agent, count))
    return FhirJSONResponse(searchset(events, str(request.url), total))


def _date_range(values: list[str]) -> tuple[datetime | None, datetime | None]:
    """``ge``/``gt`` and ``le``/``lt`` prefixes on an ISO date or dateTime (``lt``/``le`` exclusive here)."""
    after = before = None
    for value in values:
        prefix, text = value[:2], value[2:]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise BadRequest(f"date={value} is not prefix+ISO date", expression="date") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if prefix in ("ge", "gt"):
            after = moment
        elif prefix in ("le", "lt"):
            before = moment
        else:
            raise BadRequest(
                f"date prefix '{prefix}' is not supported; use ge, gt, le or lt", expression="date"
            )
    return after, before
