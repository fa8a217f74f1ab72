"""The CDS Hooks use case (https://cds-hooks.hl7.org/2.0/): a hook request → the patient's Assessment
(from the stored facts, plus the prefetched or fetched resources) → for order hooks, the concern about each
draft MedicationRequest (``service/domain/order_review.py``). Nothing is stored: the evaluation runs with
``persist=false``. Cards are rendered at the edge (``service/adapters/fhir_out/cards.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from service.adapters.fhir_in.evaluate_params import EvaluateParams
from service.adapters.fhir_in.versions import detect_version
from service.app.evaluate import EvaluateOperation, EvaluationRequest
from service.domain.assess import NotAssessableError
from service.domain.assessment import Assessment
from service.domain.order_review import OrderConcern, review_order
from service.errors import BadRequest
from service.knowledge import Knowledge

log = structlog.get_logger("service.cds_hooks")

# What the evaluation reads (FHIR-CONTRACT section 3), as prefetch templates of the discovery document.
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}&_count=1000",
    "imagingStudies": "ImagingStudy?patient={{context.patientId}}",
    "bodyStructures": "BodyStructure?patient={{context.patientId}}",
    "specimens": "Specimen?patient={{context.patientId}}",
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
}
MAX_PAGES = 10  # of each fetched search, following Bundle.link next


@dataclass(frozen=True, slots=True)
class HookRequest:
    hook: str
    patient_id: str
    language: str
    prefetch: dict[str, Any] = field(default_factory=dict)
    fhir_server: str | None = None
    access_token: str | None = None
    draft_orders: tuple[dict[str, Any], ...] = ()

    @classmethod
    def parse(cls, body: dict[str, Any], language: str) -> HookRequest:
        context = body.get("context")
        if not isinstance(context, dict) or not isinstance(context.get("patientId"), str):
            raise BadRequest("A hook request needs context.patientId", expression="context.patientId")
        auth = _object(body, "fhirAuthorization")
        prefetch = _object(body, "prefetch")
        return cls(
            str(body.get("hook", "")),
            context["patientId"],
            language,
            {k: v for k, v in prefetch.items() if isinstance(v, dict)},
            body["fhirServer"] if isinstance(body.get("fhirServer"), str) else None,
            auth.get("access_token") if isinstance(auth.get("access_token"), str) else None,
            _drafts(context),
        )

    @property
    def patient(self) -> str:
        return f"Patient/{self.patient_id}"


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _drafts(context: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The MedicationRequests of ``draftOrders``; for ``order-select`` only the ``selections``."""
    bundle = context.get("draftOrders")
    entries = bundle.get("entry", []) if isinstance(bundle, dict) else []
    drafts = [e.get("resource") for e in entries if isinstance(e, dict)]
    orders = [r for r in drafts if isinstance(r, dict) and r.get("resourceType") == "MedicationRequest"]
    selections = context.get("selections")
    if isinstance(selections, list):
        orders = [r for r in orders if f"MedicationRequest/{r.get('id')}" in selections]
    return tuple(orders)


@dataclass(frozen=True)
class CdsHooks:
    operation: EvaluateOperation
    knowledge: Knowledge
    http: httpx.AsyncClient

    async def assessment(self, request: HookRequest) -> Assessment | None:
        """The patient's assessment now, or None when there is nothing to assess (no card)."""
        stored = bool(await self.operation.evaluate.stored_facts(request.patient))
        resources = _prefetched(request.prefetch)
        if not resources and not stored and request.fhir_server:
            resources = await self._fetch(request)
        try:
            if not resources:
                return await self.operation.evaluate(EvaluationRequest(request.patient)) if stored else None
            bundle = _collection(resources)
            params = EvaluateParams(bundle=bundle, patient=request.patient, persist=False)
            return await self.operation(params, b"", detect_version(bundle))
        except NotAssessableError:
            return None

    def concerns(
        self, request: HookRequest, assessment: Assessment
    ) -> list[tuple[dict[str, Any], OrderConcern]]:
        """Each draft order the assessment has something to say about, with what it says."""
        found = []
        kb = self.operation.evaluate.policy.resistance
        for order in request.draft_orders:
            drug = self.ordered_drug(order)
            concern = drug and review_order(drug[0], drug[1], assessment, kb)
            if concern:
                found.append((order, concern))
        return found

    def ordered_drug(self, order: dict[str, Any]) -> tuple[str, str] | None:
        """(INN, class) of a MedicationRequest's drug, by code then by name (drugs.yaml), R4 or R5."""
        concept = order.get("medicationCodeableConcept") or (order.get("medication") or {}).get("concept")
        if not isinstance(concept, dict):
            return None
        drugs = self.knowledge.drugs
        codings = [c for c in concept.get("coding", []) if isinstance(c, dict)]
        names = [concept.get("text"), *(c.get("display") for c in codings)]
        known = next((d for c in codings if (d := drugs.by_code(c.get("system"), c.get("code")))), None)
        known = known or next((d for n in names if isinstance(n, str) and (d := drugs.by_name(n))), None)
        return (known.name, known.class_) if known else None

    async def _fetch(self, request: HookRequest) -> list[dict[str, Any]]:
        """The prefetch queries against ``fhirServer`` with the EHR's access token (CDS Hooks 2.0 section
        "FHIR Resource Access"); a failing query is logged by kind and left out."""
        headers = {"Accept": "application/fhir+json"}
        if request.access_token:
            headers["Authorization"] = f"Bearer {request.access_token}"
        base = str(request.fhir_server).rstrip("/")
        found: list[dict[str, Any]] = []
        for template in PREFETCH.values():
            url: str | None = f"{base}/{template.replace('{{context.patientId}}', request.patient_id)}"
            for _ in range(MAX_PAGES):
                if url is None:
                    break
                page = await self._get(url, headers)
                found += _prefetched({"page": page}) if page else []
                url = _next_link(page)
        return found

    async def _get(self, url: str, headers: dict[str, str]) -> dict[str, Any] | None:
        try:
            response = await self.http.get(url, headers=headers)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("cds_fetch_failed", error=type(exc).__name__)
            return None
        return body if isinstance(body, dict) else None


def _prefetched(prefetch: dict[str, Any]) -> list[dict[str, Any]]:
    """The resources of prefetch values: a resource itself, or the entries of a (searchset) Bundle."""
    found: list[dict[str, Any]] = []
    for value in prefetch.values():
        if not isinstance(value, dict) or value.get("resourceType") == "OperationOutcome":
            continue
        if value.get("resourceType") == "Bundle":
            found += [e["resource"] for e in value.get("entry", []) if isinstance(e.get("resource"), dict)]
        elif "resourceType" in value:
            found.append(value)
    return found


def _next_link(page: dict[str, Any] | None) -> str | None:
    links = page.get("link", []) if page else []
    return next((str(link["url"]) for link in links if link.get("relation") == "next"), None)


def _collection(resources: list[dict[str, Any]]) -> dict[str, Any]:
    unique = {f"{r['resourceType']}/{r.get('id')}": r for r in resources if r.get("id")}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "entry": [{"fullUrl": f"urn:cds:{key}", "resource": r} for key, r in unique.items()],
    }
