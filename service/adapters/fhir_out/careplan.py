"""The CarePlan suggestion (FHIR-CONTRACT.md section 5): ``draft`` / ``proposal``, one activity per suggested
action. R4 carries each action in ``activity.detail``; R5 in a contained ServiceRequest or MedicationRequest
named by ``activity.plannedActivityReference``. Rule IDs travel in an extension on each activity
(CLINICAL-RULES section 6 step 6), the description cites rules, tier and knowledge-base version."""

from __future__ import annotations

from typing import Any

from service.adapters.fhir_out.result_context import ResultContext
from service.adapters.fhir_out.therapeutic import drug_concept, implication_part
from service.adapters.fhir_out.therapy_context import therapy_context_references
from service.adapters.fhir_out.wording import chinese, note, suggestion, tier
from service.domain.resistance import ResistanceFinding
from service.domain.rules import Rule
from service.domain.suggestions import CareSuggestion, SuggestedAction

RULE_EXTENSION = "StructureDefinition/rule-id"  # CANON-relative


def care_plan(ctx: ResultContext, report_id: str) -> dict[str, Any]:
    a = ctx.assessment
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": ctx.id_for("careplan"),
        "identifier": [{"system": ctx.canon("careplan-id"), "value": ctx.report_key}],
        "status": "draft",
        "intent": "proposal",
        "subject": ctx.subject,
        "created": ctx.issued_text,
        "description": ctx.text("careplan.description"),
        "supportingInfo": [{"reference": f"DiagnosticReport/{report_id}"}, *therapy_context_references(ctx)],
    }
    if a.condition:
        condition = {"reference": a.condition}
        resource["addresses"] = [{"reference": condition} if ctx.r5 else condition]
    activities = [_activity(ctx, index, s) for index, s in enumerate(a.suggestions)]
    if ctx.r5:
        resource["contained"] = [request for _, request in activities]
    resource["activity"] = [activity for activity, _ in activities]
    return resource


def _activity(
    ctx: ResultContext, index: int, action: SuggestedAction
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The activity and, for R5, the contained request it names."""
    extension = [{"url": ctx.canon(RULE_EXTENSION), "valueCode": rule.value} for rule in action.rules]
    if ctx.r5:
        request = _r5_request(ctx, f"suggestion-{index + 1}", action)
        return {
            "extension": extension,
            "plannedActivityReference": {"reference": f"#{request['id']}"},
        }, request
    return {"extension": extension, "detail": _r4_detail(ctx, action)}, {}


def _r4_detail(ctx: ResultContext, action: SuggestedAction) -> dict[str, Any]:
    drugs = _drugs(ctx, action)
    detail: dict[str, Any] = {
        "kind": "MedicationRequest" if drugs else "ServiceRequest",
        "code": _code(ctx, action),
        "reasonReference": _reasons(ctx, action),
        "status": "not-started",
        "description": _description(ctx, action),
    }
    if drugs:
        detail["productCodeableConcept"] = _product(ctx, drugs)
    return detail


def _r5_request(ctx: ResultContext, request_id: str, action: SuggestedAction) -> dict[str, Any]:
    drugs = _drugs(ctx, action)
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest" if drugs else "ServiceRequest",
        "id": request_id,
        "status": "draft",
        "intent": "proposal",
        "subject": ctx.subject,
        "reason": [{"reference": reference} for reference in _reasons(ctx, action)],
        "note": [{"text": _description(ctx, action)}],
    }
    code = _code(ctx, action)
    if drugs:
        request |= {"category": [code], "medication": {"concept": _product(ctx, drugs)}}
    else:
        request["code"] = {"concept": code}
    return request


def _code(ctx: ResultContext, action: SuggestedAction) -> dict[str, Any]:
    """The care-suggestion code; in zh-CN its text names the drugs (the table 11.3 template filled)."""
    concept = ctx.concept("care-suggestion", action.code.value)
    if chinese(ctx):
        concept["text"] = suggestion(ctx, action)
    return concept


def _drugs(ctx: ResultContext, action: SuggestedAction) -> tuple[str, ...]:
    """The suggested drugs; continuing the current therapy names the line's drugs still given (R6)."""
    current = ctx.assessment.current_drugs or (
        (ctx.assessment.current_drug,) if ctx.assessment.current_drug else ()
    )
    if not action.drugs and action.code is CareSuggestion.CONTINUE_CURRENT_THERAPY and current:
        return current
    return action.drugs


def _product(ctx: ResultContext, drugs: tuple[str, ...]) -> dict[str, Any]:
    """One concept naming the drugs (alternatives or a combination, as the note says): RxNorm and text."""
    concepts = [drug_concept(ctx, drug) for drug in drugs]
    product: dict[str, Any] = {"text": ", ".join(drugs)}
    codings = [coding for concept in concepts for coding in concept.get("coding", [])]
    if codings:
        product["coding"] = codings
    return product


def _findings(ctx: ResultContext, action: SuggestedAction) -> list[ResistanceFinding]:
    return [f for f in ctx.assessment.findings if f.rule in action.rules]


def _reasons(ctx: ResultContext, action: SuggestedAction) -> list[dict[str, str]]:
    """The findings behind the action: the progression assessment and the matching resistance findings."""
    parts = ["progression-assessment", *(implication_part(f) for f in _findings(ctx, action))]
    return [{"reference": f"Observation/{ctx.id_for(part)}"} for part in parts]


def _labels(action: SuggestedAction) -> tuple[tuple[str, str | None], ...]:
    return (("evidence-label", action.label), ("jurisdiction", action.jurisdiction))


def _own_tier(ctx: ResultContext, action: SuggestedAction) -> str:
    """C9: the action's own tier where no finding states one (A12 standard options after nothing
    actionable); "standard of care" is left to the evidence label, which says it."""
    if action.tier in (None, "standard-of-care"):
        return ""
    return f"{action.tier}\u7ea7" if chinese(ctx) else str(action.tier)  # zh-CN: the tier as a grade


def _description(ctx: ResultContext, action: SuggestedAction) -> str:
    """The suggestion, its note, rules, evidence tier and knowledge-base version (FHIR-CONTRACT section 5):
    English sentences joined by ". "; zh-CN sentences each ending in a full-width stop (Z1)."""
    zh = chinese(ctx)
    colon, end = ctx.text("format.colon"), ctx.text("format.sentence-end")
    comma = ctx.text("format.clause-separator") if zh else ", "
    space = ctx.text("format.list-separator") if zh else " "
    parts = [suggestion(ctx, action) if zh else ctx.display("care-suggestion", action.code.value)]
    if action.drugs and not zh:
        parts.append(", ".join(action.drugs))
    if remark := note(ctx, action):
        parts.append(remark)
    if action.code is CareSuggestion.LOCAL_ABLATIVE_THERAPY and Rule.C2 in action.rules:
        parts.append(ctx.text("note.local-therapy-adjunct"))  # C2: beside a new line, never "continue"
    parts.append(f"{ctx.text('label.rules')}{colon}{space.join(action.rules)}")
    tiers = comma.join(dict.fromkeys(tier(ctx, f) for f in _findings(ctx, action))) or _own_tier(ctx, action)
    if tiers:
        parts.append(f"{ctx.text('label.evidence-tier')}{colon}{tiers}")
    # C9, Z6: the action's own evidence and jurisdiction labels (texts evidence-label.*, jurisdiction.*)
    parts += [ctx.translated(f"{kind}.{key}") for kind, key in _labels(action) if key]
    parts.append(f"{ctx.text('label.knowledge-base')}{colon}{ctx.assessment.knowledge_base_version}")
    if zh:
        return "".join(part.removesuffix(end) + end for part in parts)
    return ". ".join(parts)
