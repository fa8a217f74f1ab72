"""One Assessment per patient and time point: response, flags, markers, resistance, pattern and the
suggested next steps, each with the rules and the evidence behind it (CLINICAL-RULES.md section 6).

This module holds the result type; :func:`assess` (in ``assess.py``) builds it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

import msgspec

from service.domain.coherence import DroppedSuggestion
from service.domain.model import Lesion
from service.domain.resistance import ResistanceFinding
from service.domain.response import BestOverallResponse, TimePointResponse
from service.domain.rules import Flag, Rule
from service.domain.suggestions import SuggestedAction
from service.domain.therapy_lines import TherapyContext


class Criteria(StrEnum):
    RECIST_1_1 = "recist-1.1"
    IRECIST = "irecist"


class ProgressionStatus(StrEnum):
    """``CANON/CodeSystem/progression-status`` (FHIR-CONTRACT section 4; CLINICAL-RULES section 6 step 3)."""

    NO_PROGRESSION = "no-progression"
    UNCERTAIN = "progression-uncertain"
    SUPPORTED = "progression-supported"
    IUPD = "iupd"
    ICPD = "icpd"


class DiseaseStatus(StrEnum):
    """mCODE CancerDiseaseStatus values (SNOMED codes are attached at the FHIR edge, from mappings/)."""

    IMPROVED = "improved"
    STABLE = "stable"
    WORSENED = "worsened"
    UNDETERMINED = "undetermined"


class EvidenceType(StrEnum):
    """mCODE CancerDiseaseStatus evidence types the assessment used."""

    IMAGING = "imaging"
    TUMOR_MARKER = "tumor-marker"
    LABORATORY = "laboratory"
    CLINICAL_EXAM = "clinical-exam"


class SumPoint(msgspec.Struct, frozen=True, gc=False):
    """The target sum of one time point, for the report's chart; ``response`` is its category code."""

    date: dt.date
    sum_mm: Decimal | None
    response: str
    sizes: tuple[tuple[str, Decimal], ...] = ()  # (lesion id, mm) of each target measured, for the table
    statuses: tuple[tuple[str, str], ...] = ()  # (lesion id, LesionStatus) of each non-target or new lesion


class MarkerPoint(msgspec.Struct, frozen=True, gc=False):
    """One tumour-marker or ctDNA value for the report's chart."""

    date: dt.date
    value: Decimal
    upper_limit: Decimal | None
    source: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """Everything a report says about one time point.

    ``response_category`` is the code of ``CANON/CodeSystem/response-category`` for the criteria used
    (``PD`` under RECIST 1.1, ``iUPD`` under iRECIST); ``best_category`` likewise. ``evidence`` lists every
    input resource the assessment used (``Type/id``); ``imaging_evidence`` those of this time point.
    """

    patient: str
    as_of: dt.date
    criteria: Criteria
    time_point: TimePointResponse
    response_category: str
    best: BestOverallResponse
    best_category: str
    progression: ProgressionStatus
    disease_status: DiseaseStatus
    evidence_types: tuple[EvidenceType, ...]
    flags: tuple[Flag, ...]
    findings: tuple[ResistanceFinding, ...]
    suggestions: tuple[SuggestedAction, ...]
    rules: tuple[Rule, ...]
    evidence: tuple[str, ...]
    imaging_evidence: tuple[str, ...]
    sums: tuple[SumPoint, ...]
    cea: tuple[MarkerPoint, ...]
    ctdna: tuple[MarkerPoint, ...]
    current_drug: str | None  # the targeted backbone of the current line (R8), the resistance context
    drug_class: str | None
    condition: str | None
    knowledge_base_version: str
    current_drugs: tuple[str, ...] = ()  # the current line's drugs still given (R6): what "continue" means
    therapy: TherapyContext = field(default_factory=TherapyContext)  # the lines it took as context (R12)
    dropped: tuple[DroppedSuggestion, ...] = ()  # removed by the coherence rules (section 6 step 6, C1-C9)
    targets: tuple[Lesion, ...] = ()  # the target lesions in force (S1-S5), rows of the per-lesion table
    non_targets: tuple[Lesion, ...] = ()  # the non-target lesions (N1-N4), and the new ones (L1-L5)
    new_lesions: tuple[Lesion, ...] = ()
