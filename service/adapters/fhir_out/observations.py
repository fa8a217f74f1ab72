"""The result Observations of the DiagnosticReport (FHIR-CONTRACT.md section 4): time-point response, best
overall response, progression assessment and the mCODE CancerDiseaseStatus. Plain dicts, R4 and R5 alike."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from service.adapters.fhir_out.result_context import ResultContext, references
from service.domain.response import NewLesions, NonTargetResponse, SumOfDiameters, TargetResponse

TENTH = Decimal("0.1")  # values are given to one decimal


def observation(
    ctx: ResultContext, part: str, code: dict[str, Any], sources: list[str], *, unique: bool = False
) -> dict[str, Any]:
    """The frame every result Observation shares: preliminary, the time point, the service as device.
    ``sources``: those ``derivedFrom`` may name (``result_context.derivable``), each named once in order
    (``unique``: they are each there once already)."""
    resource_id = ctx.id_for(part)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": resource_id,
        # Deterministic, like the id: the write-back's conditional create matches it on a retry (issue 7).
        "identifier": [{"system": ctx.canon("observation-id"), "value": resource_id}],
        "status": "preliminary",
        "code": code,
        "subject": ctx.subject,
        "effectiveDateTime": ctx.assessment.time_point.date.isoformat(),
        "issued": ctx.issued_text,
        "device": ctx.device_reference,
    }
    if derived := [{"reference": s} for s in sources] if unique else references(sources):
        resource["derivedFrom"] = derived
    return resource


def response_value(ctx: ResultContext, category: str) -> dict[str, Any]:
    """A response-category concept, with the NCI Thesaurus coding where one exists (section 4)."""
    value = ctx.concept("response-category", category)
    ncit = ctx.knowledge.output_codes.response_ncit.get(category)
    if ncit is not None:
        value["coding"].append(ctx.external_coding(ncit))
    return value


def timepoint_response(ctx: ResultContext) -> dict[str, Any]:
    a = ctx.assessment
    resource = observation(
        ctx,
        "timepoint-response",
        ctx.concept("observation-type", "timepoint-response"),
        ctx.derivable_imaging_evidence,
    )
    resource["method"] = ctx.concept("response-criteria", a.criteria.value)
    resource["valueCodeableConcept"] = response_value(ctx, a.response_category)
    resource["component"] = _timepoint_components(ctx)
    return resource


def best_overall_response(ctx: ResultContext) -> dict[str, Any]:
    a = ctx.assessment
    code = ctx.concept("observation-type", "best-overall-response")
    sources = [f"Observation/{ctx.id_for('timepoint-response')}", *ctx.derivable_imaging_evidence]
    resource = observation(ctx, "best-overall-response", code, sources)
    resource["method"] = ctx.concept("response-criteria", a.criteria.value)
    resource["valueCodeableConcept"] = response_value(ctx, a.best_category)
    resource["component"] = [_component(ctx, "response-confirmed", {"valueBoolean": a.best.confirmed})]
    return resource


def progression_assessment(ctx: ResultContext) -> dict[str, Any]:
    a = ctx.assessment
    code = ctx.concept("observation-type", "progression-assessment")
    sources = [f"Observation/{ctx.id_for('timepoint-response')}", *ctx.derivable_evidence]
    resource = observation(ctx, "progression-assessment", code, sources)
    resource["valueCodeableConcept"] = ctx.concept("progression-status", a.progression.value)
    return resource


def disease_status(ctx: ResultContext) -> dict[str, Any]:
    """mCODE CancerDiseaseStatus: LOINC 97509-4, a SNOMED value, one evidence-type extension per type used."""
    a, codes = ctx.assessment, ctx.knowledge.output_codes.disease_status
    code = {"coding": [ctx.external_coding(codes.code)]}
    resource = observation(ctx, "disease-status", code, ctx.derivable_evidence, unique=True)
    resource["meta"] = {"profile": [codes.profile]}
    if a.condition:  # mCODE must-support: the cancer Condition whose status this is
        resource["focus"] = [{"reference": a.condition}]
    if a.evidence_types:
        resource["extension"] = [
            {"url": codes.evidence_extension, "valueCodeableConcept": {"coding": [ctx.external_coding(ref)]}}
            for ref in (codes.evidence[t] for t in a.evidence_types)
        ]
    resource["valueCodeableConcept"] = {"coding": [ctx.external_coding(codes.values[a.disease_status])]}
    return resource


def _timepoint_components(ctx: ResultContext) -> list[dict[str, Any]]:
    point = ctx.assessment.time_point
    components = []
    if point.target is not TargetResponse.NONE:
        components.append(_coded_component(ctx, "target-response", point.target.value))
    if point.non_target is not NonTargetResponse.NONE:
        components.append(_coded_component(ctx, "non-target-response", point.non_target.value))
    unequivocal = point.new_lesions is NewLesions.UNEQUIVOCAL
    components.append(_component(ctx, "new-lesions", {"valueBoolean": unequivocal}))
    if point.sums is not None:
        components += _sum_components(ctx, point.sums)
    return components


def _sum_components(ctx: ResultContext, sums: SumOfDiameters) -> list[dict[str, Any]]:
    mm, percent = ctx.knowledge.output_codes.units.millimetre, ctx.knowledge.output_codes.units.percent
    values = [
        ("sum-of-diameters", sums.sum_mm, mm),
        ("percent-change-from-baseline", sums.percent_from_baseline, percent),
        ("percent-change-from-nadir", sums.percent_from_nadir, percent),
        ("nadir-sum-of-diameters", sums.nadir_mm, mm),
    ]
    return [
        _component(ctx, code, {"valueQuantity": quantity(ctx, value, unit.code, unit.unit)})
        for code, value, unit in values
        if value is not None  # S8: no percentage against a zero reference
    ]


def quantity(ctx: ResultContext, value: Decimal, code: str, unit: str) -> dict[str, Any]:
    """A UCUM Quantity; the value rounded to 0.1 (JSON number)."""
    return {
        "value": json_number(value),
        "unit": unit,
        "system": ctx.knowledge.output_codes.ucum,
        "code": code,
    }


def json_number(value: Decimal) -> int | float:
    rounded = value.quantize(TENTH)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def _coded_component(ctx: ResultContext, code: str, category: str) -> dict[str, Any]:
    return _component(ctx, code, {"valueCodeableConcept": ctx.concept("response-category", category)})


def _component(ctx: ResultContext, code: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"code": ctx.concept("observation-type", code), **value}
