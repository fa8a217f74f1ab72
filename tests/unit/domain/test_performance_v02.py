"""Performance status as amended by CLINICAL-RULES.md 0.2: K12 a change, K14 PS_POOR, L5, I8."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_K12_...), as issue 5 asks

from __future__ import annotations

import pytest

from service.domain.facts import PerformanceScale, PerformanceStatus
from service.domain.performance import PerformanceAssessment, assess_performance, clinical_stability
from service.domain.rules import Flag, Rule
from tests.unit.domain.fact_builders import DAY_0, PATIENT, PS, day, ecog


def karnofsky(score: int, on: int) -> PerformanceStatus:
    return PerformanceStatus(
        PATIENT, f"Observation/kps-{on}", PerformanceScale.KARNOFSKY, score, day(on), None
    )


def judge(*scores: tuple[int, int], pd: bool = True) -> PerformanceAssessment:
    results = [ecog(score, on) for score, on in scores]
    return assess_performance(results, PS, therapy_started_on=DAY_0, objective_pd=pd)


def test_K12_stable_ecog_3_is_not_deterioration() -> None:
    """K12 / K14 (T52): ECOG 3 at baseline and 3 now is PS_POOR, never PS_DETERIORATION or L5."""
    result = judge((3, -7), (3, 100), pd=False)
    assert result.flags == (Flag.PS_POOR,) and result.rules == (Rule.K11, Rule.K14)


@pytest.mark.parametrize(
    ("scores", "deteriorated"),
    [
        ([(0, -5), (1, 100)], True),
        ([(1, -5), (2, 100)], True),
        ([(2, -5), (2, 100)], False),
        ([(1, -5), (0, 50), (1, 100)], True),
        ([(2, -5), (1, 50), (2, 56), (2, 100)], True),
        ([(1, -5), (2, 50), (1, 100)], False),
    ],
)
def test_K12_deterioration_is_one_point_over_the_best_since_baseline(
    scores: list[tuple[int, int]], deteriorated: bool
) -> None:
    """K12: current >= the best score since the line's baseline + 1; equal is never deterioration."""
    assert (Flag.PS_DETERIORATION in judge(*scores).flags) is deteriorated


def test_K12_baseline_is_the_last_score_within_28_days_before_the_start() -> None:
    """K12 / R10: a score older than 28 days before the start is no reference; only the last one before the
    start is the baseline."""
    assert judge((0, -29), (1, 100)).flags == (Flag.PS_REFERENCE_MISSING,)
    assert judge((0, -28), (1, 100)).flags == (Flag.PS_DETERIORATION,)
    assert judge((0, -20), (1, -5), (1, 100)).flags == ()


def test_K12_reference_missing() -> None:
    """K12: with no earlier score there is no reference: PS_REFERENCE_MISSING, with PS_POOR when >= 3."""
    assert judge((1, 100)).flags == (Flag.PS_REFERENCE_MISSING,)
    result = judge((3, 100))
    assert result.flags == (Flag.PS_REFERENCE_MISSING, Flag.PS_POOR)
    assert result.rules == (Rule.K11, Rule.K12, Rule.K14) and result.reference is None


def test_K12_karnofsky_is_mapped_to_ecog_first() -> None:
    """K12: KPS 90 -> ECOG 1, KPS 70 -> ECOG 2: a deterioration; a KPS outside every band is left out."""
    results = [karnofsky(90, -5), karnofsky(95, 50), karnofsky(70, 100)]
    result = assess_performance(results, PS, therapy_started_on=DAY_0, objective_pd=False)
    assert result.flags == (Flag.PS_DETERIORATION, Flag.SYMPTOMATIC_DETERIORATION)
    assert result.latest is not None and result.latest.score == 2
    assert result.evidence == ("Observation/kps--5", "Observation/kps-100")


def test_K12_without_a_line_start_every_earlier_score_counts() -> None:
    """K12: with no line start the best of all earlier scores is the reference."""
    result = assess_performance([ecog(0, -90), ecog(1, 50)], PS, therapy_started_on=None, objective_pd=True)
    assert result.flags == (Flag.PS_DETERIORATION,) and result.rules == (Rule.K11, Rule.K12)


def test_K11_no_scores_no_assessment() -> None:
    """K11: without performance scores there is nothing to judge."""
    result = judge()
    assert result.flags == () and result.rules == () and result.latest is None


@pytest.mark.parametrize(
    ("scores", "flags"),
    [
        ([(3, -5), (3, 100)], (Flag.PS_POOR,)),
        ([(4, -5), (4, 100)], (Flag.PS_POOR,)),
        ([(3, -5), (4, 100)], (Flag.PS_DETERIORATION,)),
        ([(2, -5), (2, 100)], ()),
    ],
)
def test_K14_ps_poor_without_deterioration(scores: list[tuple[int, int]], flags: tuple[Flag, ...]) -> None:
    """K14: a current ECOG >= 3 without PS_DETERIORATION is PS_POOR; with deterioration it is not."""
    assert judge(*scores).flags == flags


@pytest.mark.parametrize(
    ("scores", "pd", "symptomatic"),
    [
        ([(1, -5), (2, 100)], False, True),
        ([(0, -5), (1, 100)], False, False),
        ([(1, -5), (2, 100)], True, False),
        ([(3, -5), (3, 100)], False, False),
        ([(2, -5), (3, 100)], False, True),
    ],
)
def test_L5_symptomatic_deterioration_only_from_deterioration_to_ecog_2(
    scores: list[tuple[int, int]], pd: bool, symptomatic: bool
) -> None:
    """L5 (amended, T53): PS_DETERIORATION to ECOG >= 2 with no objective PD; a stable poor score never."""
    result = judge(*scores, pd=pd)
    assert (Flag.SYMPTOMATIC_DETERIORATION in result.flags) is symptomatic
    assert (Rule.L5 in result.rules) is symptomatic


def test_I8_not_clinically_stable_from_deterioration_not_a_stable_poor_score() -> None:
    """I8 (amended): not clinically stable from the first imaging date whose scores show PS_DETERIORATION
    (any rise of 1 point); a stable ECOG 3 is stable; the last date also counts later scores."""
    dates = [day(56), day(112), day(168)]
    worse = clinical_stability([ecog(0, -5), ecog(0, 56), ecog(1, 112)], dates, PS, therapy_started_on=DAY_0)
    assert set(worse) == {day(112), day(168)} and not worse[day(112)].is_stable
    late = clinical_stability([ecog(0, -5), ecog(2, 170)], dates, PS, therapy_started_on=DAY_0)
    assert set(late) == {day(168)}
    assert clinical_stability([ecog(3, -5), ecog(3, 112)], dates, PS, therapy_started_on=DAY_0) == {}
