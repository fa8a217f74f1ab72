"""CLINICAL-RULES.md section 8 (worked examples on response), the shared example stories, and one test for
each bug that section 7 found in other implementations."""

# ruff: noqa: N802  # test names carry the example IDs of CLINICAL-RULES.md section 8 (test_T01_...)

from __future__ import annotations

from decimal import Decimal

import pytest

from service.domain.imaging_response import ImagingResponse, evaluate_imaging_response
from service.domain.model import ImagingTimeline, Lesion, LesionStatus, MarkerStatus, Measurement
from service.domain.recist import evaluate_recist
from service.domain.recist_best import best_overall_response
from service.domain.response import DatedResponse, OverallResponse, SumOfDiameters, TargetResponse
from service.domain.rules import Flag
from tests.unit.domain.builders import (
    CONFIRMING,
    DAY_0,
    DEFAULTS,
    day,
    mm,
    nodal_target,
    non_target,
    sa,
    seen,
    target,
    target_series,
    timeline,
    tp,
)


def latest(series: ImagingTimeline, *, ici: bool = False) -> ImagingResponse:
    return evaluate_imaging_response(series, DEFAULTS, immune_checkpoint_inhibitor=ici)


def one_decimal(value: Decimal | None) -> Decimal | None:
    """Rounded only for display, as the rules document says."""
    return None if value is None else value.quantize(Decimal("0.1"))


def numbers(sums: SumOfDiameters | None) -> tuple[Decimal | None, ...]:
    assert sums is not None
    return (
        sums.sum_mm,
        sums.nadir_mm,
        one_decimal(sums.percent_from_baseline),
        one_decimal(sums.percent_from_nadir),
        sums.change_from_nadir_mm,
    )


# --- section 8 -----------------------------------------------------------------------------------------


def test_T01_partial_response_unconfirmed() -> None:
    """T01: 30+20+10=60 -> 40 at day 56, NT present: -33.3 %, target PR, overall PR (unconfirmed)."""
    series = timeline(
        [target("A"), target("B", "liver"), target("C", "adrenal"), non_target("N")],
        tp(-7, mm("A", 30), mm("B", 20), mm("C", 10), seen("N")),
        tp(56, mm("A", 20), mm("B", 12), mm("C", 8), seen("N")),
    )
    result = latest(series)
    response = result.recist.time_points[0]
    assert (response.target, response.overall) == (TargetResponse.PR, OverallResponse.PR)
    assert numbers(response.sums)[2] == Decimal("-33.3")
    assert (result.best.category, result.best.confirmed) == (OverallResponse.PR, False)


def test_T03_pd_needs_both_20_percent_and_5mm() -> None:
    """T03: 22 -> 20 (SD, nadir 20) -> 24 (+20 % but +4 mm: SD) -> 25 (+25 %, +5 mm: PD)."""
    responses = latest(target_series([12, 10], [11, 9], [13, 11], [14, 11])).recist.time_points
    assert [r.overall for r in responses] == [OverallResponse.SD, OverallResponse.SD, OverallResponse.PD]
    assert numbers(responses[1].sums)[1:] == (20, Decimal("9.1"), Decimal("20.0"), 4)
    assert numbers(responses[2].sums)[3:] == (Decimal("25.0"), 5)


def test_T05_small_rise_after_pr_stays_pr() -> None:
    """T05: 100+65=165 -> 63 -> 65: -60.6 % vs baseline, +3.2 % / +2 mm vs nadir: PR."""
    response = latest(target_series([100, 65], [40, 23], [41, 24])).recist.time_points[-1]
    assert response.overall is OverallResponse.PR
    assert numbers(response.sums) == (65, 63, Decimal("-60.6"), Decimal("3.2"), 2)


def test_T07_nodal_complete_response_with_sum_above_zero() -> None:
    """T07: lung 25 + node SA 18 -> lung 0, node 8: target CR with SOD 8, overall CR."""
    series = timeline(
        [target("L"), nodal_target("N")], tp(-7, mm("L", 25), sa("N", 18)), tp(56, mm("L", 0), sa("N", 8))
    )
    response = latest(series).recist.time_points[0]
    assert (response.target, response.overall) == (TargetResponse.CR, OverallResponse.CR)
    assert numbers(response.sums)[0] == 8


@pytest.mark.parametrize(
    ("example", "follow_up", "expected"),
    [
        ("T11", (mm("T", 18), seen("N", LesionStatus.UNEQUIVOCAL_PROGRESSION)), OverallResponse.PD),
        ("T12", (mm("T", 18), seen("N"), mm("X", 12)), OverallResponse.PD),
        ("T15", (mm("T", 0), seen("N")), OverallResponse.PR),
    ],
)
def test_T11_T12_T15_non_target_and_new_lesions_in_table_1(
    example: str, follow_up: tuple[Measurement, ...], expected: OverallResponse
) -> None:
    """T11 target -40 % + NT PD: PD; T12 target -40 % + new liver lesion: PD; T15 CR + NT present: PR."""
    lesions = [target("T"), non_target("N"), Lesion("X", "liver")]
    series = timeline(lesions, tp(-7, mm("T", 30), seen("N")), tp(56, *follow_up))
    assert latest(series).recist.time_points[0].overall is expected, example


@pytest.mark.parametrize(
    ("marker", "expected"),
    [(MarkerStatus.NORMAL, OverallResponse.CR), (MarkerStatus.ABOVE_ULN, OverallResponse.NON_CR_NON_PD)],
)
def test_T17_non_target_only_cr_needs_normal_markers(marker: MarkerStatus, expected: OverallResponse) -> None:
    """T17: NT-only, all NT gone with CEA 3.1 (ULN 5) is CR; with CEA 7.8 it is Non-CR/non-PD."""
    series = timeline(
        [non_target("P", "pleura")],
        tp(-7, seen("P")),
        tp(56, seen("P")),
        tp(112, seen("P", LesionStatus.ABSENT)),
    )
    responses = evaluate_recist(series, DEFAULTS, {day(112): marker}).time_points
    assert [r.overall for r in responses] == [OverallResponse.NON_CR_NON_PD, expected]


def test_T19_confirmed_partial_response() -> None:
    """T19: PR at day 42 and day 84 with confirmation required: BOR PR, confirmed."""
    evaluation = evaluate_recist(target_series([50], [30], [30], days=[-7, 42, 84]), CONFIRMING)
    result = best_overall_response(evaluation.dated, DAY_0, CONFIRMING)
    assert (result.category, result.confirmed) == (OverallResponse.PR, True)


def test_T24_pembrolizumab_iupd_then_icpd() -> None:
    """T24: 50 -> 40 (iSD) -> 50 (+25 %, +10 mm: iUPD) -> six weeks later 56 (+6 mm: iCPD)."""
    result = latest(target_series([30, 20], [24, 16], [30, 20], [33, 23], days=[-7, 56, 112, 154]), ici=True)
    assert result.irecist is not None
    assert [p.category.value for p in result.irecist] == ["iSD", "iUPD", "iCPD"]
    assert Flag.BORDERLINE_PD in result.variability[1].flags  # reported beside the iUPD (examples README)


def test_T29_single_target_within_measurement_error() -> None:
    """T29: single lung target 30 -> 32 mm, same scanner and reader: SD + WITHIN_MEASUREMENT_ERROR."""
    result = latest(target_series([30], [32]))
    response = result.recist.time_points[0]
    assert response.overall is OverallResponse.SD
    assert numbers(response.sums)[3:] == (Decimal("6.7"), 2)
    assert Flag.WITHIN_MEASUREMENT_ERROR in result.variability[0].flags


def test_T31_progression_with_numbers() -> None:
    """T31: 50+30=80 -> 55 -> 71: PD at +29.1 %, +16 mm over the nadir (borderline by V2: under +30 %)."""
    result = latest(target_series([50, 30], [35, 20], [45, 26]))
    response = result.recist.time_points[-1]
    assert response.overall is OverallResponse.PD
    assert numbers(response.sums)[3:] == (Decimal("29.1"), 16)
    assert Flag.BORDERLINE_PD in result.variability[-1].flags


@pytest.mark.parametrize(("adrenal", "borderline"), [(33, False), (31, True)])
def test_T44_oligoprogression_numbers(adrenal: int, borderline: bool) -> None:
    """T44: 67 -> 45 -> 60 is PD (+33.3 %, +15 mm), not borderline; with 58 (+28.9 %) it is BORDERLINE_PD."""
    result = latest(target_series([20, 25, 22], [12, 15, 18], [12, 15, adrenal]))
    assert result.recist.time_points[-1].overall is OverallResponse.PD
    assert (Flag.BORDERLINE_PD in result.variability[-1].flags) is borderline


# --- /work/shared/examples stories (imaging part) ------------------------------------------------------


@pytest.mark.parametrize(
    ("story", "rows", "days", "category", "flag"),
    [
        (
            "seed-slightly-larger",
            [[30, 25, 20], [21, 18, 14], [23, 19, 15]],
            [-10, 60, 120],
            "SD",
            Flag.WITHIN_MEASUREMENT_ERROR,
        ),
        (
            "seed-t790m-progression",
            [[30, 25, 20], [21, 18, 14], [23, 19, 15], [29, 24, 19]],
            [-10, 60, 120, 240],
            "PD",
            None,
        ),
        ("oligoprogression", [[20, 25, 22], [12, 15, 18], [12, 15, 33]], [-7, 84, 252], "PD", None),
        ("r5-shapes", [[30], [32]], [-7, 56], "SD", Flag.WITHIN_MEASUREMENT_ERROR),
    ],
)
def test_shared_example_stories(
    story: str, rows: list[list[int]], days: list[int], category: str, flag: Flag | None
) -> None:
    """The latest time point of each example Bundle's imaging, as the examples README expects."""
    result = latest(target_series(*rows, days=days))
    assert result.recist.time_points[-1].overall.value == category, story
    assert Flag.BORDERLINE_PD not in result.variability[-1].flags, story
    assert flag is None or flag in result.variability[-1].flags, story


# --- section 7: bugs found in other implementations ----------------------------------------------------


def test_bug_pd_measured_from_baseline_instead_of_nadir() -> None:
    """ePAD: 100 -> 60 -> 75 is -25 % from baseline but +25 %, +15 mm over the nadir: PD."""
    assert latest(target_series([100], [60], [75])).recist.time_points[-1].target is TargetResponse.PD


def test_bug_pd_without_the_5mm_rule() -> None:
    """ePAD: 20 -> 24 is +20 % but only +4 mm: SD, not PD."""
    assert latest(target_series([20], [24])).recist.time_points[-1].target is TargetResponse.SD


def test_bug_nodal_cr_missed_when_sum_above_zero() -> None:
    """ePAD: CR only at sum 0 misses a node back to 8 mm short axis: that is CR."""
    series = timeline([nodal_target("N")], tp(-7, sa("N", 18)), tp(56, sa("N", 8)))
    assert latest(series).recist.time_points[0].target is TargetResponse.CR


def test_bug_division_by_zero_at_nadir_zero() -> None:
    """pyrecist/ePAD: a nadir of 0 gives inf/NaN or a sentinel; here CR, CR, then 6 mm is PD with no %."""
    responses = latest(target_series([20], [0], [0], [6])).recist.time_points
    assert [r.target for r in responses] == [TargetResponse.CR, TargetResponse.CR, TargetResponse.PD]
    assert responses[-1].sums is not None and responses[-1].sums.percent_from_nadir is None


def test_bug_cr_never_assigned_or_assigned_on_near_total_shrinkage() -> None:
    """pyrecist never assigns CR; snippets call >= 99 % shrinkage CR. 30 -> 0 is CR; 100 -> 0.5 is PR."""
    assert latest(target_series([30], [0])).recist.time_points[0].target is TargetResponse.CR
    assert latest(target_series(["100"], ["0.5"])).recist.time_points[0].target is TargetResponse.PR


def test_bug_cr_then_pr_ignores_the_sd_window() -> None:
    """admiralonco #275: CR (day 28) then PR, confirmation required: PD when SD was too early, not SD."""
    visits = [DatedResponse(day(28), OverallResponse.CR), DatedResponse(day(56), OverallResponse.PR)]
    result = best_overall_response(visits, DAY_0, CONFIRMING)
    assert result.category is OverallResponse.PD and Flag.REVIEW_CR_VALIDITY in result.flags
