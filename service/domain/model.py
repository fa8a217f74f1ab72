"""The internal model of a patient's timeline: what the evaluation reads, with no trace of FHIR.

Imaging comes first: a :class:`Lesion` is identified once, each :class:`TimePoint` (one imaging study) holds
the :class:`Measurement` of the lesions seen on it, and an :class:`ImagingTimeline` is the patient's series.
Lengths are millimetres as exact ``Decimal`` (CLINICAL-RULES.md, "Conventions"); ingestion converts units.
Non-imaging facts (markers, variants, therapy) live in their own classes; the two below that response
evaluation needs as plain inputs are :class:`MarkerStatus` (N1) and :class:`ClinicalStability` (I8).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import msgspec


class LesionRole(StrEnum):
    """The RECIST role of a lesion, as sent (``CANON/CodeSystem/lesion-role``)."""

    TARGET = "target"
    NON_TARGET = "non-target"
    NEW = "new"


class LesionStatus(StrEnum):
    """What the reader saw, as sent (``CANON/CodeSystem/lesion-status``)."""

    PRESENT = "present"
    ABSENT = "absent"
    TOO_SMALL_TO_MEASURE = "too-small-to-measure"
    UNEQUIVOCAL_PROGRESSION = "unequivocal-progression"
    EQUIVOCAL = "equivocal"
    NOT_EVALUATED = "not-evaluated"
    FURTHER_INCREASE = "further-increase"  # I9: after iUPD, the reader calls more growth than at iUPD


class Modality(StrEnum):
    """Imaging modality, DICOM codes where one exists (M1, M5, L3)."""

    CT = "CT"
    MR = "MR"
    PET = "PT"
    ULTRASOUND = "US"
    XRAY = "DX"
    CALIPER = "caliper"  # clinical examination with calipers (M1)
    OTHER = "OT"


class MarkerStatus(StrEnum):
    """Tumour markers against their upper limit of normal, as N1/N2 need them (evaluated elsewhere)."""

    NORMAL = "normal"
    ABOVE_ULN = "above-uln"
    NOT_ASSESSED = "not-assessed"


class Lesion(msgspec.Struct, frozen=True, gc=False):
    """One lesion, identified the same way at every time point.

    ``role`` is None when the sender gave none: the service then selects targets at baseline (M4) and
    treats a lesion first seen later as new (L1). ``never_measurable`` marks the M3 kinds that are
    non-measurable whatever their size (effusions, ascites, lymphangitic or leptomeningeal disease, bone
    without a soft-tissue component); ``organ`` is the site, nodes are grouped as one organ by M4.
    ``site_codes`` are every (system, code) of its site and ``site_text`` the words the sender wrote about
    it, for the pattern rules (P5-P7: CNS, leptomeningeal and diffuse sites).
    """

    lesion_id: str
    organ: str
    is_nodal: bool = False
    role: LesionRole | None = None
    never_measurable: bool = False
    site_codes: tuple[tuple[str, str], ...] = ()
    site_text: str = ""


class Measurement(msgspec.Struct, frozen=True, gc=False):
    """One lesion on one study.

    ``diameter_mm`` is the longest diameter; ``short_axis_mm`` is what counts for a node (M2, S1) and, when
    missing for a node, the one diameter given is used. Several measurements of one lesion on one study are
    the fragments of a split lesion (S4). ``coalesced_into`` names the target that now holds the whole
    mass of this one, which then counts 0 mm (S5).
    """

    lesion_id: str
    diameter_mm: Decimal | None = None
    short_axis_mm: Decimal | None = None
    status: LesionStatus = LesionStatus.PRESENT
    slice_thickness_mm: Decimal | None = None
    modality: Modality | None = None
    reader: str | None = None
    scanner: str | None = None
    contrast_phase: str | None = None
    coalesced_into: str | None = None


@dataclass(frozen=True, slots=True)
class TimePoint:
    """One imaging assessment. ``prompted_by_symptoms`` marks a scan done for new clinical symptoms (I3)."""

    date: dt.date
    measurements: tuple[Measurement, ...]
    study_id: str | None = None
    modality: Modality | None = None
    prompted_by_symptoms: bool = False
    # The measurements by lesion, built once: every rule asks for a lesion's measurements on every study.
    _by_lesion: dict[str, tuple[Measurement, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_lesion: dict[str, tuple[Measurement, ...]] = {}
        for m in self.measurements:  # mostly one measurement per lesion: a tuple at once, no list
            found = by_lesion.get(m.lesion_id)
            by_lesion[m.lesion_id] = (m,) if found is None else (*found, m)
        object.__setattr__(self, "_by_lesion", by_lesion)

    def of(self, lesion_id: str) -> tuple[Measurement, ...]:
        """Every measurement of one lesion on this study (more than one means fragments, S4)."""
        return self._by_lesion.get(lesion_id, ())


class InvalidTimelineError(ValueError):
    """The timeline cannot be evaluated as given (no time point, or a measurement of an unknown lesion)."""


@dataclass(frozen=True, slots=True)
class ImagingTimeline:
    """A patient's imaging series for one line of therapy; the earliest time point is the baseline."""

    lesions: tuple[Lesion, ...]
    time_points: tuple[TimePoint, ...]
    treatment_start: dt.date
    ordered: tuple[TimePoint, ...] = field(init=False, repr=False, compare=False)  # by date, baseline first

    def __post_init__(self) -> None:
        if not self.time_points:
            raise InvalidTimelineError("a timeline needs at least a baseline time point")
        known = {lesion.lesion_id for lesion in self.lesions}
        if len(known) != len(self.lesions):
            raise InvalidTimelineError("lesion ids must be unique")
        unknown = {m.lesion_id for tp in self.time_points for m in tp.measurements} - known
        if unknown:
            raise InvalidTimelineError(f"measurements of unknown lesions: {sorted(unknown)}")
        object.__setattr__(self, "ordered", tuple(sorted(self.time_points, key=lambda tp: tp.date)))


class ClinicalStability(msgspec.Struct, frozen=True, gc=False):
    """I8: what makes a patient *not* clinically stable for treatment beyond iUPD."""

    performance_status_worsened: bool = False
    symptoms_increased: bool = False
    symptom_management_intensified: bool = False

    @property
    def is_stable(self) -> bool:
        return not (
            self.performance_status_worsened or self.symptoms_increased or self.symptom_management_intensified
        )
