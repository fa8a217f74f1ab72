"""CDS Hooks 2.0 cards (https://cds-hooks.hl7.org/2.0/#card-attributes) in the request's language, with the
report's own words (``summary.py``, ``wording.py``): the ``patient-view`` card of an Assessment and the
``order-select`` / ``order-sign`` card of a concern about a draft MedicationRequest, whose suggestions carry
the FHIR ``update`` (the draft, with the suggested drug) and ``create`` actions an EHR can apply.

Indicator (issue 18): ``critical`` for progression supported or confirmed, or an urgent review; ``warning``
for a borderline or uncertain reading; ``info`` otherwise. An order concern is always a ``warning``.
"""

from __future__ import annotations

import uuid
from typing import Any

from service.adapters.fhir_out.result_context import SERVICE_NAME, ResultContext
from service.adapters.fhir_out.summary import summary_lines
from service.adapters.fhir_out.wording import drug_name, evidence, suggestion
from service.domain.assessment import Assessment, ProgressionStatus
from service.domain.order_review import ConcernReason, OrderConcern
from service.domain.rules import Flag
from service.domain.suggestions import CareSuggestion, SuggestedAction

SUMMARY_LIMIT = 140  # "<140-character summary message for display to the user"
_CRITICAL = frozenset({ProgressionStatus.SUPPORTED, ProgressionStatus.ICPD})
_WARNING = frozenset({ProgressionStatus.UNCERTAIN, ProgressionStatus.IUPD})


def indicator(assessment: Assessment) -> str:
    urgent = any(s.code is CareSuggestion.URGENT_CLINICAL_REVIEW for s in assessment.suggestions)
    if assessment.progression in _CRITICAL or urgent:
        return "critical"
    if assessment.progression in _WARNING or Flag.BORDERLINE_PD in assessment.flags:
        return "warning"
    return "info"


def patient_view_card(ctx: ResultContext, report_url: str) -> dict[str, Any]:
    """The latest assessment: response, progression, notes and mechanisms; the top suggestion offered."""
    a = ctx.assessment
    parts = [
        ctx.display("response-category", a.response_category),
        ctx.display("progression-status", a.progression.value),
        *(ctx.display("resistance-mechanism", f.mechanism) for f in a.findings),
        *(ctx.display("assessment-flag", f.value) for f in a.flags),
    ]
    card = _card(ctx, _fit(ctx, parts), indicator(a), _detail(ctx), report_url)
    top = a.suggestions[:1]
    if top:
        card["suggestions"] = [_suggestion(ctx, top[0], None)]
        card["selectionBehavior"] = "at-most-one"
    return card


def order_card(
    ctx: ResultContext, order: dict[str, Any], concern: OrderConcern, report_url: str
) -> dict[str, Any]:
    """A warning on one draft order, offering each alternative as a suggestion that updates the draft."""
    name = drug_name(ctx, concern.drug)
    if concern.reason is ConcernReason.RESISTANCE and concern.finding is not None:
        mechanism = ctx.display("resistance-mechanism", concern.finding.mechanism)
        summary = ctx.text("cds.order-resistance").format(drug=name, mechanism=mechanism)
        detail = f"{evidence(ctx, concern.finding)} [{' '.join(concern.rules)}]"
    else:
        summary = ctx.text("cds.order-progressed-on").format(drug=name)
        detail = f"[{' '.join(concern.rules)}]"
    card = _card(ctx, summary[:SUMMARY_LIMIT], "warning", detail, report_url)
    if concern.alternatives:
        card["suggestions"] = [_suggestion(ctx, action, order) for action in concern.alternatives]
        card["selectionBehavior"] = "at-most-one"
    return card


def _card(ctx: ResultContext, summary: str, level: str, detail: str, report_url: str) -> dict[str, Any]:
    a = ctx.assessment
    kb = f"{ctx.text('label.knowledge-base')} {a.knowledge_base_version}"
    return {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "indicator": level,
        "detail": detail,
        "source": {
            "label": f"{SERVICE_NAME} {ctx.service_version} · {kb}",
            "url": report_url,
            "topic": ctx.canon_coding("report-type", "response-resistance-assessment"),
        },
        "links": [{"label": ctx.text("cds.open-report"), "url": report_url, "type": "absolute"}],
    }


def _fit(ctx: ResultContext, parts: list[str]) -> str:
    """As many parts as fit the card's 140 characters, the response always first."""
    separator = ctx.text("format.clause-separator")
    summary = parts[0]
    for part in dict.fromkeys(parts[1:]):
        if len(summary) + len(separator) + len(part) > SUMMARY_LIMIT:
            break
        summary += separator + part
    return summary[:SUMMARY_LIMIT]


def _detail(ctx: ResultContext) -> str:
    """GitHub-flavoured markdown, as the spec allows: the report's summary lines, one bullet each."""
    return "\n".join(f"- {line}" for line in summary_lines(ctx))


def _suggestion(ctx: ResultContext, action: SuggestedAction, order: dict[str, Any] | None) -> dict[str, Any]:
    label = suggestion(ctx, action)
    actions = [_action(ctx, drug, label, order if i == 0 else None) for i, drug in enumerate(action.drugs)]
    made: dict[str, Any] = {"label": label[:SUMMARY_LIMIT], "uuid": str(uuid.uuid4()), "isRecommended": True}
    if actions:
        made["actions"] = actions
    return made


def _action(ctx: ResultContext, drug: str, label: str, order: dict[str, Any] | None) -> dict[str, Any]:
    """``update`` of the draft order (its drug replaced) where there is one, else ``create`` of a proposal."""
    concept = _medication_concept(ctx, drug)
    if order is not None and order.get("id"):
        resource = {k: v for k, v in order.items() if k not in ("medicationCodeableConcept", "medication")}
        resource |= _medication_element(ctx, concept)
        return {"type": "update", "description": label, "resource": resource}
    proposal = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": ctx.assessment.patient},
        **_medication_element(ctx, concept),
    }
    return {"type": "create", "description": label, "resource": proposal}


def _medication_element(ctx: ResultContext, concept: dict[str, Any]) -> dict[str, Any]:
    return {"medication": {"concept": concept}} if ctx.r5 else {"medicationCodeableConcept": concept}


def _medication_concept(ctx: ResultContext, inn: str) -> dict[str, Any]:
    drugs = ctx.knowledge.drugs
    known = drugs.by_name(inn)
    codings = []
    if known is not None:
        codings += [{"system": drugs.systems.rxnorm, "code": c, "display": inn} for c in known.rxnorm]
        codings += [{"system": drugs.systems.atc, "code": c, "display": inn} for c in known.atc]
    return {"coding": codings, "text": drug_name(ctx, inn)}
