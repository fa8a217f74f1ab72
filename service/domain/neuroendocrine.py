"""Neuroendocrine markers NSE and ProGRP (CLINICAL-RULES.md 0.2 K16), a trigger for the X10 biopsy question.

K16: ``NE_MARKER_RISING`` when a value is > the lab's ULN (``referenceRange.high``) and >= 1.30 x the
previous value, confirmed by a second rising sample "(same rule as K2)". Readings taken where the text
leaves room: the confirming sample is any later one 14-42 days after the rising one (K2's window) that is
still > its ULN and >= 1.30 x the same previous value; a value without a ULN is never judged (K16 names no
default, unlike K1 for CEA). A heuristic, not a validated cut-off [33][34].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.facts import MarkerResult
from service.domain.markers import CeaThresholds
from service.domain.rules import Flag, Rule

NEUROENDOCRINE = ("nse", "progrp")  # internal concepts of the K16 codes in mappings/markers.yaml


@dataclass(frozen=True, slots=True)
class NeuroendocrineAssessment:
    flags: tuple[Flag, ...]
    rules: tuple[Rule, ...]
    evidence: tuple[str, ...]
    rising: tuple[str, ...]  # the markers whose rise is confirmed (nse, progrp)


def assess_neuroendocrine(
    results: Sequence[MarkerResult], thresholds: CeaThresholds
) -> NeuroendocrineAssessment:
    """K16 over each neuroendocrine marker; K2's rise and confirmation window apply ("same rule as K2")."""
    found = {m: rise for m in NEUROENDOCRINE if (rise := _confirmed_rise(_series(results, m), thresholds))}
    if not found:
        return NeuroendocrineAssessment((), (), (), ())
    evidence = tuple(dict.fromkeys(r.source for rise in found.values() for r in rise))
    return NeuroendocrineAssessment((Flag.NE_MARKER_RISING,), (Rule.K16,), evidence, tuple(found))


def _series(results: Sequence[MarkerResult], marker: str) -> list[MarkerResult]:
    return sorted((r for r in results if r.marker == marker), key=lambda r: r.observed_on)


def _confirmed_rise(
    series: list[MarkerResult], thresholds: CeaThresholds
) -> tuple[MarkerResult, MarkerResult, MarkerResult] | None:
    """The latest (previous, rising, confirming) triple, or None. The series is by date, so each rise's
    confirmation search stops past its window: the work grows with the series, not with its square."""
    latest = None
    for index in range(1, len(series)):
        previous, now = series[index - 1], series[index]
        if not _risen(previous, now, thresholds):
            continue
        for later in range(index + 1, len(series)):
            confirming = series[later]
            waited = (confirming.observed_on - now.observed_on).days
            if waited > thresholds.confirm_max_days:
                break
            if waited >= thresholds.confirm_min_days and _risen(previous, confirming, thresholds):
                latest = (previous, now, confirming)
    return latest


def _risen(previous: MarkerResult, now: MarkerResult, thresholds: CeaThresholds) -> bool:
    above = now.upper_limit is not None and now.value > now.upper_limit
    return above and now.value >= (1 + thresholds.rise_rel) * previous.value
