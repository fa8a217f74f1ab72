"""CEA rules as amended by CLINICAL-RULES.md 0.2: K2 reference and window, K3 surge window, K13."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_K2_...), as issue 5 asks

from __future__ import annotations

from decimal import Decimal

import pytest

from service.domain.markers import ImagingInterval, ImagingVerdict, assess_cea
from service.domain.rules import Flag, Rule
from tests.unit.domain.fact_builders import CEA, DAY_0, cea, day

# T62: osimertinib day 200; CEA (ULN 5) nadir 4.0 -> 6.5 -> 7.2, 21 days apart; CT SD (-3 %) on day 224.
T62 = [cea("5.5", -7), cea("4.0", 120), cea("6.5", 200), cea("7.2", 221)]
SD_AFTER = ImagingInterval(ImagingVerdict.NOT_PD, day(112), day(224))
PD_AFTER = ImagingInterval(ImagingVerdict.PD, day(112), day(224))


def run(points: list[tuple[str, int]], imaging: ImagingInterval | None = None) -> tuple[Flag, ...]:
    results = [cea(value, on) for value, on in points]
    return assess_cea(results, CEA, therapy_started_on=DAY_0, imaging=imaging).flags


def test_K2_reference_is_the_lowest_on_therapy_value() -> None:
    """K2: the reference is the line's lowest value before the rise, not the sample just before it."""
    result = assess_cea([cea("3.0", -7), cea("4.0", 56), cea("5.0", 150), cea("6.5", 180), cea("7.2", 201)],
                        CEA, therapy_started_on=DAY_0)  # fmt: skip
    assert result.reference is not None and result.reference.value == Decimal("4.0")
    assert Flag.CEA_RISE_SIGNIFICANT in result.flags and Rule.K2 in result.rules


def test_K2_reference_falls_back_to_the_line_baseline() -> None:
    """K2: with no earlier on-therapy value the line's baseline is the reference; older values are not."""
    result = assess_cea([cea("2.0", -100), cea("4.0", -7), cea("6.5", 100), cea("7.2", 121)],
                        CEA, therapy_started_on=DAY_0)  # fmt: skip
    assert result.reference is not None and result.reference.observed_on == day(-7)
    assert result.flags == (Flag.CEA_RISE_SIGNIFICANT,)


@pytest.mark.parametrize(("gap", "confirmed"), [(13, False), (14, True), (42, True), (43, False)])
def test_K2_confirmation_window_14_to_42_days(gap: int, confirmed: bool) -> None:
    """K2: the confirming sample is 14-42 days after the rising one (inclusive)."""
    flags = run([("4.0", -7), ("6.5", 100), ("7.2", 100 + gap)])
    assert (Flag.CEA_RISE_SIGNIFICANT in flags) is confirmed


def test_K2_confirmation_stays_above_the_same_reference() -> None:
    """K2: a second sample below 1.30 x the reference does not confirm; a later one in the window may."""
    assert run([("4.0", -7), ("6.5", 100), ("5.1", 121)]) == ()
    assert run([("4.0", -7), ("6.5", 100), ("5.1", 114), ("5.3", 130)]) == (Flag.CEA_RISE_SIGNIFICANT,)


def test_K2_rise_needs_the_value_above_the_uln() -> None:
    """K2: +30 % below the ULN is no rise: 3.0 -> 4.5 -> 4.8."""
    assert run([("3.0", -7), ("4.5", 100), ("4.8", 121)]) == ()


def test_K2_cea_doubled_is_confirmed_the_same_way() -> None:
    """K2: CEA_DOUBLED needs a sample >= 2 x the reference confirmed 14-42 days later; a doubled last value
    alone is not confirmed."""
    assert run([("4.0", -7), ("8.0", 100), ("8.1", 121)]) == (Flag.CEA_RISE_SIGNIFICANT, Flag.CEA_DOUBLED)
    assert run([("4.0", -7), ("6.5", 100), ("8.5", 121)]) == (Flag.CEA_RISE_SIGNIFICANT,)


def test_K2_first_rising_value_of_a_run() -> None:
    """K2/K13: of a run of rising values against the same reference, the first one dates the rise."""
    result = assess_cea([cea("4.0", -7), cea("6.5", 100), cea("7.2", 121), cea("9.0", 142)],
                        CEA, therapy_started_on=DAY_0)  # fmt: skip
    assert result.rise is not None and result.rise.observed_on == day(100)
    assert result.confirmation is not None and result.confirmation.observed_on == day(121)


def test_K2_no_start_date_every_earlier_value_is_on_therapy() -> None:
    """K2: without a line start the reference is the lowest earlier value."""
    result = assess_cea([cea("3.0", 10), cea("8.0", 50), cea("6.5", 100), cea("7.2", 121)], CEA)
    assert result.reference is not None and result.reference.value == Decimal("3.0")


@pytest.mark.parametrize(("rise_day", "early"), [(30, True), (56, True), (57, False)])
def test_K3_first_rising_value_within_56_days(rise_day: int, early: bool) -> None:
    """K3 (amended): CEA_EARLY_SURGE_CAUTION when the first rising value is <= 56 days after the line start;
    such a rise still computes (K2) but does not corroborate a borderline PD."""
    results = [cea("4.0", -7), cea("6.5", rise_day), cea("7.2", rise_day + 21)]
    result = assess_cea(results, CEA, therapy_started_on=DAY_0, imaging=SD_AFTER)
    assert (Flag.CEA_EARLY_SURGE_CAUTION in result.flags) is early
    assert Flag.CEA_RISE_SIGNIFICANT in result.flags and result.corroborates is not early


def test_K3_unconfirmed_early_rise_is_flagged() -> None:
    """K3: the caution is about the first rising value, confirmed or not; a baseline value never rises."""
    assert run([("3", -10), ("8", 20)]) == (Flag.CEA_EARLY_SURGE_CAUTION,)
    assert run([("3", -10), ("8", -5)]) == ()


def test_K13_marker_rise_without_progression_T62() -> None:
    """T62 / K13: a confirmed rise with SD on the imaging after it is MARKER_RISE_WITHOUT_PROGRESSION."""
    result = assess_cea(T62, CEA, therapy_started_on=DAY_0, imaging=SD_AFTER)
    assert result.flags == (Flag.CEA_RISE_SIGNIFICANT, Flag.MARKER_RISE_WITHOUT_PROGRESSION)
    assert result.rules == (Rule.K1, Rule.K2, Rule.K13) and result.corroborates
    assert result.reference is not None and result.reference.value == Decimal("4.0")


def test_K13_not_with_imaging_pd_after_the_rise() -> None:
    """K13: imaging PD (or borderline PD) on or after the first rising value: concordant, not K13."""
    assert (
        Flag.MARKER_RISE_WITHOUT_PROGRESSION
        not in assess_cea(T62, CEA, therapy_started_on=DAY_0, imaging=PD_AFTER).flags
    )
    borderline = ImagingInterval(ImagingVerdict.BORDERLINE_PD, day(112), day(200))
    flags = assess_cea(T62, CEA, therapy_started_on=DAY_0, imaging=borderline).flags
    assert Flag.MARKER_RISE_WITHOUT_PROGRESSION not in flags and Flag.MARKER_CONCORDANT in flags


def test_K13_no_imaging_since_the_rise() -> None:
    """K13: when the latest imaging is before the first rising value, no imaging was done since the rise."""
    before = ImagingInterval(ImagingVerdict.PD, day(112), day(168))
    assert (
        Flag.MARKER_RISE_WITHOUT_PROGRESSION
        in assess_cea(T62, CEA, therapy_started_on=DAY_0, imaging=before).flags
    )


def test_K13_not_within_the_K3_window_T62_variant() -> None:
    """T62 variant / K13: the line started 30 days before the first rise: K3 caution instead of K13."""
    results = [cea("4.0", -7), cea("6.5", 30), cea("7.2", 51)]
    result = assess_cea(results, CEA, therapy_started_on=DAY_0, imaging=SD_AFTER)
    assert result.flags == (Flag.CEA_RISE_SIGNIFICANT, Flag.CEA_EARLY_SURGE_CAUTION)


def test_K13_needs_a_confirmed_rise_and_an_imaging_date() -> None:
    """K13: an unconfirmed rise, or imaging without a time-point date, raises nothing."""
    assert run([("4.0", -7), ("6.5", 200)], SD_AFTER) == ()
    assert run([(v.value.to_eng_string(), (v.observed_on - DAY_0).days) for v in T62],
               ImagingInterval(ImagingVerdict.NOT_PD, day(112))) == (Flag.CEA_RISE_SIGNIFICANT,)  # fmt: skip
