"""One Genomics Reporting TherapeuticImplication per resistance finding (FHIR-CONTRACT.md section 4), shaped
as the IG 3.0.0 examples (Observation-EGFR-L858R-therapuDrug1.json): the implication component (LA6676-6
Resistant), `medication-assessed` the current drug, the level of evidence, and the mechanism from
``CANON/CodeSystem/resistance-mechanism``; `derivedFrom` the variant (or histology) evidence."""

from __future__ import annotations

from typing import Any

from service.adapters.fhir_out.observations import observation
from service.adapters.fhir_out.result_context import ResultContext, derivable
from service.adapters.fhir_out.wording import (
    alteration,
    chinese,
    drug_name,
    evidence,
    parenthesised,
    tier_name,
)
from service.domain.resistance import ResistanceFinding


def implication_part(finding: ResistanceFinding) -> str:
    return f"therapeutic-implication|{finding.rule.value}|{finding.mechanism}"


def therapeutic_implication(ctx: ResultContext, finding: ResistanceFinding) -> dict[str, Any]:
    codes = ctx.knowledge.output_codes.therapeutic_implication
    code = {"coding": [ctx.external_coding(codes.code)]}
    resource = observation(ctx, implication_part(finding), code, derivable(finding.evidence))
    if (
        "derivedFrom" in resource
    ):  # the profile needs one (a histology finding has only a Condition, issue 15)
        resource["meta"] = {"profile": [codes.profile]}
    resource["category"] = [{"coding": [ctx.external_coding(ref)]} for ref in codes.categories]
    resource["component"] = [
        _component(
            ctx.external_coding(codes.implication), {"coding": [ctx.external_coding(codes.resistant)]}
        ),
        *_medication_assessed(ctx),
        _component(ctx.external_coding(codes.evidence_level), {"text": _evidence_text(ctx, finding)}),
        _component(
            ctx.canon_coding("observation-type", "resistance-mechanism"),
            ctx.concept("resistance-mechanism", finding.mechanism),
        ),
    ]
    if finding.alterations:
        separator = ctx.text("format.clause-separator") if chinese(ctx) else "; "
        resource["note"] = [{"text": separator.join(alteration(ctx, a) for a in finding.alterations)}]
    return resource


def drug_concept(ctx: ResultContext, drug: str) -> dict[str, Any]:
    """A drug as RxNorm and ATC (drugs.yaml, the first code of each listed; C9) and text (its name in the
    language, Z5); text only where neither has a code."""
    known = ctx.knowledge.drugs.by_name(drug)
    concept: dict[str, Any] = {"text": drug_name(ctx, drug)}
    systems = ctx.knowledge.drugs.systems
    if known is not None:
        codes = [(systems.rxnorm, known.rxnorm), (systems.atc, known.atc)]
        coding = [{"system": system, "code": c[0], "display": known.name} for system, c in codes if c]
        if coding:
            concept["coding"] = coding
    return concept


def _medication_assessed(ctx: ResultContext) -> list[dict[str, Any]]:
    drug = ctx.assessment.current_drug
    if drug is None:
        return []
    medication = ctx.knowledge.output_codes.therapeutic_implication.medication_assessed
    return [_component(ctx.external_coding(medication), drug_concept(ctx, drug))]


def _evidence_text(ctx: ResultContext, finding: ResistanceFinding) -> str:
    """ "X1: AURA3 ... (indicative tier I-A)"; in zh-CN the same with the translated evidence (Z1, Z2)."""
    if not chinese(ctx):
        return f"{finding.rule.value}: {finding.evidence_basis} (indicative tier {finding.tier})"
    level = parenthesised(ctx, ctx.text("label.indicative-tier") + tier_name(ctx, finding))
    return f"{finding.rule.value}{ctx.text('format.colon')}{evidence(ctx, finding)}{level}"


def _component(code: dict[str, str], value: dict[str, Any]) -> dict[str, Any]:
    return {"code": {"coding": [code]}, "valueCodeableConcept": value}
