"""One AuditEvent per access to patient data (read, search, write, $evaluate, $events), successful or not,
once the caller is authenticated. Recorded when ``ONCO_AUTH_MODE`` is bearer or smart (with no auth there is
no one to name). Only references and the service's own search parameters go in, never values or names."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import structlog
from fastapi import Request
from starlette.responses import Response

from service.adapters.fhir_in.bundles import patient_reference
from service.adapters.fhir_out.audit import AuditRecord
from service.api.compartment import as_patient
from service.api.interactions import Interaction, Kind, entries, evaluate_parameters
from service.api.scopes import Access
from service.app.audit import AuditTrail, PendingWrite, expect_write, forget_write, now, pending_write
from service.config import AuthMode, Settings

log = structlog.get_logger("service.audit")

_PATIENT_KINDS = (Kind.READ, Kind.SEARCH, Kind.WRITE, Kind.EVALUATE)
# Search parameters the service serves: only these are kept in the event's query (no free text).
_QUERY_KEYS = frozenset({"patient", "subject", "_lastUpdated", "_sort", "_count", "_include", "_revinclude",
                         "_id", "date", "agent", "issued", "_elements", "_summary", "_total"})  # fmt: skip
_MAX_PATIENTS = 20


def expect(request: Request, rule: Interaction | None, access: Access, body: dict[str, Any] | None) -> Any:
    """Before a write runs: announce its event, for the write's transaction to store
    (:func:`service.app.audit.record_in_write`); a token for :func:`done`, or None."""
    if not _audited(request, rule) or rule is None or rule.kind not in (Kind.WRITE, Kind.EVALUATE):
        return None
    if rule.kind is Kind.EVALUATE and not evaluate_parameters(body)[2]:
        return None  # $evaluate without persist writes nothing
    return expect_write(PendingWrite(trail(request), _record(request, rule, access, 200, body, None)))


def done(token: Any) -> None:
    if token is not None:
        forget_write(token)


async def audit(
    request: Request,
    rule: Interaction | None,
    access: Access,
    status: int,
    body: dict[str, Any] | None,
    response: Response | None,
) -> None:
    """Store the request's event in a transaction of its own, unless the write's transaction has stored it
    and committed: then the write happened, whatever the answer says after it (``$evaluate`` with
    ``persist`` stores the data and may still answer 422, nothing to assess), and one event per request is
    the rule. A failure whose write did not commit is stored here."""
    if not _audited(request, rule) or rule is None:
        return
    pending = pending_write()
    if pending is not None and pending.stored and (status < 400 or pending.committed):
        return
    await trail(request).record(_record(request, rule, access, status, body, response))
    log.info("audit_recorded", subtype=rule.subtype, status=status)


def _audited(request: Request, rule: Interaction | None) -> bool:
    settings: Settings = request.app.state.container.settings
    return settings.auth_mode is not AuthMode.NONE and rule is not None and _patient_data(request, rule)


def _record(
    request: Request,
    rule: Interaction,
    access: Access,
    status: int,
    body: dict[str, Any] | None,
    response: Response | None,
) -> AuditRecord:
    return AuditRecord(
        subtype=rule.subtype,
        status=status,
        client_id=access.client_id,
        patients=tuple(sorted(_patients(request, rule, body, response))[:_MAX_PATIENTS]),
        request_id=structlog.contextvars.get_contextvars().get("request_id", "unknown"),
        recorded=now(),
        subject=access.subject,
        query=_query(request) if rule.kind is Kind.SEARCH else None,
        operation=request.url.path.rsplit("/", 1)[-1] if rule.subtype == "operation" else None,
    )


def trail(request: Request) -> AuditTrail:
    container = request.app.state.container
    return AuditTrail(container.store, str(container.settings.auth_issuer or "urn:oncoresponse:clients"))


def _patient_data(request: Request, rule: Interaction) -> bool:
    return rule.kind in _PATIENT_KINDS or request.scope["route"].name == "subscription_events"


def _patients(
    request: Request, rule: Interaction, body: dict[str, Any] | None, response: Response | None
) -> set[str]:
    found: set[str] = set()
    for key in ("patient", "subject"):
        if value := request.query_params.get(key):
            found.add(f"Patient/{value.removeprefix('Patient/')}")
    if patient_id := request.path_params.get("patient_id"):  # the report page
        found.add(f"Patient/{patient_id}")
    if rule.kind is Kind.WRITE:
        found |= _owners(entries(body))
    elif rule.kind is Kind.EVALUATE:
        bundle, patients, _ = evaluate_parameters(body)
        found |= {p if p.startswith("Patient/") else f"Patient/{p}" for p in patients} | _owners(
            entries(bundle)
        )
    if rule.kind in (Kind.READ, Kind.SEARCH, Kind.EVALUATE) and response is not None and not found:
        found |= _answered(response)
    return {p for p in found if as_patient(p) == p}


def _owners(bundle_entries: list[dict[str, Any]]) -> set[str]:
    found = set()
    for entry in bundle_entries:
        resource = entry.get("resource")
        unnamed_patient = (
            isinstance(resource, dict)
            and resource.get("resourceType") == "Patient"
            and not resource.get("id")
        )
        if not isinstance(resource, dict) or unnamed_patient:
            continue
        if ref := patient_reference(resource):
            found.add(ref)
    return found


def _answered(response: Response) -> set[str]:
    if response.status_code != 200 or not response.headers.get("content-type", "").startswith(
        "application/fhir"
    ):
        return set()
    content = orjson.loads(bytes(response.body))
    resources = [e["resource"] for e in entries(content) if isinstance(e.get("resource"), dict)] or [content]
    return {ref for r in resources if (ref := patient_reference(r))}


def _query(request: Request) -> str:
    params = parse_qsl(request.url.query, keep_blank_values=True)
    return urlencode([(k, v) for k, v in params if k in _QUERY_KEYS])
