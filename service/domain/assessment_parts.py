"""The steps of :func:`service.domain.assess.assess` that decide: progression status (section 6 step 3),
suggestions in rank order (steps 4-5 and A0-A9), disease status, evidence, and the chart series."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from service.domain.assessment import DiseaseStatus, EvidenceType, MarkerPoint, ProgressionStatus, SumPoint
from service.domain.imaging_response import ImagingResponse
from service.domain.markers import CEA, CeaThresholds, upper_limit
from service.domain.model import ImagingTimeline, MarkerStatus
from service.domain.resistance_kb import FindingCategory
from service.domain.resistance_workup import ResistanceAssessment
from service.domain.response import TimePointResponse
from service.domain.rules import Flag, Rule
from service.domain.suggestions import TARGETED, CareSuggestion, SuggestedAction
from service.domain.therapy_lines import TherapyContext
from service.domain.timeline import PatientFacts


@dataclass(frozen=True, slots=True)
class MarkerReading:
    """What the marker, ctDNA, MRD and performance-status rules (K1-K16) made of the facts."""

    flags: tuple[Flag, ...] = ()
    rules: tuple[Rule, ...] = ()
    ctdna: tuple[MarkerPoint, ...] = ()
    evidence: tuple[str, ...] = ()
    ecog: int | None = None  # K12/K14: the current ECOG (Karnofsky mapped), for A9 "to ECOG >= 2"
    cea_corroborates: bool = False  # step 3: a confirmed CEA rise (K2) outside the K3 surge window
    marker_rise_on: dt.date | None = None  # K13: the first rising CEA value (A11: ctDNA "if none since")


# Section 6 step 3: what corroborates a borderline PD, and what makes a PD uncertain.
_CORROBORATING = frozenset({Flag.CEA_RISE_SIGNIFICANT, Flag.MOLECULAR_PROGRESSION, Flag.PS_DETERIORATION})
_MOLECULAR_GOOD_NEWS = frozenset({Flag.CTDNA_CLEARANCE, Flag.MOLECULAR_RESPONSE})
_URGENT = frozenset({Flag.PS_DETERIORATION, Flag.SYMPTOMATIC_DETERIORATION, Flag.NOT_CLINICALLY_STABLE})
_I_STATUS = {"iUPD": ProgressionStatus.IUPD, "iCPD": ProgressionStatus.ICPD}


def progression_status(
    category: str, flags: list[Flag], resistance: ResistanceAssessment | None
) -> ProgressionStatus:
    """iUPD / iCPD take precedence; then PD is supported unless borderline without corroboration, or
    discordant markers meet molecular good news without PS deterioration."""
    if category in _I_STATUS:
        return _I_STATUS[category]
    if category != "PD":
        return ProgressionStatus.NO_PROGRESSION
    present = set(flags)
    corroborated = bool(present & _CORROBORATING) or _resistance_found(resistance)
    if Flag.BORDERLINE_PD in present and not corroborated:
        return ProgressionStatus.UNCERTAIN
    discordant = Flag.MARKER_DISCORDANT in present and bool(present & _MOLECULAR_GOOD_NEWS)
    if discordant and Flag.PS_DETERIORATION not in present:
        return ProgressionStatus.UNCERTAIN
    return ProgressionStatus.SUPPORTED


def _resistance_found(resistance: ResistanceAssessment | None) -> bool:
    """Step 3 names "a new resistance variant": a mechanism found, not the X20 oligoprogression pattern
    (a pattern of growth cannot corroborate the growth it describes)."""
    findings = resistance.findings if resistance else ()
    return any(f.category is not FindingCategory.PATTERN for f in findings)


def suggestions_for(
    status: ProgressionStatus, flags: list[Flag], resistance: ResistanceAssessment | None, targeted: bool
) -> tuple[SuggestedAction, ...]:
    """A9 first when the patient is unwell; then the action table of section 6 for the status."""
    urgent = [_action(CareSuggestion.URGENT_CLINICAL_REVIEW, Rule.A9)] if set(flags) & _URGENT else []
    return tuple(_unique([*urgent, *_by_status(status, flags, resistance, targeted)]))


def _by_status(
    status: ProgressionStatus, flags: list[Flag], resistance: ResistanceAssessment | None, targeted: bool
) -> list[SuggestedAction]:
    if status is ProgressionStatus.NO_PROGRESSION:
        return [_action(CareSuggestion.CONTINUE_CURRENT_THERAPY, Rule.A0)]
    if status is ProgressionStatus.UNCERTAIN:
        return [
            _action(c, Rule.A1)
            for c in (CareSuggestion.CONTINUE_CURRENT_THERAPY, CareSuggestion.REMEASURE_OR_REPEAT_IMAGING)
        ]
    if status is ProgressionStatus.IUPD:
        keep = (
            []
            if Flag.NOT_CLINICALLY_STABLE in flags
            else [_action(CareSuggestion.CONTINUE_CURRENT_THERAPY, Rule.A2)]
        )
        return [*keep, _action(CareSuggestion.CONFIRM_PROGRESSION_IMAGING, Rule.A2)]
    return _after_progression(flags, resistance, targeted)


def _after_progression(
    flags: list[Flag], resistance: ResistanceAssessment | None, targeted: bool
) -> list[SuggestedAction]:
    """A matched switch or add-on (A4, A5, A7) ranks above local therapy (A6), then the work-up (A3, A8).
    Off targeted therapy (or iCPD) nothing is matched: A8, a trial and standard options."""
    if not (targeted and resistance):
        return [_action(CareSuggestion.CLINICAL_TRIAL_REFERRAL, Rule.A8)]
    matched = [
        a
        for a in resistance.actions
        if a.code in TARGETED or a.code is CareSuggestion.HISTOLOGY_DIRECTED_CHEMOTHERAPY
    ]
    workup = [a for a in resistance.actions if a not in matched]
    local: list[SuggestedAction] = []
    if Flag.OLIGOPROGRESSION in flags or Flag.CNS_OLIGOPROGRESSION in flags:
        local = [
            _action(CareSuggestion.LOCAL_ABLATIVE_THERAPY, Rule.A6),
            _action(CareSuggestion.CONTINUE_CURRENT_THERAPY, Rule.A6),
        ]
    return [*matched, *local, *workup]


def _action(code: CareSuggestion, *rules: Rule) -> SuggestedAction:
    return SuggestedAction(code, (), None, rules)


def _unique(actions: list[SuggestedAction]) -> list[SuggestedAction]:
    seen: dict[tuple[CareSuggestion, tuple[str, ...]], SuggestedAction] = {}
    for action in actions:
        seen.setdefault((action.code, action.drugs), action)
    return list(seen.values())


def disease_status(status: ProgressionStatus, point: TimePointResponse) -> DiseaseStatus:
    """mCODE CancerDiseaseStatus: worsened only when progression is supported or confirmed."""
    if status in (ProgressionStatus.SUPPORTED, ProgressionStatus.ICPD):
        return DiseaseStatus.WORSENED
    if status is not ProgressionStatus.NO_PROGRESSION or point.overall.value == "NE":
        return DiseaseStatus.UNDETERMINED
    return DiseaseStatus.IMPROVED if point.overall.value in ("CR", "PR") else DiseaseStatus.STABLE


def marker_statuses(
    facts: PatientFacts, timeline: ImagingTimeline, thresholds: CeaThresholds
) -> dict[dt.date, MarkerStatus]:
    """N1 needs tumour markers normal for CR: the latest CEA on or before each time point, against the
    lab's upper limit or the K1 default (``markers.upper_limit``)."""
    statuses = {}
    for point in timeline.time_points:
        before = [m for m in facts.markers if m.marker == CEA and m.observed_on <= point.date]
        if before:
            latest = before[-1]
            normal = latest.value <= upper_limit(latest, thresholds)
            statuses[point.date] = MarkerStatus.NORMAL if normal else MarkerStatus.ABOVE_ULN
    return statuses


def cea_series(facts: PatientFacts) -> tuple[MarkerPoint, ...]:
    return tuple(
        MarkerPoint(m.observed_on, m.value, m.upper_limit, m.source) for m in facts.markers if m.marker == CEA
    )


def sum_series(imaging: ImagingResponse) -> tuple[SumPoint, ...]:
    """The baseline sum, then each follow-up's sum with its category, for the report's chart."""
    recist = imaging.recist
    baseline = SumPoint(recist.selection.baseline.date, recist.baseline_sum_mm, "baseline")
    follow_ups = [
        SumPoint(tp.date, tp.sums.sum_mm if tp.sums else None, tp.overall.value) for tp in recist.time_points
    ]
    return (baseline, *follow_ups)


def evidence_types(facts: PatientFacts) -> tuple[EvidenceType, ...]:
    kinds = [EvidenceType.IMAGING]
    if facts.markers:
        kinds.append(EvidenceType.TUMOR_MARKER)
    if facts.variants or facts.mrd:
        kinds.append(EvidenceType.LABORATORY)
    if facts.performance:
        kinds.append(EvidenceType.CLINICAL_EXAM)
    return tuple(kinds)


def evidence_of(facts: PatientFacts, therapy: TherapyContext) -> tuple[str, ...]:
    """Every input resource used, lesions first (the Provenance lists them)."""
    sources = [
        x.source
        for group in (
            facts.lesions,
            facts.markers,
            facts.performance,
            facts.variants,
            facts.histologies,
            facts.conditions,
            facts.mrd,
        )
        for x in group
    ]
    sources += [s for line in therapy.lines for s in line.sources]
    return tuple(dict.fromkeys(sources))
