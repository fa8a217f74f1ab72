"""CDS Hooks 2.0 (https://cds-hooks.hl7.org/2.0/): discovery, the ``patient-view``, ``order-select`` and
``order-sign`` services and their feedback. Every hook call carries the EHR's signed JWT (``cds_jwt.py``); the
answer is ``{"cards": [...]}``, empty when there is nothing to say. Parse, delegate, render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import structlog
from fastapi import APIRouter, Depends, Request
from prometheus_client import Counter

from service.adapters.cds_jwt import CdsTokenVerifier
from service.adapters.fhir_out.audit import AuditRecord
from service.adapters.fhir_out.cards import order_card, patient_view_card
from service.adapters.fhir_out.result_context import ResultContext
from service.app.audit import AuditTrail
from service.app.cds_feedback import CdsFeedback
from service.app.cds_hooks import PREFETCH, CdsHooks, HookRequest
from service.bootstrap import Container
from service.domain.assessment import Assessment
from service.errors import BadRequest, NotFound

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])

SERVICES = {
    "oncoresponse-patient-view": ("patient-view", "Tumour response and resistance, from the latest imaging"),
    "oncoresponse-order-select": ("order-select", "A drug being ordered, against progression and resistance"),
    "oncoresponse-order-sign": ("order-sign", "A drug order before signing, against progression, resistance"),
}  # fmt: skip


class CdsState:
    """The hooks' collaborators, built once per app from its container (the verifier caches JWK sets and
    remembers seen ``jti`` values, so it must live as long as the app)."""

    def __init__(self, container: Container, metrics: Any) -> None:
        self.container = container
        self.verifier = CdsTokenVerifier(container.settings.cds_trusted_issuers, container.http)
        self.hooks = CdsHooks(container.evaluate_operation, container.knowledge, container.http)
        counter = Counter(
            "onco_cds_feedback", "CDS Hooks feedback by service and outcome", ("service", "outcome"),
            registry=metrics.registry,
        )  # fmt: skip
        self.feedback = CdsFeedback(
            container.store, lambda service, outcome: counter.labels(service, outcome).inc()
        )


async def _state(request: Request) -> CdsState:
    state: CdsState | None = getattr(request.app.state, "cds", None)
    if state is None:
        state = request.app.state.cds = CdsState(request.app.state.container, request.app.state.metrics)
    return state


StateDep = Annotated[CdsState, Depends(_state)]


@router.get("", operation_id="cds_discovery", summary="CDS Hooks discovery: the services offered")
async def discovery() -> dict[str, Any]:
    services = [
        {"id": sid, "hook": hook, "title": f"oncoresponse {hook}", "description": text, "prefetch": PREFETCH}
        for sid, (hook, text) in SERVICES.items()
    ]
    return {"services": services}


@router.post("/{service_id}", operation_id="cds_hook", summary="Call a CDS Hooks service: cards")
async def call_hook(service_id: str, request: Request, state: StateDep) -> dict[str, Any]:
    hook = _hook(service_id)
    claims = await state.verifier.verify(request.headers.get("authorization"), _audience(request))
    hook_request = HookRequest.parse(await _json(request), _language(request))
    if hook_request.hook and hook_request.hook != hook:
        raise BadRequest(f"This service answers {hook}, not {hook_request.hook}", expression="hook")
    assessment = await state.hooks.assessment(hook_request)
    await _audit(state, claims, service_id, hook_request.patient_id)
    if assessment is None:
        return {"cards": []}
    ctx = _context(state.container, assessment, hook_request.language)
    url = _report_url(request, hook_request)
    if hook == "patient-view":
        return {"cards": [patient_view_card(ctx, url)]}
    concerns = state.hooks.concerns(hook_request, assessment)
    return {"cards": [order_card(ctx, order, concern, url) for order, concern in concerns]}


@router.post("/{service_id}/feedback", operation_id="cds_feedback", summary="Feedback on a service's cards")
async def feedback(service_id: str, request: Request, state: StateDep) -> dict[str, Any]:
    _hook(service_id)
    claims = await state.verifier.verify(request.headers.get("authorization"), _audience(request))
    await state.feedback.record(service_id, await _json(request), claims)
    return {}


async def _audit(state: CdsState, claims: dict[str, Any], service_id: str, patient_id: str) -> None:
    """Issue 16: the EHR read this patient's assessment, so the call leaves one AuditEvent naming the EHR
    client (the verified JWT's ``sub``, under its issuer, as the feedback events do) and the patient."""
    issuer = str(claims.get("iss", ""))
    client = str(claims.get("sub") or issuer)
    request_id = structlog.contextvars.get_contextvars().get("request_id", "unknown")
    record = AuditRecord(
        "operation", 200, client, (f"Patient/{patient_id}",), request_id, datetime.now(UTC),
        operation=f"cds-services/{service_id}",
    )  # fmt: skip
    await AuditTrail(state.container.store, issuer).record(record)


def _hook(service_id: str) -> str:
    if service_id not in SERVICES:
        raise NotFound(f"No CDS service '{service_id}' (GET /cds-services lists them)")
    return SERVICES[service_id][0]


def _audience(request: Request) -> str:
    """The ``aud`` the JWT must name: this service's endpoint, as the EHR called it (CDS Hooks 2.0)."""
    return str(request.url.replace(query=None, fragment=None))


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def _language(request: Request) -> str:
    """zh-CN when the EHR prefers Chinese (``Accept-Language: zh...``), else English."""
    first = request.headers.get("accept-language", "en").split(",")[0].strip().lower()
    return "zh-CN" if first.startswith("zh") else "en"


def _context(container: Container, assessment: Assessment, language: str) -> ResultContext:
    k = container.knowledge
    return ResultContext(
        assessment,
        k,
        container.settings.canonical_base,
        language,
        container.settings.output_fhir_version,
        datetime.now(UTC),
        k.texts.text,
    )


def _report_url(request: Request, hook_request: HookRequest) -> str:
    url = request.url_for("view_patient", patient_id=hook_request.patient_id)
    return str(url.include_query_params(lang=hook_request.language))
