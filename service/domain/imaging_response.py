"""One call for the whole imaging evaluation: RECIST 1.1, its best response, V flags, and iRECIST on request.

iRECIST runs only when the caller says the current line includes an immune checkpoint inhibitor (section 2:
"Use iRECIST only when the current line includes an immune checkpoint inhibitor"); the domain does not
decide what a drug is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from service.domain.irecist import evaluate_irecist
from service.domain.irecist_best import IrecistBestResponse, best_irecist_response
from service.domain.irecist_types import IrecistTimePoint
from service.domain.model import ClinicalStability, ImagingTimeline, MarkerStatus
from service.domain.recist import RecistEvaluation, evaluate_recist, with_markers
from service.domain.recist_best import best_overall_response
from service.domain.response import BestOverallResponse
from service.domain.thresholds import ResponseThresholds
from service.domain.variability import (
    VariabilityAssessment,
    assess_variability,
    beyond_unconfirmed_progression,
)


@dataclass(frozen=True, slots=True)
class ImagingResponse:
    recist: RecistEvaluation
    best: BestOverallResponse
    variability: tuple[VariabilityAssessment, ...]
    irecist: tuple[IrecistTimePoint, ...] | None
    irecist_best: IrecistBestResponse | None


def evaluate_imaging_response(
    timeline: ImagingTimeline,
    thresholds: ResponseThresholds,
    *,
    immune_checkpoint_inhibitor: bool,
    markers: Mapping[dt.date, MarkerStatus] | None = None,
    clinical: Mapping[dt.date, ClinicalStability] | None = None,
    unmarked: RecistEvaluation | None = None,
    latest_variability: bool = False,
) -> ImagingResponse:
    """Sections 1-3 for one timeline; the iRECIST fields are None unless an ICI is given. ``unmarked``: the
    timeline's RECIST 1.1 evaluation without markers, when the caller has made it already.
    ``latest_variability``: the V flags of the follow-ups on the latest date only, all an assessment reports
    (they read no later time point, so they are the same as in the whole series)."""
    if unmarked is None:
        recist = evaluate_recist(timeline, thresholds, markers)
    else:
        recist = with_markers(unmarked, timeline, thresholds, markers or {})
    best = best_overall_response(recist.dated, timeline.treatment_start, thresholds)
    since = recist.time_points[-1].date if latest_variability and recist.time_points else None
    variability = assess_variability(timeline, recist, thresholds, since=since)
    if not immune_checkpoint_inhibitor:
        return ImagingResponse(recist, best, variability, None, None)
    irecist = evaluate_irecist(timeline, recist, thresholds, clinical)
    variability = beyond_unconfirmed_progression(variability, irecist)  # V1 (amended)
    irecist_best = best_irecist_response(irecist, timeline.treatment_start, thresholds)
    return ImagingResponse(recist, best, variability, irecist, irecist_best)
