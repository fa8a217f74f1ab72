"""Build the :class:`Assessment` of one time point (CLINICAL-RULES.md section 6, steps 1-5).

1. RECIST 1.1 (and iRECIST for an immune checkpoint inhibitor) over the imaging timeline.
2. The variability flags of the time point, then marker, ctDNA and performance-status flags.
3. The progression status: PD corroborated or not, borderline or not, iUPD / iCPD first under iRECIST.
4. The pattern (P1-P4) when progression is supported.
5. The resistance work-up on targeted therapy (X-rules, K9, A3-A8), then the suggestions in rank order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from service.domain.assessment import Assessment, Criteria, ProgressionStatus
from service.domain.assessment_parts import (
    MarkerReading,
    cea_series,
    disease_status,
    evidence_of,
    evidence_types,
    marker_statuses,
    progression_status,
    suggestions_for,
    sum_series,
)
from service.domain.imaging_response import ImagingResponse, evaluate_imaging_response
from service.domain.line_imaging import LineImaging
from service.domain.model import ClinicalStability
from service.domain.patterns import PatternAssessment
from service.domain.performance import clinical_stability
from service.domain.readings import ReadingThresholds, imaging_verdict, read_markers, read_pattern
from service.domain.resistance import ResistanceContext, ResistanceFinding
from service.domain.resistance_kb import FindingCategory, ResistanceKnowledge
from service.domain.resistance_workup import ResistanceAssessment, assess_resistance
from service.domain.response import TimePointResponse
from service.domain.rules import Flag, Rule
from service.domain.therapy_lines import DrugRole, TherapyContext, therapy_context
from service.domain.thresholds import ResponseThresholds
from service.domain.timeline import PatientFacts


class NotAssessableError(ValueError):
    """There is no follow-up imaging time point on or before the assessment date to assess."""


@dataclass(frozen=True, slots=True)
class Policy:
    thresholds: ResponseThresholds
    readings: ReadingThresholds
    resistance: ResistanceKnowledge
    knowledge_base_version: str
    drug_roles: Mapping[str, DrugRole] = field(default_factory=dict)  # drugs.yaml class → role (R3, R4)


def assess(
    patient: str,
    facts: PatientFacts,
    as_of: dt.date,
    policy: Policy,
    *,
    criteria: Criteria | None = None,
) -> Assessment:
    """The assessment of the latest imaging time point on or before ``as_of`` (facts already cut there)."""
    imaging_of = LineImaging(facts.lesions, policy.thresholds)
    therapy = therapy_context(facts.therapies, policy.drug_roles, as_of, imaging_of.first_pd)
    line = therapy.current
    criteria = criteria or (Criteria.IRECIST if line and line.immunotherapy else Criteria.RECIST_1_1)
    start = therapy.started_on
    backbone = line.backbone if line else None
    drug_class = backbone.drug_class if backbone else None
    baseline = imaging_of.timeline(start)
    timeline = baseline.timeline
    if timeline is None and line is not None and facts.lesions:
        raise NotAssessableError("no baseline imaging for the current line of therapy (R10)")
    if timeline is None or len(timeline.time_points) < 2:
        raise NotAssessableError("no follow-up imaging after the baseline on or before the assessment date")
    clinical: Mapping[dt.date, ClinicalStability] = {}
    if criteria is Criteria.IRECIST:  # I8 applies to treatment beyond iUPD
        dates = [tp.date for tp in timeline.ordered[1:]]
        clinical = clinical_stability(
            facts.performance, dates, policy.readings.performance, therapy_started_on=start
        )
    imaging = evaluate_imaging_response(
        timeline,
        policy.thresholds,
        immune_checkpoint_inhibitor=criteria is Criteria.IRECIST,
        markers=marker_statuses(facts, timeline, policy.readings.cea),
        clinical=clinical,
        unmarked=imaging_of.recist(start),
        latest_variability=True,  # the V flags of the assessed date are all it reports
    )
    point = imaging.recist.time_points[-1]
    flags = [*therapy.flags, *baseline.flags, *point.flags, *_variability_flags(imaging, point)]
    verdict = imaging_verdict(point, flags)
    readings = read_markers(facts, point, verdict, start, policy.readings, policy.resistance, drug_class)
    flags += readings.flags
    pattern = read_pattern(imaging, timeline, point, policy.readings.patterns) if _is_pd(point) else None
    flags += pattern.flags if pattern else ()
    resistance = _resistance(policy, therapy, facts, point, pattern, flags) if _is_pd(point) else None
    flags += resistance.flags if resistance else ()
    category, irecist_flags = _category(imaging, criteria)
    flags += irecist_flags
    status = progression_status(category, flags, resistance)
    suggestions = suggestions_for(status, flags, resistance, therapy, readings, facts.variants)
    rules = _therapy_rules(therapy, baseline.flags, criteria) + _rules(
        imaging, point, readings, resistance, suggestions.kept
    )
    rules += suggestions.rules  # C1-C9 (section 6 step 6), and the rules of what they dropped
    rules += pattern.rules if pattern else ()
    return Assessment(
        patient=patient,
        as_of=as_of,
        criteria=criteria,
        time_point=point,
        response_category=category,
        best=imaging.best,
        best_category=_best_category(imaging, criteria),
        progression=status,
        disease_status=disease_status(status, point),
        evidence_types=evidence_types(facts),
        flags=tuple(dict.fromkeys(flags)),
        findings=_mechanisms(resistance),
        suggestions=suggestions.kept,
        dropped=suggestions.dropped,
        rules=rules,
        evidence=evidence_of(facts, therapy),
        imaging_evidence=tuple(o.source for o in facts.lesions if o.observed_on == point.date),
        sums=sum_series(imaging, policy.thresholds, timeline),
        targets=imaging.recist.selection.targets,
        non_targets=imaging.recist.selection.non_targets,
        new_lesions=imaging.recist.selection.new,
        cea=cea_series(facts),
        ctdna=readings.ctdna,
        current_drug=backbone.drug if backbone else None,
        current_drugs=_continuing(therapy, as_of),
        drug_class=drug_class,
        therapy=therapy,
        condition=facts.conditions[-1].source if facts.conditions else None,
        knowledge_base_version=policy.knowledge_base_version,
    )


def _mechanisms(resistance: ResistanceAssessment | None) -> tuple[ResistanceFinding, ...]:
    """Resistance mechanisms only: X20 (oligoprogression) is a pattern, reported as its flag and actions,
    not as a mechanism the drug is resistant to."""
    if resistance is None:
        return ()
    return tuple(f for f in resistance.findings if f.category is not FindingCategory.PATTERN)


def _is_pd(point: TimePointResponse) -> bool:
    return point.overall.value == "PD"


def _variability_flags(imaging: ImagingResponse, point: TimePointResponse) -> list[Flag]:
    return [flag for v in imaging.variability if v.response.date == point.date for flag in v.flags]


def _category(imaging: ImagingResponse, criteria: Criteria) -> tuple[str, list[Flag]]:
    if criteria is Criteria.IRECIST and imaging.irecist:
        last = imaging.irecist[-1]
        return last.category.value, list(last.flags)
    return imaging.recist.time_points[-1].overall.value, []


def _best_category(imaging: ImagingResponse, criteria: Criteria) -> str:
    if criteria is Criteria.IRECIST and imaging.irecist_best:
        return imaging.irecist_best.category.value
    return imaging.best.category.value


def _resistance(
    policy: Policy,
    therapy: TherapyContext,
    facts: PatientFacts,
    point: TimePointResponse,
    pattern: PatternAssessment | None,
    flags: Sequence[Flag] = (),
) -> ResistanceAssessment | None:
    """Section 6 step 5 applies to a line with a targeted backbone (R8): its class is the resistance
    context, whatever chemotherapy or ICI goes with it; the progression date anchors K9 and A3."""
    line = therapy.current
    backbone = line.backbone if line else None
    if line is None or backbone is None:
        return None
    context = ResistanceContext(
        therapy_class=backbone.drug_class,
        therapy_started_on=line.started_on,
        oligoprogression=bool(pattern and Flag.OLIGOPROGRESSION in pattern.flags),
        progression_on=point.progression_date or point.date,
        progressed_on=therapy.progressed_on,
        ne_marker_rising=Flag.NE_MARKER_RISING in flags,
    )
    return assess_resistance(
        policy.resistance, context, facts.variants, [*facts.histologies, *facts.conditions]
    )


def _continuing(therapy: TherapyContext, as_of: dt.date) -> tuple[str, ...]:
    """R6: the drugs of the current line still given on ``as_of`` (a platinum dropped after four cycles is
    not continued); none when the patient is off treatment."""
    line = therapy.current
    if line is None or not therapy.active:
        return ()
    return tuple(dict.fromkeys(c.drug for c in line.components if c.ended_on is None or c.ended_on >= as_of))


def _therapy_rules(
    therapy: TherapyContext, baseline_flags: tuple[Flag, ...], criteria: Criteria
) -> tuple[Rule, ...]:
    rules = list(therapy.rules)
    rules += [Rule.R10] if baseline_flags else []
    rules += [Rule.R9] if criteria is Criteria.IRECIST and therapy.current else []
    rules += [Rule.R8] if therapy.current and therapy.current.backbone else []
    return tuple(rules)


def _rules(
    imaging: ImagingResponse,
    point: TimePointResponse,
    readings: MarkerReading,
    resistance: ResistanceAssessment | None,
    suggestions: tuple[object, ...],
) -> tuple[Rule, ...]:
    rules = [
        *point.rules,
        *(r for v in imaging.variability if v.response.date == point.date for r in v.rules),
    ]
    rules += readings.rules
    rules += resistance.rules if resistance else ()
    rules += [r for s in suggestions for r in getattr(s, "rules", ())]
    return tuple(dict.fromkeys(rules))


__all__ = ["NotAssessableError", "Policy", "ProgressionStatus", "assess"]
