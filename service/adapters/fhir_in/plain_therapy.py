"""The fast path for MedicationRequest, MedicationStatement and MedicationAdministration (issue 19), as
:mod:`plain_lesions` is for lesions: one typed decode of the elements :mod:`therapy` reads, then its rules
without a Node per element.

Taken only when the checked reading would report nothing: a wrong JSON type (also in an element of another
FHIR version, which the checked reading does not read), no Patient, a drug given only by reference, a drug of
no known class, or a date that is malformed, day-less or out of range give None, and the checked reading
reads the resource and reports. The two readings are tested to agree
(tests/adapters/fhir_in/test_plain_therapy.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.lesion_shapes import Concept, Reference, Shape
from service.adapters.fhir_in.therapy import KINDS, drug_of
from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.fhir_in.when import When, plain_when
from service.domain.facts import TherapyFact, TherapyRecordKind

_UNUSABLE = "unusable"  # a date the checked reading reports


class _Period(Shape):
    start: str | None = None
    end: str | None = None


class _Repeat(Shape):
    bounds_period: _Period | None = None


class _Timing(Shape):
    repeat: _Repeat | None = None


class _Dosage(Shape):
    timing: _Timing | None = None


class _Medication(Shape):  # R5: a CodeableReference
    concept: Concept | None = None
    reference: Reference | None = None


class _Group(Shape):
    system: str | None = None
    value: str | None = None


class _Therapy(Shape):
    subject: Reference | None = None
    medication_codeable_concept: Concept | None = None
    medication_reference: Reference | None = None
    medication: _Medication | None = None
    status: str | None = None
    intent: str | None = None
    authored_on: str | None = None
    effective_date_time: str | None = None
    effective_period: _Period | None = None
    occurrence_date_time: str | None = None
    occurrence_period: _Period | None = None
    dosage_instruction: list[_Dosage] = msgspec.field(default_factory=list)
    group_identifier: _Group | None = None
    based_on: list[Reference] = msgspec.field(default_factory=list)


def read_plain_therapy(data: dict[str, Any], ctx: Context) -> TherapyFact | None:
    """The therapy of a well-formed resource; None when the checked reading must read it."""
    kind = KINDS[data["resourceType"]]
    try:
        therapy = msgspec.convert(data, _Therapy)
    except msgspec.ValidationError:
        return None
    patient = ctx.references.name(therapy.subject.reference, data) if therapy.subject else None
    concept = _concept(therapy, ctx)
    if patient is None or not patient.startswith("Patient/") or concept is None:
        return None
    drug, drug_class = drug_of(concept.coding, concept.text, ctx)
    request = kind is TherapyRecordKind.REQUEST
    start, end = _bounds(therapy, ctx) if request else _period(therapy, kind, ctx)
    authored = _when(therapy.authored_on, ctx.today) if request else None
    if drug_class is None or _UNUSABLE in (start, end, authored):
        return None
    group = therapy.group_identifier
    groups = [f"{group.system or ''}|{group.value or ''}"] if group else []
    return TherapyFact(
        patient=patient,
        source=f"{data['resourceType']}/{data.get('id')}",
        record=kind,
        drug=drug,
        drug_class=drug_class,
        codes=tuple(s for c in concept.coding if (s := c.source_code()) is not None),
        status=therapy.status,
        started_on=start.on if isinstance(start, When) else None,
        ended_on=end.on if isinstance(end, When) else None,
        authored_on=authored.on if isinstance(authored, When) else None,
        intent=therapy.intent if request else None,
        groups=(*groups, *(b.reference for b in therapy.based_on if b.reference)),
    )


def _concept(therapy: _Therapy, ctx: Context) -> Concept | None:
    """The CodeableConcept naming the drug; None also for a drug given only by reference (the checked
    reading reads the Medication, and reports what it finds there)."""
    if ctx.version is FhirVersion.R5:
        return therapy.medication.concept if therapy.medication else None
    return therapy.medication_codeable_concept


def _when(text: str | None, today: dt.date) -> When | str | None:
    """The date of a text, none for no text, :data:`_UNUSABLE` where the checked reading reports it."""
    if text is None:
        return None
    return plain_when(text, today) or _UNUSABLE


def _period(therapy: _Therapy, kind: TherapyRecordKind, ctx: Context) -> tuple[When | str | None, ...]:
    """As :func:`therapy._period` for a statement or administration: ``{prefix}DateTime``, else the start
    of ``{prefix}Period`` (only then read); the end of the period, which may lie in the future."""
    occurrence = ctx.version is FhirVersion.R5 and kind is TherapyRecordKind.ADMINISTRATION
    text = therapy.occurrence_date_time if occurrence else therapy.effective_date_time
    period = therapy.occurrence_period if occurrence else therapy.effective_period
    start = _when(text, ctx.today)
    if start is None and period is not None:
        start = _when(period.start, ctx.today)
    return start, _when(period.end, dt.date.max) if period else None


def _bounds(therapy: _Therapy, ctx: Context) -> tuple[When | str | None, ...]:
    """As :func:`therapy._bounds`: the earliest start and the latest end of the dosage bounds."""
    periods = [
        d.timing.repeat.bounds_period
        for d in therapy.dosage_instruction
        if d.timing and d.timing.repeat and d.timing.repeat.bounds_period
    ]
    if not periods:  # the common case: no dosage bounds
        return None, None
    starts = [_when(p.start, ctx.today) for p in periods]
    ends = [_when(p.end, dt.date.max) for p in periods]
    if _UNUSABLE in starts or _UNUSABLE in ends:
        return _UNUSABLE, None
    first = min((w for w in starts if isinstance(w, When)), key=lambda w: w.on, default=None)
    return first, max((w for w in ends if isinstance(w, When)), key=lambda w: w.on, default=None)
