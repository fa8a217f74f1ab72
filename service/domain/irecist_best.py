"""iRECIST best overall response (iBOR): RECIST's B1-B5 over the iRECIST categories, and I7.

iCPD plays the part of PD (dated from the iUPD it confirmed), an unconfirmed iUPD the part of NE, and an
iBOR that would be NE becomes iUPD when an iUPD was never confirmed (I7, Seymour Table 3 example 8).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.irecist_types import IrecistResponse, IrecistTimePoint
from service.domain.recist_best import best_overall_response
from service.domain.response import DatedResponse, OverallResponse, TargetResponse
from service.domain.rules import Flag, Rule
from service.domain.thresholds import ResponseThresholds

_AS_RECIST = {
    IrecistResponse.ICR: OverallResponse.CR,
    IrecistResponse.IPR: OverallResponse.PR,
    IrecistResponse.ISD: OverallResponse.SD,
    IrecistResponse.NON_ICR_NON_IUPD: OverallResponse.NON_CR_NON_PD,
    IrecistResponse.ICPD: OverallResponse.PD,
    IrecistResponse.IUPD: OverallResponse.NE,
    IrecistResponse.NE: OverallResponse.NE,
}
_AS_IRECIST = {
    OverallResponse.CR: IrecistResponse.ICR,
    OverallResponse.PR: IrecistResponse.IPR,
    OverallResponse.SD: IrecistResponse.ISD,
    OverallResponse.NON_CR_NON_PD: IrecistResponse.NON_ICR_NON_IUPD,
    OverallResponse.PD: IrecistResponse.ICPD,
    OverallResponse.NE: IrecistResponse.NE,
}


@dataclass(frozen=True, slots=True)
class IrecistBestResponse:
    category: IrecistResponse
    date: dt.date | None
    confirmed: bool
    alternative: IrecistResponse | None
    rules: tuple[Rule, ...]
    flags: tuple[Flag, ...]


def best_irecist_response(
    points: Sequence[IrecistTimePoint], treatment_start: dt.date, thresholds: ResponseThresholds
) -> IrecistBestResponse:
    """iBOR from the iRECIST time points (B1-B5 with iCPD as PD; I7 for an iUPD never confirmed)."""
    best = best_overall_response([_dated(p) for p in points], treatment_start, thresholds)
    category = _AS_IRECIST[best.category]
    rules = best.rules
    unconfirmed = [p for p in _until_confirmed(points) if p.category is IrecistResponse.IUPD]
    if category is IrecistResponse.NE and unconfirmed:
        category, rules = IrecistResponse.IUPD, (*rules, Rule.I7)
        return IrecistBestResponse(category, unconfirmed[0].date, False, None, rules, best.flags)
    alternative = None if best.alternative is None else _AS_IRECIST[best.alternative]
    return IrecistBestResponse(category, best.date, best.confirmed, alternative, rules, best.flags)


def _dated(point: IrecistTimePoint) -> DatedResponse:
    progression = point.iupd_date if point.category is IrecistResponse.ICPD else None
    only_nt = point.recist.target is TargetResponse.NONE
    return DatedResponse(point.date, _AS_RECIST[point.category], progression, (), only_nt)


def _until_confirmed(points: Sequence[IrecistTimePoint]) -> list[IrecistTimePoint]:
    ordered = sorted(points, key=lambda p: p.date)
    ends = [i for i, p in enumerate(ordered) if p.category is IrecistResponse.ICPD]
    return ordered[: ends[0]] if ends else ordered
