"""Performance status (CLINICAL-RULES.md K11-K12, L5): ECOG deterioration and symptomatic deterioration.

Readings taken where the text leaves room: the reference is the better (lower) of the baseline score (the
latest on or before the therapy start, else the first) and the best score on therapy before the latest one.
Only ECOG is judged; Karnofsky results are kept by the normaliser but K12 names ECOG points.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.facts import PerformanceScale, PerformanceStatus
from service.domain.model import ClinicalStability
from service.domain.rules import Flag, Rule


@dataclass(frozen=True, slots=True)
class PerformanceThresholds:
    ecog_rise: int  # K12: points above the reference
    ecog_rise_floor: int  # K12: ... that reach at least this score
    ecog_any: int  # K12: any score at or above this


@dataclass(frozen=True, slots=True)
class PerformanceAssessment:
    flags: tuple[Flag, ...]
    rules: tuple[Rule, ...]
    evidence: tuple[str, ...]
    reference: PerformanceStatus | None
    latest: PerformanceStatus | None


def assess_performance(
    results: Sequence[PerformanceStatus],
    thresholds: PerformanceThresholds,
    *,
    therapy_started_on: dt.date | None,
    objective_pd: bool,
) -> PerformanceAssessment:
    """K12 PS_DETERIORATION; without objective PD also SYMPTOMATIC_DETERIORATION (L5)."""
    ecog = sorted((r for r in results if r.scale is PerformanceScale.ECOG), key=lambda r: r.observed_on)
    if not ecog:
        return PerformanceAssessment((), (), (), None, None)
    latest, reference = ecog[-1], _reference(ecog, therapy_started_on)
    if not _deteriorated(latest, reference, thresholds):
        return PerformanceAssessment((), (Rule.K11,), (), reference, latest)
    flags: tuple[Flag, ...] = (Flag.PS_DETERIORATION,)
    rules: tuple[Rule, ...] = (Rule.K11, Rule.K12)
    if not objective_pd:
        flags, rules = (*flags, Flag.SYMPTOMATIC_DETERIORATION), (*rules, Rule.L5)
    evidence = tuple(dict.fromkeys(r.source for r in (reference, latest) if r is not None))
    return PerformanceAssessment(flags, rules, evidence, reference, latest)


def clinical_stability(
    results: Sequence[PerformanceStatus],
    dates: Sequence[dt.date],
    thresholds: PerformanceThresholds,
    *,
    therapy_started_on: dt.date | None,
) -> dict[dt.date, ClinicalStability]:
    """I8 on each imaging date: K12 says a PS deterioration "with IO also triggers I8", so a patient whose
    ECOG scores up to that date show PS_DETERIORATION is not clinically stable. The other two I8 criteria
    (symptoms, symptom management) have no inbound convention yet, so they are never set. The last date
    also counts the scores after it (the facts are already cut at the assessment date), as the marker
    readings do for the latest time point."""
    stability = {}
    for index, day in enumerate(dates):
        last = index == len(dates) - 1
        known = [r for r in results if last or r.observed_on <= day]
        reading = assess_performance(
            known, thresholds, therapy_started_on=therapy_started_on, objective_pd=True
        )
        if Flag.PS_DETERIORATION in reading.flags:
            stability[day] = ClinicalStability(performance_status_worsened=True)
    return stability


def _reference(ecog: list[PerformanceStatus], started: dt.date | None) -> PerformanceStatus | None:
    before = [r for r in ecog[:-1] if started is None or r.observed_on <= started]
    baseline = before[-1] if before else None
    on_therapy = [r for r in ecog[:-1] if started is not None and r.observed_on > started]
    candidates = [r for r in (baseline, *on_therapy) if r is not None]
    return min(candidates, key=lambda r: r.score) if candidates else None


def _deteriorated(
    latest: PerformanceStatus, reference: PerformanceStatus | None, thresholds: PerformanceThresholds
) -> bool:
    if latest.score >= thresholds.ecog_any:
        return True
    rise = reference is not None and latest.score - reference.score >= thresholds.ecog_rise
    return rise and latest.score >= thresholds.ecog_rise_floor
