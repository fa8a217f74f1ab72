"""CEA kinetics and concordance with imaging (CLINICAL-RULES.md K1-K4)."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_K2_...), as issue 5 asks

from __future__ import annotations

from decimal import Decimal

import pytest

from service.domain.facts import MarkerResult
from service.domain.markers import ImagingInterval, ImagingVerdict, assess_cea
from service.domain.rules import Flag, Rule
from tests.unit.domain.fact_builders import CEA, DAY_0, cea, day

PD = ImagingInterval(ImagingVerdict.PD, day(120))


def series(*points: tuple[str, int]) -> list[MarkerResult]:
    return [cea(value, on) for value, on in points]


def test_K1_default_upper_limit() -> None:
    """K1: without a reference range the ULN is 5 ng/mL; the lab's own limit wins when given."""
    assert assess_cea([cea("4", 10, uln=None)], CEA).upper_limit == Decimal(5)
    assert assess_cea([cea("4", 10, uln="3.4")], CEA).upper_limit == Decimal("3.4")
    assert assess_cea([cea("4", 10)], CEA).rules == (Rule.K1,)


@pytest.mark.parametrize(
    ("points", "flags"),
    [
        ([("3.3", 120), ("7.9", 210), ("11.6", 240)], [Flag.CEA_RISE_SIGNIFICANT, Flag.CEA_DOUBLED]),
        ([("4.2", 120), ("6.1", 180), ("9.8", 210)], [Flag.CEA_RISE_SIGNIFICANT]),  # 0.2: 6.1 is not 2x
        ([("4.2", 120), ("6.1", 180), ("6.0", 210)], [Flag.CEA_RISE_SIGNIFICANT]),
        ([("4.2", 120), ("6.1", 180)], []),
        ([("4.2", 120), ("6.1", 180), ("9.8", 190)], []),
        ([("4.2", 120), ("6.1", 180), ("5.4", 210)], []),
        ([("3.0", 120), ("4.5", 180), ("4.8", 210)], []),
        ([("4.0", 120), ("5.1", 180), ("9.0", 210)], []),
        ([("10", 60), ("3", 120), ("8", 180), ("9", 210)], [Flag.CEA_RISE_SIGNIFICANT, Flag.CEA_DOUBLED]),
    ],
)
def test_K2_cea_rise_needs_confirmation(points: list[tuple[str, int]], flags: list[Flag]) -> None:
    """K2: > ULN and >= +30 % over the reference, confirmed 14-42 days later; 2x confirmed is CEA_DOUBLED."""
    assert list(assess_cea(series(*points), CEA).flags) == flags


def test_K2_rise_is_exact_at_the_threshold() -> None:
    """K2: exactly +30 % counts (inclusive, Decimal): 5.0 -> 6.5 -> 6.5."""
    result = assess_cea(series(("5.0", 100), ("6.5", 130), ("6.5", 150)), CEA)
    assert Flag.CEA_RISE_SIGNIFICANT in result.flags
    assert result.reference is not None and result.reference.value == Decimal("5.0")
    assert result.rise is not None and result.confirmation is not None and Rule.K2 in result.rules


def test_K2_numbers_and_evidence() -> None:
    """K2: the reference, rising and confirming samples are reported and cited."""
    points = series(("3.3", 120), ("7.9", 210), ("11.6", 240))
    result = assess_cea(points, CEA)
    assert (result.reference, result.rise, result.confirmation) == tuple(points)
    assert result.evidence == tuple(p.source for p in points)


@pytest.mark.parametrize(("rise_day", "early"), [(20, True), (56, True), (57, False), (-5, False)])
def test_K3_early_surge_caution(rise_day: int, early: bool) -> None:
    """K3 (0.2: 56 days): a rise within 8 weeks of the therapy start is flagged, confirmed or not."""
    points = series(("3", -10), ("8", rise_day))
    result = assess_cea(points, CEA, therapy_started_on=DAY_0)
    assert (Flag.CEA_EARLY_SURGE_CAUTION in result.flags) is early
    assert assess_cea(points, CEA).flags == ()


def test_K4_concordant_example_T31() -> None:
    """T31 / K4: imaging PD with a confirmed CEA rise over the same interval is concordant."""
    result = assess_cea(series(("4.2", 110), ("6.1", 160), ("9.8", 200)), CEA, imaging=PD)
    assert Flag.MARKER_CONCORDANT in result.flags and Rule.K4 in result.rules


@pytest.mark.parametrize("verdict", [ImagingVerdict.PD, ImagingVerdict.BORDERLINE_PD])
@pytest.mark.parametrize(
    ("points", "discordant"),
    [
        ([("3.0", 100), ("3.3", 200)], True),
        ([("3.0", 100), ("3.31", 200)], False),
        ([("6.0", 100), ("4.0", 200)], True),
        ([("3.0", 130), ("3.0", 200)], False),
        ([("3.0", 100)], False),
    ],
)
def test_K4_discordant_when_cea_is_stable_or_falling(
    verdict: ImagingVerdict, points: list[tuple[str, int]], discordant: bool
) -> None:
    """K4: imaging PD with CEA within +10 % (or falling) since the comparator scan is discordant."""
    result = assess_cea(series(*points), CEA, imaging=ImagingInterval(verdict, day(120)))
    assert (Flag.MARKER_DISCORDANT in result.flags) is discordant


def test_K4_no_concordance_without_imaging_pd() -> None:
    """K4: without imaging PD neither concordance flag is raised, whatever CEA does."""
    not_pd = ImagingInterval(ImagingVerdict.NOT_PD, day(120))
    rising = series(("3.3", 110), ("7.9", 170), ("11.6", 200))
    assert assess_cea(rising, CEA, imaging=not_pd).flags == (Flag.CEA_RISE_SIGNIFICANT, Flag.CEA_DOUBLED)
    assert assess_cea(series(("3", 100), ("3", 200)), CEA, imaging=not_pd).flags == ()


def test_K4_rise_before_the_interval_is_not_concordant() -> None:
    """K4: a rise that happened before the imaging comparator is not over the same interval."""
    result = assess_cea(series(("3.3", 10), ("7.9", 50), ("11.6", 80)), CEA, imaging=PD)
    assert Flag.MARKER_CONCORDANT not in result.flags and Flag.CEA_RISE_SIGNIFICANT in result.flags


def test_no_cea_results() -> None:
    """Without CEA results nothing is assessed; other markers are ignored."""
    other = MarkerResult("Patient/p", "Observation/x", "psa", Decimal(9), "ng/mL", None, day(1), None)
    result = assess_cea([other], CEA)
    assert result.flags == () and result.rules == () and result.latest is None
