"""The fast path for Conditions (issue 19), as :mod:`plain_lesions` is for lesions: one typed decode of the
elements :func:`conditions.read_condition` reads, then its rules without a Node per element.

Taken only when the checked reading would report nothing: a wrong JSON type (also in an element it would
not reach), no Patient, no known histology, no complete coding or an onset date that is malformed, day-less
or out of range give None, and the checked reading reads the resource and reports. The two readings are
tested to agree (tests/adapters/fhir_in/test_plain_conditions.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from service.adapters.fhir_in.conditions import first_known
from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.lesion_shapes import Concept, Reference, Shape, codings
from service.adapters.fhir_in.when import plain_when
from service.domain.facts import CancerCondition


class _Extension(Shape):
    url: str | None = None
    value_codeable_concept: Concept | None = None


class _Condition(Shape):
    subject: Reference | None = None
    code: Concept | None = None
    extension: list[_Extension] = msgspec.field(default_factory=list)
    onset_date_time: str | None = None
    clinical_status: Concept | None = None


def read_plain_condition(data: dict[str, Any], ctx: Context) -> CancerCondition | None:
    """The cancer condition of a well-formed resource; None when the checked reading must read it."""
    try:
        condition = msgspec.convert(data, _Condition)
    except msgspec.ValidationError:
        return None
    patient = ctx.references.name(condition.subject.reference, data) if condition.subject else None
    url = ctx.knowledge.histology.morphology_extension
    morphology = [c for e in condition.extension if e.url == url for c in codings(e.value_codeable_concept)]
    histology = first_known(morphology, ctx) or first_known(codings(condition.code), ctx)
    text = condition.onset_date_time
    onset = plain_when(text, ctx.today) if text is not None else None
    code = next((s for c in codings(condition.code) if (s := c.source_code())), None)
    if patient is None or not patient.startswith("Patient/") or histology is None or code is None:
        return None
    if text is not None and onset is None:
        return None
    return CancerCondition(
        patient=patient,
        source=f"Condition/{data.get('id')}",
        code=code,
        histology=histology.histology,
        small_cell=histology.small_cell,
        clinical_status=next((c.code for c in codings(condition.clinical_status) if c.code), None),
        onset_on=onset.on if onset else None,
    )
