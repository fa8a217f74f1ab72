"""Facts: what the normaliser reads out of inbound FHIR resources (FHIR-CONTRACT.md section 3).

One frozen ``msgspec.Struct`` per concept of the contract's "What is read" table (issue 19: the store decodes
a patient's stored facts in msgspec's C decoder, several times faster than building dataclasses field by field
in Python). Fields are JSON-friendly (str, int, bool, Decimal, date, datetime, enums, tuples, nested frozen
structs) so the store can keep them as JSON; each fact is tagged with its class name under ``kind``, the tag
the store's rows have always carried.
Every fact names its patient (``Patient/id``) and its source resource (``Type/id``). Dates are split into
``observed_on`` (always a calendar date) and ``observed_at`` (the instant, when the sender gave a time).
The RECIST time-point and measurement types live in ``model.py``; these are their raw inputs.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import msgspec

# One definition of each code set: the facts carry the model's lesion role and status as sent.
from service.domain.model import LesionRole, LesionStatus


class TimepointBasis(StrEnum):
    """What grouped a lesion observation into its time point (contract section 3, "time point")."""

    IMAGING_STUDY = "imaging-study"
    IMAGING_REPORT = "imaging-report"
    CALENDAR_DATE = "calendar-date"


class TherapyRecordKind(StrEnum):
    REQUEST = "request"
    STATEMENT = "statement"
    ADMINISTRATION = "administration"


class SpecimenKind(StrEnum):
    """Where a genomic result came from: plasma or blood is a liquid biopsy (CLINICAL-RULES.md K9)."""

    PLASMA = "plasma"
    BLOOD = "blood"
    TISSUE = "tissue"
    UNKNOWN = "unknown"

    @property
    def is_liquid_biopsy(self) -> bool:
        return self in (SpecimenKind.PLASMA, SpecimenKind.BLOOD)


class VariantPresence(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"


class PerformanceScale(StrEnum):
    ECOG = "ecog"
    KARNOFSKY = "karnofsky"


class MolecularCall(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


# gc=False: the fields hold only immutable values (str, numbers, dates, enums, tuples of those, other frozen
# structs), so no fact can be part of a reference cycle and the garbage collector need not track them.
class SourceCode(msgspec.Struct, frozen=True, gc=False):
    """A coding exactly as the sender wrote it, kept so a fact can be traced and re-mapped. A part of a
    fact, stored untagged inside it."""

    system: str
    code: str
    display: str | None = None


class _Fact(msgspec.Struct, frozen=True, gc=False, tag_field="kind", tag=True):
    """The base of the facts below: each is tagged ``"kind": "<its class name>"`` when encoded. Each says
    ``frozen=True`` again for mypy, which does not see a struct inherit it."""


class LesionObservation(_Fact, frozen=True):
    """One lesion at one time point: a measurement (diameters in mm) or a status without a size."""

    patient: str
    source: str
    lesion_id: str | None  # "system|value" of the lesion identifier; the same id across time = same lesion
    body_structure: str | None  # the focus reference, for a BodyStructure stored from an earlier Bundle
    observed_on: date
    observed_at: datetime | None
    timepoint_key: str
    timepoint_basis: TimepointBasis
    longest_diameter_mm: Decimal | None
    short_axis_mm: Decimal | None
    sites: tuple[SourceCode, ...]
    nodal: bool
    role: LesionRole | None
    status: LesionStatus
    reader: str | None
    scanner: str | None
    modality: str | None
    site_text: str | None = None  # the site's words as sent (bodySite/location text, description): P5-P7


class TherapyFact(_Fact, frozen=True):
    """A cancer medication order, statement or administration with its drug and class from drugs.yaml."""

    patient: str
    source: str
    record: TherapyRecordKind  # not "kind": the store codec keeps the class name under "kind"
    drug: str
    drug_class: str
    codes: tuple[SourceCode, ...]
    status: str | None
    started_on: date | None
    ended_on: date | None
    authored_on: date | None
    intent: str | None = None  # MedicationRequest.intent (R2)
    groups: tuple[str, ...] = ()  # groupIdentifier "system|value" and basedOn references: one regimen (R5)


class CancerCondition(_Fact, frozen=True):
    """A cancer diagnosis (Condition) whose code or morphology is in histology.yaml."""

    patient: str
    source: str
    code: SourceCode
    histology: str | None
    small_cell: bool
    clinical_status: str | None
    onset_on: date | None


class HistologyFact(_Fact, frozen=True):
    """A histology finding; ``small_cell`` after an NSCLC diagnosis is a transformation (X10)."""

    patient: str
    source: str
    histology: str
    small_cell: bool
    code: SourceCode
    observed_on: date | None


class VariantFact(_Fact, frozen=True):
    """A Genomics Reporting variant or a hotspot read from an R4 MolecularSequence (CLINICAL-RULES K5)."""

    patient: str
    source: str
    presence: VariantPresence
    gene: str | None  # HGNC symbol
    hgnc_id: str | None
    coding_hgvs: str | None
    protein_hgvs: str | None  # as sent; normalised to one-letter or three-letter form downstream
    genomic_hgvs: str | None
    allele_fraction: Decimal | None  # 0-1, whatever the sender's unit
    copy_number: Decimal | None
    genomic_source: str | None  # somatic / germline
    specimen_kind: SpecimenKind
    specimen: str | None
    observed_on: date | None
    observed_at: datetime | None
    copy_ratio: Decimal | None = None  # FISH gene/centromere ratio (MET/CEP7, ERBB2/CEP17)


class MarkerResult(_Fact, frozen=True):
    """A tumour-marker value; ``upper_limit`` None means the domain applies its default (CEA: 5, K1)."""

    patient: str
    source: str
    marker: str
    value: Decimal
    unit: str
    upper_limit: Decimal | None
    observed_on: date
    observed_at: datetime | None


class PerformanceStatus(_Fact, frozen=True):
    patient: str
    source: str
    scale: PerformanceScale
    score: int
    observed_on: date
    observed_at: datetime | None


class MrdResult(_Fact, frozen=True):
    """A vendor's MRD call; supporting information only (CLINICAL-RULES K10)."""

    patient: str
    source: str
    call: MolecularCall | None
    value: Decimal | None
    unit: str | None
    observed_on: date
    observed_at: datetime | None


class TumourFractionResult(_Fact, frozen=True):
    patient: str
    source: str
    fraction: Decimal  # 0-1
    observed_on: date
    observed_at: datetime | None


Fact = (
    LesionObservation
    | TherapyFact
    | CancerCondition
    | HistologyFact
    | VariantFact
    | MarkerResult
    | PerformanceStatus
    | MrdResult
    | TumourFractionResult
)

FACT_CLASSES: dict[str, type[Fact]] = {
    cls.__name__: cls
    for cls in (
        LesionObservation,
        TherapyFact,
        CancerCondition,
        HistologyFact,
        VariantFact,
        MarkerResult,
        PerformanceStatus,
        MrdResult,
        TumourFractionResult,
    )
}
