"""iRECIST as a state machine over RECIST time points (CLINICAL-RULES.md section 2)."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_I4_...), as issue 4 asks

from __future__ import annotations

from decimal import Decimal

import pytest

from service.domain.imaging_response import evaluate_imaging_response
from service.domain.irecist import evaluate_irecist
from service.domain.irecist_best import best_irecist_response
from service.domain.irecist_types import IrecistResponse, IrecistTimePoint
from service.domain.model import ClinicalStability, ImagingTimeline, Lesion, LesionStatus, Measurement
from service.domain.recist import evaluate_recist
from service.domain.response import OverallResponse
from service.domain.rules import Flag, Rule
from tests.unit.domain.builders import (
    DAY_0,
    DEFAULTS,
    day,
    mm,
    new,
    non_target,
    seen,
    target,
    target_series,
    timeline,
    tp,
)

ICR, IPR, ISD, IUPD, ICPD = (
    IrecistResponse.ICR,
    IrecistResponse.IPR,
    IrecistResponse.ISD,
    IrecistResponse.IUPD,
    IrecistResponse.ICPD,
)


def irecist(series: ImagingTimeline, clinical: dict | None = None) -> list[IrecistTimePoint]:  # type: ignore[type-arg]
    return list(evaluate_irecist(series, evaluate_recist(series, DEFAULTS), DEFAULTS, clinical))


def categories(series: ImagingTimeline) -> list[IrecistResponse]:
    return [p.category for p in irecist(series)]


def with_new(
    *visits: tuple[int, int, tuple[Measurement, ...]], lesions: tuple[Lesion, ...] = ()
) -> ImagingTimeline:
    """Target T (100 mm at baseline) and new lesions; each visit is (day, target size, other measurements)."""
    extra = lesions or (new("X"),)
    points = [tp(on_day, mm("T", size), *others) for on_day, size, others in visits]
    return timeline([target("T"), *extra], tp(-7, mm("T", 100)), *points)


def test_I1_categories_follow_recist_with_i_prefix() -> None:
    """Target CR, PR, SD give iCR, iPR, iSD; non-target-only disease gives non-iCR/non-iUPD; NE stays NE."""
    assert categories(target_series([100], [60], [0])) == [IPR, ICR]
    assert categories(target_series([100], [90])) == [ISD]
    nt_only = timeline([non_target("B")], tp(-7, seen("B")), tp(49, seen("B")), tp(98))
    assert categories(nt_only) == [IrecistResponse.NON_ICR_NON_IUPD, IrecistResponse.NE]


def test_I2_first_pd_is_iupd_not_pd() -> None:
    """The first time RECIST PD criteria are met, the iRECIST result is iUPD (RECIST still says PD)."""
    points = irecist(target_series([50], [40], [50], days=[-7, 56, 112]))
    assert points[1].recist.overall is OverallResponse.PD
    assert points[1].category is IUPD and Rule.I2 in points[1].rules


def test_I3_confirmation_window_is_four_to_eight_weeks() -> None:
    """An iUPD carries the window for its confirming scan: 28 to 56 days later."""
    point = irecist(target_series([50], [40], [50], days=[-7, 56, 112]))[1]
    assert point.iupd_date == day(112)
    assert point.confirmation_window == (day(140), day(168))


def test_I3_early_scan_growth_does_not_confirm() -> None:
    """A scan under 4 weeks after iUPD does not count towards iCPD: more growth there leaves iUPD."""
    assert categories(target_series([50], [40], [50], [60], days=[-7, 56, 112, 126])) == [ISD, IUPD, IUPD]


@pytest.mark.parametrize(("prompted", "expected"), [(True, ICPD), (False, IUPD)])
def test_I3_early_scan_for_symptoms_with_a_new_lesion_confirms(
    prompted: bool, expected: IrecistResponse
) -> None:
    """Only an early scan done for new symptoms that shows an additional new lesion confirms progression."""
    early = tp(70, mm("T", 130), mm("X", 12), prompted_by_symptoms=prompted)
    series = timeline([target("T"), new("X")], tp(-7, mm("T", 100)), tp(56, mm("T", 130)), early)
    assert categories(series) == [IUPD, expected]


def test_I3_unconfirmed_iupd_persists_and_a_later_scan_confirms() -> None:
    """An iUPD neither confirmed nor reset persists; any later assessment may confirm it."""
    series = target_series([50], [40], [50], [52], [56], days=[-7, 56, 112, 154, 210])
    assert categories(series) == [ISD, IUPD, IUPD, ICPD]


def test_I4_target_sum_up_5mm_from_iupd_confirms() -> None:
    """T24: 50 -> 40 (iSD) -> 50 (iUPD) -> six weeks later 56 (+6 mm from iUPD) is iCPD."""
    points = irecist(target_series([30, 20], [24, 16], [30, 20], [33, 23], days=[-7, 56, 112, 154]))
    assert [p.category for p in points] == [ISD, IUPD, ICPD]
    assert points[2].target_increase_mm == 6 and Rule.I4 in points[2].rules


def test_I4_increments_add_up_across_time_points() -> None:
    """+4 mm then +2 mm from the iUPD time point reaches the 5 mm of iCPD."""
    series = target_series([50], [40], [50], [54], [56], days=[-7, 56, 112, 154, 196])
    assert categories(series)[1:] == [IUPD, IUPD, ICPD]


def test_I4_any_further_non_target_increase_confirms() -> None:
    """After iUPD, a non-target the reader calls ``further-increase`` confirms (I4 b, I9; an equivocal call
    no longer does: tests/unit/domain/test_irecist_v02.py)."""
    series = timeline(
        [target("T"), non_target("B")],
        tp(-7, mm("T", 50), seen("B")),
        tp(56, mm("T", 60), seen("B")),
        tp(98, mm("T", 60), seen("B", LesionStatus.FURTHER_INCREASE)),
    )
    assert categories(series) == [IUPD, ICPD]


def test_I4_non_target_only_disease_confirms_on_non_target_growth() -> None:
    """Without targets, unequivocal non-target progression is iUPD and the reader's further increase iCPD."""
    unequivocal = seen("B", LesionStatus.UNEQUIVOCAL_PROGRESSION)
    series = timeline(
        [non_target("B")],
        tp(-7, seen("B")),
        tp(56, unequivocal),
        tp(98, unequivocal, seen("B", LesionStatus.FURTHER_INCREASE)),
    )
    points = irecist(series)
    assert [p.category for p in points] == [IUPD, ICPD]
    assert points[1].target_increase_mm is None


@pytest.mark.parametrize(("later_mm", "expected"), [(17, ICPD), (16, IUPD)])
def test_I4_new_lesion_target_sum_up_5mm_confirms(later_mm: int, expected: IrecistResponse) -> None:
    """A measurable new lesion (NLT) growing 5 mm from iUPD confirms; 4 mm does not."""
    series = with_new((56, 90, (mm("X", 12),)), (98, 90, (mm("X", later_mm),)))
    assert categories(series) == [IUPD, expected]


def test_I4_any_increase_of_new_non_target_lesion_confirms() -> None:
    """A new lesion too small to be an NLT (6 mm) growing to 8 mm is an NLNT increase: iCPD."""
    series = with_new((56, 90, (mm("X", 6),)), (98, 90, (mm("X", 8),)))
    assert categories(series) == [IUPD, ICPD]


def test_I4_additional_new_lesion_confirms() -> None:
    """A new lesion not seen at iUPD confirms progression."""
    lesions = (new("X"), new("Y", "bone"))
    series = with_new((56, 90, (mm("X", 12),)), (98, 90, (mm("X", 12), mm("Y", 5))), lesions=lesions)
    points = irecist(series)
    assert [p.category for p in points] == [IUPD, ICPD]
    assert points[1].additional_new_lesions == ("Y",)


def test_I4_icpd_is_final() -> None:
    """Once confirmed, later time points stay iCPD, as PD ends RECIST assessment."""
    assert categories(target_series([50], [60], [66], [40], days=[-7, 56, 98, 140])) == [IUPD, ICPD, ICPD]


def test_I5_new_lesion_targets_are_summed_apart() -> None:
    """Up to 5 new lesions, 2 per organ, become NLTs with their own sum; the target sum is left alone."""
    sizes = {"liver-a": 30, "liver-b": 25, "liver-c": 20, "lung-a": 15, "lung-b": 14, "adrenal": 12}
    lesions = tuple(new(name, name.split("-")[0]) for name in sizes)
    series = with_new((56, 90, tuple(mm(name, s) for name, s in sizes.items())), lesions=lesions)
    point = irecist(series)[0]
    assert point.new_lesion_target_sum_mm == Decimal(30 + 25 + 15 + 14 + 12)
    assert point.recist.sums is not None and point.recist.sums.sum_mm == 90
    assert Rule.I5 in point.rules


def test_I6_reset_when_targets_newly_reach_pr() -> None:
    """FAQ scenario B: iUPD from a new lesion with SD targets, then targets reach PR: iPR, bar reset."""
    series = with_new((56, 80, (mm("X", 10),)), (112, 60, (mm("X", 10),)))
    points = irecist(series)
    assert [p.category for p in points] == [IUPD, IPR]
    assert Rule.I6 in points[1].rules and points[1].iupd_date is None


def test_I6_unchanged_disease_stays_iupd() -> None:
    """FAQ scenario F: PR before and after, the new lesion persisting without growth: still iUPD."""
    assert categories(with_new((56, 60, (mm("X", 10),)), (112, 60, (mm("X", 10),)))) == [IUPD, IUPD]


def test_I6_after_reset_progression_must_be_unconfirmed_again() -> None:
    """After a reset, growth against the nadir is a new iUPD, not straight iCPD."""
    series = with_new((56, 80, (mm("X", 10),)), (112, 60, (mm("X", 10),)), (168, 75, (mm("X", 10),)))
    assert categories(series) == [IUPD, IPR, IUPD]


def test_I6_reset_when_every_new_lesion_has_gone() -> None:
    """The same target category but the new lesion gone is a change from iUPD: reset."""
    series = with_new((56, 60, (mm("X", 10),)), (112, 60, (mm("X", 0),)))
    assert categories(series) == [IUPD, IPR]


def test_I6_target_pd_reset_when_back_under_the_threshold() -> None:
    """iUPD from target PD (40 -> 50) followed by 46 (+15 % over the nadir) is iSD: reset."""
    assert categories(target_series([50], [40], [50], [46], days=[-7, 56, 112, 154])) == [ISD, IUPD, ISD]


def test_I6_persisting_new_lesion_holds_cr_at_ipr() -> None:
    """Targets gone but the earlier new lesion still there: iPR, not iCR."""
    series = with_new((56, 80, (mm("X", 10),)), (112, 0, (mm("X", 10),)))
    assert categories(series) == [IUPD, IPR]


def test_I6_non_target_only_cr_with_persisting_new_lesion_is_non_icr() -> None:
    """Without targets, non-targets gone but a new lesion persisting is non-iCR/non-iUPD, not iCR."""
    series = timeline(
        [non_target("B"), new("X")],
        tp(-7, seen("B")),
        tp(56, seen("B"), mm("X", 10)),
        tp(112, seen("B", LesionStatus.ABSENT), mm("X", 10)),
    )
    assert categories(series) == [IUPD, IrecistResponse.NON_ICR_NON_IUPD]


@pytest.mark.parametrize("after", [[], [tp(154)]], ids=["no further assessment", "only NE after"])
def test_I7_unconfirmed_iupd_is_the_best_response(after: list[object]) -> None:
    """iUPD never confirmed (no later scan, or only NE) gives iBOR iUPD."""
    base = target_series([50], [60], days=[-7, 28])
    series = timeline(base.lesions, *base.time_points, *after)  # type: ignore[arg-type]
    points = irecist(series)
    result = best_irecist_response(points, DAY_0, DEFAULTS)
    assert result.category is IUPD and Rule.I7 in result.rules
    assert [p.category for p in points][1:] == [IrecistResponse.NE] * len(after)


def test_I7_best_response_before_confirmed_progression() -> None:
    """T24: iSD at day 56, then iUPD and iCPD: iBOR is iSD; without the iSD window it is iCPD."""
    points = irecist(target_series([30, 20], [24, 16], [30, 20], [33, 23], days=[-7, 56, 112, 154]))
    assert best_irecist_response(points, DAY_0, DEFAULTS).category is ISD
    early = irecist(target_series([50], [60], [66], days=[-7, 28, 70]))
    assert best_irecist_response(early, DAY_0, DEFAULTS).category is ICPD


def test_I8_not_clinically_stable_is_flagged() -> None:
    """Worse PS, more symptoms or more symptom treatment at iUPD raise NOT_CLINICALLY_STABLE."""
    series = target_series([50], [60], days=[-7, 56])
    point = irecist(series, {day(56): ClinicalStability(symptom_management_intensified=True)})[0]
    assert point.category is IUPD and Flag.NOT_CLINICALLY_STABLE in point.flags and Rule.I8 in point.rules
    stable = irecist(series, {day(56): ClinicalStability()})[0]
    assert Flag.NOT_CLINICALLY_STABLE not in stable.flags


def test_irecist_runs_only_for_checkpoint_inhibitors() -> None:
    """The one entry point runs iRECIST only when the caller says the therapy is an ICI."""
    series = target_series([50], [60], days=[-7, 56])
    assert evaluate_imaging_response(series, DEFAULTS, immune_checkpoint_inhibitor=False).irecist is None
    result = evaluate_imaging_response(series, DEFAULTS, immune_checkpoint_inhibitor=True)
    assert result.irecist is not None and result.irecist[0].category is IUPD
    assert result.irecist_best is not None and result.irecist_best.category is IUPD
    assert result.best.category is OverallResponse.PD
