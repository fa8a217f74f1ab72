"""Laboratory and performance Observations → ``MarkerResult``, ``PerformanceStatus``, ``MrdResult``,
``TumourFractionResult`` (FHIR-CONTRACT.md section 3; CLINICAL-RULES.md K1, K5, K10, K11, K16).

CEA values are converted to the unit in loinc.yaml (ng/mL = ug/L); its upper limit is ``referenceRange.high``,
else None so the domain applies 5 ng/mL (K1). NSE and ProGRP (K16) are read the same way with the codes and
units of markers.yaml; their upper limit is only the lab's. ECOG and Karnofsky come from ``valueInteger`` or a
LOINC answer code (ecog.yaml). Fractions (VAF, tumour fraction) are 0-1 whatever the sender's unit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.elements import Node
from service.adapters.fhir_in.when import When, read_effective
from service.domain.facts import (
    MarkerResult,
    MolecularCall,
    MrdResult,
    PerformanceScale,
    PerformanceStatus,
    TumourFractionResult,
)
from service.knowledge.markers import TumourMarker
from service.knowledge.vocabularies import LoincCode

Scale = Literal["ecog", "karnofsky"]
MarkerCoding = LoincCode | TumourMarker  # CEA from loinc.yaml; NSE, ProGRP from markers.yaml (K16)


def observed(node: Node, ctx: Context) -> When | None:
    when = read_effective(node, "effective", ctx.today)
    if when is None and not {"effectiveDateTime", "effectivePeriod"} & node.data.keys():
        node.issues.warning(node.at("effective"), "no date; kept, not used", "incomplete")
    return when


def _source(node: Node) -> str:
    return f"Observation/{node.data.get('id')}"


def read_marker(node: Node, marker: MarkerCoding, ctx: Context) -> list[MarkerResult]:
    """CEA (K1) or a K16 neuroendocrine marker (NSE, ProGRP): a Quantity in an accepted unit."""
    patient, when = ctx.patient(node), observed(node, ctx)
    quantity = node.obj("valueQuantity")
    value = _converted(quantity, marker, ctx) if quantity else None
    if quantity is None:
        node.issues.warning(node.at("valueQuantity"), "no quantity; kept, not used", "incomplete")
    if patient is None or when is None or value is None:
        return []
    unit = next(iter(marker.units), "")
    high = next((h for r in node.objs("referenceRange") if (h := r.obj("high"))), None)
    limit = _converted(high, marker, ctx) if high else None
    return [
        MarkerResult(
            patient=patient,
            source=_source(node),
            marker=marker.concept,
            value=value,
            unit=unit,
            upper_limit=limit,
            observed_on=when.on,
            observed_at=when.at,
        )
    ]


def _converted(quantity: Node, marker: MarkerCoding, ctx: Context) -> Decimal | None:
    value, code = quantity.number("value"), quantity.text("code")
    factor = marker.units.get(code or "") if quantity.text("system") == ctx.knowledge.units.system else None
    if factor is None:
        quantity.issues.warning(quantity.at("code"), f"unit '{code}' not recognised; kept, not used")
        return None
    if value is None:
        quantity.issues.error(quantity.at("value"), "a quantity needs a value")
        return None
    return value * factor


def read_performance(node: Node, scale: Scale, ctx: Context) -> list[PerformanceStatus]:
    patient, when = ctx.patient(node), observed(node, ctx)
    scores = ctx.knowledge.performance_scores
    score = node.integer("valueInteger")
    if score is None:
        codings = node.codings("valueCodeableConcept")
        score = next((s for c in codings if (s := scores.score(scale, c.system, c.code)) is not None), None)
    if score is None:
        node.issues.not_recognised(node.at("value"), f"{scale} score")
    elif not scores.valid(scale, score):
        node.issues.error(node.at("valueInteger"), f"{scale} score {score} is out of range")
        score = None
    if patient is None or when is None or score is None:
        return []
    return [
        PerformanceStatus(
            patient=patient,
            source=_source(node),
            scale=PerformanceScale(scale),
            score=score,
            observed_on=when.on,
            observed_at=when.at,
        )
    ]


def read_mrd(node: Node, ctx: Context) -> list[MrdResult]:
    patient, when = ctx.patient(node), observed(node, ctx)
    codings = node.codings("valueCodeableConcept")
    call = next((ctx.local.molecular_calls.get((c.system or "", c.code or "")) for c in codings), None)
    quantity = node.obj("valueQuantity")
    value = quantity.number("value") if quantity else None
    if call is None and value is None:
        node.issues.not_recognised(node.at("value"), "MRD result")
    if patient is None or when is None or (call is None and value is None):
        return []
    unit = quantity.text("code") if quantity else None
    result = MolecularCall(call) if call else None
    return [
        MrdResult(
            patient=patient,
            source=_source(node),
            call=result,
            value=value,
            unit=unit,
            observed_on=when.on,
            observed_at=when.at,
        )
    ]


def read_tumour_fraction(node: Node, ctx: Context) -> list[TumourFractionResult]:
    patient, when = ctx.patient(node), observed(node, ctx)
    quantity = node.obj("valueQuantity")
    value = fraction(quantity, ctx) if quantity else None
    if patient is None or when is None or value is None:
        return []
    fact = TumourFractionResult(
        patient=patient, source=_source(node), fraction=value, observed_on=when.on, observed_at=when.at
    )
    return [fact]


def fraction(quantity: Node, ctx: Context) -> Decimal | None:
    """A fraction 0-1 from a Quantity in ``%`` or ``1`` (factors in loinc.yaml, allele-frequency); without a
    UCUM code only a value already within 0-1 is read, anything else would be a guess."""
    value, code = quantity.number("value"), quantity.text("code")
    factors = next((e.units for e in ctx.knowledge.loinc.codes if e.concept == "allele-frequency"), {})
    factor = factors.get(code) if code is not None else Decimal(1)
    if value is None or factor is None:
        quantity.issues.error(
            quantity.at("code"), f"a fraction needs a value and a unit of {', '.join(factors)}"
        )
        return None
    result = value * factor
    if not 0 <= result <= 1:
        quantity.issues.error(quantity.at("value"), f"fraction {value} {code or ''} is outside 0-1")
        return None
    return result
