"""Best overall response, confirmation and SD minimum duration (CLINICAL-RULES.md 1.6, RECIST Table 3)."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_B4_...), as issue 4 asks

from __future__ import annotations

import pytest

from service.domain.recist import evaluate_recist
from service.domain.recist_best import best_overall_response
from service.domain.response import BestOverallResponse, DatedResponse, OverallResponse
from service.domain.rules import Flag, Rule
from service.domain.thresholds import ResponseThresholds
from tests.unit.domain.builders import CONFIRMING, DAY_0, DEFAULTS, day, target_series

CR, PR, SD, PD, NE = (
    OverallResponse.CR,
    OverallResponse.PR,
    OverallResponse.SD,
    OverallResponse.PD,
    OverallResponse.NE,
)
NON_CR = OverallResponse.NON_CR_NON_PD


def best(
    *visits: tuple[int, OverallResponse], thresholds: ResponseThresholds = CONFIRMING
) -> BestOverallResponse:
    """BOR of time-point responses given as (day, category)."""
    return best_overall_response([DatedResponse(day(n), c) for n, c in visits], DAY_0, thresholds)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ((56, CR), (84, CR), CR),
        ((56, CR), (84, SD), SD),  # SD minimum met by the CR time point
        ((28, CR), (56, SD), PD),  # not met: the SD after CR is disease back, so PD
        ((56, CR), (84, PD), SD),
        ((28, CR), (56, PD), PD),
        ((56, CR), (84, NE), SD),
        ((28, CR), (56, NE), NE),
        ((56, PR), (84, CR), PR),
        ((56, PR), (84, PR), PR),
        ((56, PR), (84, SD), SD),
        ((56, PR), (84, PD), SD),
        ((28, PR), (56, PD), PD),
        ((56, PR), (84, NE), SD),
        ((28, PR), (35, NE), NE),
        ((56, NE), (84, NE), NE),
    ],
)
def test_B4_table_3_when_confirmation_is_required(
    first: tuple[int, OverallResponse], second: tuple[int, OverallResponse], expected: OverallResponse
) -> None:
    """RECIST 1.1 Table 3, row by row (SD minimum 42 days, confirmation at 28 days)."""
    result = best(first, second)
    assert result.category is expected
    assert Rule.B4 in result.rules


@pytest.mark.parametrize(("cr_day", "expected"), [(56, SD), (28, PD)])
def test_B4_footnote_a_cr_then_pr_is_raised_for_review(cr_day: int, expected: OverallResponse) -> None:
    """CR then PR: PD after a real CR (SD if the SD minimum was met), with PR as the flagged alternative."""
    result = best((cr_day, CR), (cr_day + 28, PR))
    assert (result.category, result.alternative) == (expected, PR)
    assert Flag.REVIEW_CR_VALIDITY in result.flags


def test_B4_footnote_a_also_flags_an_unconfirmed_cr_in_practice() -> None:
    """Without required confirmation CR then PR gives CR (unconfirmed), still flagged, PR the alternative."""
    result = best((56, CR), (84, PR), thresholds=DEFAULTS)
    assert (result.category, result.confirmed, result.alternative) == (CR, False, PR)
    assert Flag.REVIEW_CR_VALIDITY in result.flags


def test_B4_reappearance_after_cr_carries_the_review_into_best_response() -> None:
    """A T6 PD after CR (flagged REVIEW_CR_VALIDITY) gives the same review and PR alternative."""
    visits = [DatedResponse(day(56), CR), DatedResponse(day(84), PD, day(84), (Flag.REVIEW_CR_VALIDITY,))]
    result = best_overall_response(visits, DAY_0, CONFIRMING)
    assert (result.category, result.alternative) == (SD, PR)


def test_B1_best_response_stops_at_progression() -> None:
    """Nothing after the first PD counts: SD, PD, then CR is PD at best when SD was too early."""
    assert best((28, SD), (56, PD), (112, CR), (140, CR)).category is PD


def test_B1_progression_dated_back_drops_the_time_points_since() -> None:
    """A PD dated back to an equivocal lesion's first scan (L2) removes the SD seen after that date."""
    visits = [DatedResponse(day(35), SD), DatedResponse(day(77), SD), DatedResponse(day(119), PD, day(35))]
    result = best_overall_response(visits, DAY_0, DEFAULTS)
    assert (result.category, result.date) == (PD, day(35))
    undated = best_overall_response([*visits[:2], DatedResponse(day(119), PD)], DAY_0, DEFAULTS)
    assert undated.category is SD


@pytest.mark.parametrize(
    ("visits", "thresholds", "expected", "confirmed"),
    [
        ([(42, PR), (84, PR)], CONFIRMING, PR, True),  # T19
        ([(42, PR), (56, PR)], CONFIRMING, SD, False),  # only 14 days apart
        ([(42, PR), (70, NE), (98, PR)], CONFIRMING, SD, False),  # NE in between
        ([(42, PR)], DEFAULTS, PR, False),  # practice: unconfirmed PR is shown as such
        ([(42, PR), (84, PR)], DEFAULTS, PR, True),
        ([(42, CR), (70, CR)], DEFAULTS, CR, True),
    ],
)
def test_B2_confirmation_needs_a_second_assessment_four_weeks_later(
    visits: list[tuple[int, OverallResponse]],
    thresholds: ResponseThresholds,
    expected: OverallResponse,
    confirmed: bool,
) -> None:
    """CR/PR need a confirming assessment >= 28 days later when required; it is reported either way."""
    result = best(*visits, thresholds=thresholds)
    assert (result.category, result.confirmed) == (expected, confirmed)
    assert result.confirmation_mode is thresholds.confirmation_mode


@pytest.mark.parametrize(
    ("visits", "expected"),
    [
        ([(35, SD)], NE),
        ([(35, SD), (70, PD)], PD),
        ([(42, SD)], SD),  # inclusive
        ([(56, NON_CR)], NON_CR),
        ([(35, NON_CR), (70, NE)], NE),
    ],
)
def test_B3_sd_counts_only_after_the_minimum_duration(
    visits: list[tuple[int, OverallResponse]], expected: OverallResponse
) -> None:
    """SD (or Non-CR/non-PD) counts as best response only when met >= 42 days after treatment start."""
    result = best(*visits, thresholds=DEFAULTS)
    assert result.category is expected
    assert Rule.B3 in result.rules or expected is not SD


def test_B3_non_target_only_unconfirmed_cr_is_non_cr_non_pd() -> None:
    """With confirmation required, an unconfirmed CR in non-target-only disease counts as Non-CR/non-PD."""
    visits = [DatedResponse(day(56), CR, non_target_only=True)]
    assert best_overall_response(visits, DAY_0, CONFIRMING).category is NON_CR


def test_B5_pd_has_no_time_window() -> None:
    """PD counts whenever it occurs, even on the first scan two weeks in."""
    result = best((14, PD), thresholds=DEFAULTS)
    assert (result.category, result.date) == (PD, day(14)) and Rule.B5 in result.rules


def test_B1_no_follow_up_is_ne() -> None:
    """With no follow-up the best overall response is NE, with no date."""
    assert best().category is NE and best().date is None


def test_best_response_of_an_evaluated_timeline() -> None:
    """T01: 60 -> 40 at day 56 is PR, unconfirmed; the BOR reads straight from RECIST time points."""
    evaluation = evaluate_recist(target_series([30, 20, 10], [20, 12, 8], days=[-7, 56]), DEFAULTS)
    result = best_overall_response(evaluation.dated, DAY_0, DEFAULTS)
    assert (result.category, result.confirmed, result.date) == (PR, False, day(56))
