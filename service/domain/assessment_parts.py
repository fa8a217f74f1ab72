"""The steps of :func:`service.domain.assess.assess` that decide: progression status (section 6 step 3),
the candidate suggestions of the action table (A0-A13; ``coherence.py`` makes them one coherent set, step
6), disease status, evidence, and the chart series."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.assessment import DiseaseStatus, EvidenceType, MarkerPoint, ProgressionStatus, SumPoint
from service.domain.coherence import CoherenceContext, CoherentSuggestions, coherent
from service.domain.facts import VariantFact
from service.domain.imaging_response import ImagingResponse
from service.domain.markers import CEA, CeaThresholds, upper_limit
from service.domain.model import ImagingTimeline, MarkerStatus
from service.domain.resistance_kb import FindingCategory
from service.domain.resistance_workup import ResistanceAssessment
from service.domain.response import TimePointResponse
from service.domain.rules import Flag, Rule
from service.domain.suggestions import CareSuggestion, SuggestedAction
from service.domain.targets import target_values
from service.domain.therapy_lines import TherapyContext
from service.domain.thresholds import ResponseThresholds
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
_URGENT = frozenset({Flag.SYMPTOMATIC_DETERIORATION, Flag.NOT_CLINICALLY_STABLE})  # A9, with PS below
URGENT_MIN_ECOG = 2  # K12 (c): PS_DETERIORATION triggers A9 to ECOG >= 2
_LOCAL_PATTERNS = frozenset({Flag.OLIGOPROGRESSION, Flag.CNS_OLIGOPROGRESSION})  # A6 (P2, P5)
CONTINUE = CareSuggestion.CONTINUE_CURRENT_THERAPY
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
    if Flag.CEA_EARLY_SURGE_CAUTION in present:  # K3: a rise inside the surge window corroborates nothing
        present.discard(Flag.CEA_RISE_SIGNIFICANT)
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
    status: ProgressionStatus,
    flags: Sequence[Flag],
    resistance: ResistanceAssessment | None,
    therapy: TherapyContext,
    readings: MarkerReading,
    variants: Sequence[VariantFact] = (),
) -> CoherentSuggestions:
    """Section 6 steps 3-6: the candidates of the action table (A0-A13, the resistance actions, A6 from the
    pattern), made coherent by the rules of section 6.2 (``coherence.py``)."""
    present = frozenset(flags)
    candidates = [
        *_review(present, readings),
        *_by_status(status, present, resistance),
        *_marker_rise(present, readings, variants),
    ]
    return coherent(candidates, _coherence_context(present, therapy, resistance))


def _review(flags: frozenset[Flag], readings: MarkerReading) -> list[SuggestedAction]:
    """A9 for an unwell patient (K12 c: a PS deterioration counts from ECOG 2); A13 for a stable poor PS."""
    worse = Flag.PS_DETERIORATION in flags and (readings.ecog or 0) >= URGENT_MIN_ECOG
    review = [_action(CareSuggestion.URGENT_CLINICAL_REVIEW, Rule.A9)] if worse or flags & _URGENT else []
    if Flag.PS_POOR in flags:
        review.append(_action(CareSuggestion.CLINICAL_REVIEW, Rule.A13, Rule.K14))
    return review


def _by_status(
    status: ProgressionStatus, flags: frozenset[Flag], resistance: ResistanceAssessment | None
) -> list[SuggestedAction]:
    if status is ProgressionStatus.NO_PROGRESSION:
        return [_action(CONTINUE, Rule.A0)]
    if status is ProgressionStatus.UNCERTAIN:
        return [_action(c, Rule.A1) for c in (CONTINUE, CareSuggestion.REMEASURE_OR_REPEAT_IMAGING)]
    if status is ProgressionStatus.IUPD:  # C3 removes the continue part when not clinically stable
        return [_action(c, Rule.A2) for c in (CONTINUE, CareSuggestion.CONFIRM_PROGRESSION_IMAGING)]
    if resistance is None:  # off targeted therapy (or iCPD) nothing is matched: A8
        return [_action(CareSuggestion.CLINICAL_TRIAL_REFERRAL, Rule.A8)]
    local = [_action(c, Rule.A6) for c in (CareSuggestion.LOCAL_ABLATIVE_THERAPY, CONTINUE)]
    return [*(local if flags & _LOCAL_PATTERNS else []), *resistance.actions]


def _marker_rise(
    flags: frozenset[Flag], readings: MarkerReading, variants: Sequence[VariantFact]
) -> list[SuggestedAction]:
    """A11 (K13): keep the therapy, bring the imaging forward, plasma ctDNA if none since the rise."""
    if Flag.MARKER_RISE_WITHOUT_PROGRESSION not in flags:
        return []
    codes = [CONTINUE, CareSuggestion.REMEASURE_OR_REPEAT_IMAGING]
    if not any(_plasma_since(v, readings.marker_rise_on) for v in variants):
        codes.append(CareSuggestion.LIQUID_BIOPSY_CTDNA)
    return [_action(c, Rule.A11, Rule.K13) for c in codes]


def _plasma_since(variant: VariantFact, day: dt.date | None) -> bool:
    """A plasma draw on or after the first rising CEA value (A11: "if none since the rise")."""
    drawn = variant.observed_on
    if day is None or drawn is None:
        return False
    return variant.specimen_kind.is_liquid_biopsy and drawn >= day


def _coherence_context(
    flags: frozenset[Flag], therapy: TherapyContext, resistance: ResistanceAssessment | None
) -> CoherenceContext:
    findings = resistance.findings if resistance else ()
    on_target = [f for f in findings if f.category is FindingCategory.ON_TARGET]
    return CoherenceContext(
        flags=flags,
        off_treatment=therapy.current is not None and not therapy.active,
        progressed_on=therapy.progressed_on,
        transformation_confirmed=any(f.category is FindingCategory.TRANSFORMATION for f in findings),
        on_target=bool(on_target),
        matched_switch=next(
            (a.drugs for f in on_target for a in f.actions if a.code is CareSuggestion.SWITCH_THERAPY),
            (),
        ),
    )


def _action(code: CareSuggestion, *rules: Rule) -> SuggestedAction:
    return SuggestedAction(code, (), None, rules)


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
    cea = [m for m in facts.markers if m.marker == CEA]  # by date, as PatientFacts keeps them
    days = [m.observed_on for m in cea]
    statuses = {}
    for point in timeline.time_points:
        if count := bisect_right(days, point.date):  # the CEA values on or before the time point
            latest = cea[count - 1]
            normal = latest.value <= upper_limit(latest, thresholds)
            statuses[point.date] = MarkerStatus.NORMAL if normal else MarkerStatus.ABOVE_ULN
    return statuses


def cea_series(facts: PatientFacts) -> tuple[MarkerPoint, ...]:
    return tuple(
        MarkerPoint(m.observed_on, m.value, m.upper_limit, m.source) for m in facts.markers if m.marker == CEA
    )


def sum_series(
    imaging: ImagingResponse, thresholds: ResponseThresholds, timeline: ImagingTimeline
) -> tuple[SumPoint, ...]:
    """The baseline sum, then each follow-up's sum with its category, each with every target's size and the
    status of every non-target and new lesion seen, for the report's chart and per-lesion table."""
    recist = imaging.recist
    selection = recist.selection
    values = target_values(selection.targets, selection.baseline, thresholds)
    sizes = tuple((lesion_id, v.mm) for lesion_id, v in sorted(values.items()) if v.mm is not None)
    others = {lesion.lesion_id for lesion in (*selection.non_targets, *selection.new)}
    scans = {tp.date: tp for tp in timeline.time_points}

    def statuses(day: dt.date) -> tuple[tuple[str, str], ...]:
        return tuple((m.lesion_id, m.status.value) for m in scans[day].measurements if m.lesion_id in others)

    baseline_date = selection.baseline.date
    baseline = SumPoint(baseline_date, recist.baseline_sum_mm, "baseline", sizes, statuses(baseline_date))
    follow_ups = [
        SumPoint(
            tp.date, tp.sums.sum_mm if tp.sums else None, tp.overall.value, tp.target_sizes, statuses(tp.date)
        )
        for tp in recist.time_points
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
