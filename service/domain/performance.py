"""Performance status (CLINICAL-RULES.md 0.2 K11, K12, K14, L5): ECOG deterioration is a change, not a level.

K12 (amended): the reference is the lowest (best) ECOG from the line's baseline (the last score at most
``baseline_window_days`` before the line start, R10) up to, not including, the current score; deterioration
is current >= reference + ``deterioration_points``; an equal score never is (a stable ECOG 3 is not
deterioration). No reference: ``PS_REFERENCE_MISSING`` instead. Karnofsky scores are mapped to ECOG first.
K14: ``PS_POOR`` for a current ECOG >= ``poor_min`` without deterioration (informational).
L5 (amended): ``SYMPTOMATIC_DETERIORATION`` only from ``PS_DETERIORATION`` to an ECOG >= ``symptomatic_min``
without objective PD.
Readings taken where the text leaves room: the current score is the latest ECOG (or mapped Karnofsky) up to
the assessment date; a score dated on the line start belongs to the baseline; without a line start every
earlier score counts; of two scores on one day the later-listed one is current.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.facts import PerformanceScale, PerformanceStatus
from service.domain.model import ClinicalStability
from service.domain.rules import Flag, Rule


@dataclass(frozen=True, slots=True)
class KarnofskyBand:
    """K12: Karnofsky scores ``low``-``high`` (inclusive) mean this ECOG score."""

    low: int
    high: int
    ecog: int


@dataclass(frozen=True, slots=True)
class PerformanceThresholds:
    deterioration_points: int  # K12 PS_DETERIORATION_POINTS
    baseline_window_days: int  # K12 / R10: the baseline score is at most this many days before the start
    symptomatic_min: int  # L5: SYMPTOMATIC_DETERIORATION needs a current ECOG at least this
    poor_min: int  # K14 PS_POOR_MIN
    karnofsky: tuple[KarnofskyBand, ...]  # K12: Karnofsky to ECOG


@dataclass(frozen=True, slots=True)
class PerformanceAssessment:
    flags: tuple[Flag, ...]
    rules: tuple[Rule, ...]
    evidence: tuple[str, ...]
    reference: PerformanceStatus | None  # as ECOG
    latest: PerformanceStatus | None  # as ECOG


def assess_performance(
    results: Sequence[PerformanceStatus],
    thresholds: PerformanceThresholds,
    *,
    therapy_started_on: dt.date | None,
    objective_pd: bool,
) -> PerformanceAssessment:
    """K12 PS_DETERIORATION or PS_REFERENCE_MISSING; K14 PS_POOR; without objective PD also L5."""
    scores = as_ecog(results, thresholds)
    if not scores:
        return PerformanceAssessment((), (), (), None, None)
    latest = scores[-1]
    reference = _reference(scores[:-1], therapy_started_on, thresholds)
    flags = _flags(latest, reference, thresholds, objective_pd)
    rules = (Rule.K11, *dict.fromkeys(_RULE_OF[f] for f in flags))
    evidence = tuple(dict.fromkeys(r.source for r in (reference, latest) if r is not None))
    return PerformanceAssessment(flags, rules, evidence, reference, latest)


_RULE_OF = {
    Flag.PS_DETERIORATION: Rule.K12,
    Flag.PS_REFERENCE_MISSING: Rule.K12,
    Flag.SYMPTOMATIC_DETERIORATION: Rule.L5,
    Flag.PS_POOR: Rule.K14,
}


def _flags(
    latest: PerformanceStatus,
    reference: PerformanceStatus | None,
    thresholds: PerformanceThresholds,
    objective_pd: bool,
) -> tuple[Flag, ...]:
    if reference is not None and _deteriorated(latest.score, reference.score, thresholds):
        symptomatic = not objective_pd and latest.score >= thresholds.symptomatic_min  # L5
        return (Flag.PS_DETERIORATION, *((Flag.SYMPTOMATIC_DETERIORATION,) if symptomatic else ()))
    missing = (Flag.PS_REFERENCE_MISSING,) if reference is None else ()
    return (*missing, *((Flag.PS_POOR,) if latest.score >= thresholds.poor_min else ()))  # K14


def _deteriorated(latest: int, reference: int, thresholds: PerformanceThresholds) -> bool:
    """K12: worse by at least the points, from the best (lowest) reference score."""
    return latest >= reference + thresholds.deterioration_points


def as_ecog(
    results: Sequence[PerformanceStatus], thresholds: PerformanceThresholds
) -> list[PerformanceStatus]:
    """K12: every score as ECOG (Karnofsky mapped; one outside the bands is left out), by date."""
    scores = [s for r in results if (s := _ecog(r, thresholds)) is not None]
    return sorted(scores, key=lambda r: r.observed_on)


def _ecog(result: PerformanceStatus, thresholds: PerformanceThresholds) -> PerformanceStatus | None:
    if result.scale is PerformanceScale.ECOG:
        return result
    band = next((b for b in thresholds.karnofsky if b.low <= result.score <= b.high), None)
    if band is None:
        return None
    return PerformanceStatus(  # by keyword: a fact is a value, whatever class machinery it is built with
        patient=result.patient,
        source=result.source,
        scale=PerformanceScale.ECOG,
        score=band.ecog,
        observed_on=result.observed_on,
        observed_at=result.observed_at,
    )


def _reference(
    earlier: list[PerformanceStatus], started: dt.date | None, thresholds: PerformanceThresholds
) -> PerformanceStatus | None:
    """K12: the best score from the line's baseline on; scores before the baseline belong to no reference."""
    if started is None:
        window = earlier
    else:
        opens = started - dt.timedelta(days=thresholds.baseline_window_days)
        baseline = [r for r in earlier if opens <= r.observed_on <= started][-1:]
        window = baseline + [r for r in earlier if r.observed_on > started]
    return min(window, key=lambda r: r.score) if window else None


def clinical_stability(
    results: Sequence[PerformanceStatus],
    dates: Sequence[dt.date],
    thresholds: PerformanceThresholds,
    *,
    therapy_started_on: dt.date | None,
) -> dict[dt.date, ClinicalStability]:
    """I8 (amended) on each imaging date: "worsening of PS" is K12 PS_DETERIORATION, never a poor but
    unchanged score (PS_POOR). The other two I8 criteria (symptoms, symptom management) have no inbound
    convention yet, so they are never set. The last date also counts the scores after it (the facts are
    already cut at the assessment date), as the marker readings do for the latest time point. Each date
    reads the scores up to it, as :func:`assess_performance` would, from one pass over the series."""
    scores = as_ecog(results, thresholds)
    days = [s.observed_on for s in scores]
    references = _reference_scores(scores, therapy_started_on, thresholds)
    stability = {}
    for index, day in enumerate(dates):
        known = len(scores) if index == len(dates) - 1 else bisect_right(days, day)
        reference = references[known - 1] if known else None
        if reference is not None and _deteriorated(scores[known - 1].score, reference, thresholds):
            stability[day] = ClinicalStability(performance_status_worsened=True)
    return stability


def _reference_scores(
    scores: list[PerformanceStatus], started: dt.date | None, thresholds: PerformanceThresholds
) -> list[int | None]:
    """The score of :func:`_reference` for each ``scores[:n]`` (scores by date), carried forward: the
    latest score on or before the start if within the baseline window, and the best one after the start
    (every score without a start)."""
    references: list[int | None] = []
    baseline: int | None = None
    best: int | None = None
    for score in scores:
        found = [s for s in (baseline, best) if s is not None]
        references.append(min(found) if found else None)
        if started is None or score.observed_on > started:
            best = score.score if best is None else min(best, score.score)
        else:  # on or before the start: the latest such score is the baseline, if within the window
            opens = started - dt.timedelta(days=thresholds.baseline_window_days)
            baseline = score.score if score.observed_on >= opens else None
    return references
