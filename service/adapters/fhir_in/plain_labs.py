"""The fast path for tumour-marker and performance-status Observations (issue 19), as :mod:`plain_lesions` is
for lesions: one typed decode of the elements :mod:`labs` reads for CEA, NSE, ProGRP, ECOG and Karnofsky,
then its rules without a Node per element.

Taken only when the checked reading would report nothing (a wrong JSON type, no Patient, no usable date, an
unknown unit or score, a score out of range, no value all give None, and the checked reading reads the
resource and reports). The two readings are tested to agree (tests/adapters/fhir_in/test_plain_labs.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.labs import MarkerCoding, Scale
from service.adapters.fhir_in.lesion_shapes import Concept, Quantity, Reference, Shape, codings
from service.adapters.fhir_in.when import When, plain_when
from service.domain.facts import MarkerResult, PerformanceScale, PerformanceStatus


class _Range(Shape):
    high: Quantity | None = None


class _Lab(Shape):
    subject: Reference | None = None
    effective_date_time: str | None = None
    value_quantity: Quantity | None = None
    value_integer: int | None = None  # msgspec takes no bool and no float for an int, as Node.integer
    value_codeable_concept: Concept | None = None
    reference_range: list[_Range] = msgspec.field(default_factory=list)


_SCALES = {scale.value: scale for scale in PerformanceScale}


def read_plain_marker(data: dict[str, Any], marker: MarkerCoding, ctx: Context) -> MarkerResult | None:
    """The marker value of a well-formed resource; None when the checked reading must read it."""
    read = _decoded(data, ctx)
    quantity = read[0].value_quantity if read is not None else None
    if read is None or quantity is None:
        return None
    lab, patient, when = read
    value = _converted(quantity, marker, ctx)
    high = _high(lab.reference_range)
    limit = _converted(high, marker, ctx) if high is not None else None
    if value is None or (high is not None and limit is None):
        return None
    return MarkerResult(
        patient=patient,
        source=f"Observation/{data.get('id')}",
        marker=marker.concept,
        value=value,
        unit=next(iter(marker.units), ""),
        upper_limit=limit,
        observed_on=when.on,
        observed_at=when.at,
    )


def read_plain_performance(data: dict[str, Any], scale: Scale, ctx: Context) -> PerformanceStatus | None:
    """The score of a well-formed resource; None when the checked reading must read it."""
    read = _decoded(data, ctx)
    if read is None:
        return None
    lab, patient, when = read
    scores = ctx.knowledge.performance_scores
    score = lab.value_integer
    if score is None:
        concept = lab.value_codeable_concept
        found = (s for c in codings(concept) if (s := scores.score(scale, c.system, c.code)) is not None)
        score = next(found, None)
    if score is None or not scores.valid(scale, score):
        return None
    return PerformanceStatus(
        patient=patient,
        source=f"Observation/{data.get('id')}",
        scale=_SCALES[scale],
        score=score,
        observed_on=when.on,
        observed_at=when.at,
    )


def _high(ranges: list[_Range]) -> Quantity | None:
    """The first referenceRange.high sent (a loop: no generator for each marker)."""
    for reference_range in ranges:
        if reference_range.high is not None:
            return reference_range.high
    return None


def _decoded(data: dict[str, Any], ctx: Context) -> tuple[_Lab, str, When] | None:
    """The decoded resource, its Patient and date; None when one is missing or not well formed."""
    if "effectivePeriod" in data:
        return None
    try:
        lab = msgspec.convert(data, _Lab)
    except msgspec.ValidationError:
        return None
    patient = ctx.references.name(lab.subject.reference, data) if lab.subject else None
    when = plain_when(lab.effective_date_time, ctx.today) if lab.effective_date_time is not None else None
    if patient is None or not patient.startswith("Patient/") or when is None:
        return None
    return lab, patient, when


def _converted(quantity: Quantity, marker: MarkerCoding, ctx: Context) -> Decimal | None:
    """As :func:`labs._converted`; None where that reports an unknown unit or a missing value."""
    units = ctx.knowledge.units
    factor = marker.units.get(quantity.code or "") if quantity.system == units.system else None
    if factor is None or quantity.value is None:
        return None
    return Decimal(str(quantity.value)) * factor
