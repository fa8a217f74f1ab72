"""Measurement-variability flags V1-V4 (CLINICAL-RULES.md 3.2): flags only, never a different category."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_V1_...), as issue 4 asks

from __future__ import annotations

from decimal import Decimal

import pytest

from service.domain.model import ImagingTimeline, Measurement, Modality
from service.domain.recist import evaluate_recist
from service.domain.response import OverallResponse
from service.domain.rules import Flag, Rule
from service.domain.variability import VariabilityAssessment, assess_variability
from tests.unit.domain.builders import (
    DEFAULTS,
    d,
    mm,
    new,
    non_target,
    seen,
    target,
    target_series,
    timeline,
    tp,
)


def flags_of(series: ImagingTimeline) -> list[VariabilityAssessment]:
    return list(assess_variability(series, evaluate_recist(series, DEFAULTS), DEFAULTS))


def read_by(reader: str, *sizes: int | str, scanner: str = "S1", **kw: object) -> tuple[Measurement, ...]:
    """Targets T1..Tn measured by one reader on one scanner."""
    return tuple(mm(f"T{i + 1}", s, reader=reader, scanner=scanner, **kw) for i, s in enumerate(sizes))  # type: ignore[arg-type]


def two_studies(before: tuple[Measurement, ...], after: tuple[Measurement, ...]) -> VariabilityAssessment:
    lesions = [target(f"T{i + 1}", f"organ-{i}") for i in range(len(before))]
    return flags_of(timeline(lesions, tp(-7, *before), tp(49, *after)))[0]


@pytest.mark.parametrize(
    ("before", "after", "within", "band"),
    [
        (read_by("R1", 30), read_by("R1", 32), True, "0.10"),  # T29: +2 mm
        (read_by("R1", 30), read_by("R1", 36), False, "0.10"),  # +6 mm, +20 %
        (read_by("R1", 100), read_by("R1", 108), True, "0.10"),  # +8 %
        (read_by("R1", 50), read_by("R1", 55), False, "0.10"),  # exactly +5 mm and +10 %: not under either
        (read_by("R1", 100), read_by("R1", 112), False, "0.10"),
        (read_by("R1", 50, 50), read_by("R2", 56, 56), True, "0.20"),  # other reader, 2 targets: +12 %
        (read_by("R1", 50, 50), read_by("R1", 56, 56, scanner="S2"), True, "0.20"),  # other scanner
        (read_by("R1", 40), read_by("R2", 31), True, "0.25"),  # one target, other reader: -22.5 %
        (read_by("R1", 40), read_by("R1", 49), False, "0.10"),
        ((mm("T1", 40),), (mm("T1", 49, reader="R2"),), False, "0.10"),  # a reader not recorded is no change
    ],
)
def test_V1_within_measurement_error_band_depends_on_readers_and_targets(
    before: tuple[Measurement, ...], after: tuple[Measurement, ...], within: bool, band: str
) -> None:
    """|change| < 5 mm or |%| under 10 % (same reader, scanner), 20 % (changed), 25 % (one target, reader)."""
    result = two_studies(before, after)
    assert (Flag.WITHIN_MEASUREMENT_ERROR in result.flags) is within
    assert result.relative_band == Decimal(band)


@pytest.mark.parametrize(("last", "within", "change"), [(55, True, -5), (50, False, -10)])
def test_V1_decrease_is_compared_with_the_previous_value(last: int, within: bool, change: int) -> None:
    """For a decrease the comparator is the previous sum (100 -> 60 -> 55 is -8 %), not the nadir."""
    result = flags_of(target_series([100], [60], [last]))[-1]
    assert (Flag.WITHIN_MEASUREMENT_ERROR in result.flags) is within
    assert (result.comparator_mm, result.change_mm) == (60, change)


def test_V1_increase_is_compared_with_the_nadir() -> None:
    """For an increase the comparator is the nadir: 75 -> 53 -> 57 is +4 mm, +7.5 % (seed example)."""
    result = flags_of(target_series([30, 25, 20], [21, 18, 14], [23, 19, 15]))[-1]
    assert (result.comparator_mm, result.change_mm) == (53, 4)
    assert Flag.WITHIN_MEASUREMENT_ERROR in result.flags and result.response.overall is OverallResponse.SD


@pytest.mark.parametrize(
    ("rows", "borderline"),
    [
        ([[20, 25, 22], [12, 15, 18], [12, 15, 31]], True),  # T44 variant: +13 mm but +28.9 %
        ([[20, 25, 22], [12, 15, 18], [12, 15, 33]], False),  # T44: +15 mm, +33.3 %
        ([[25], [30]], True),  # +5 mm: PD, under +10 mm
        ([[100], [140]], False),
        ([[100], [130]], False),  # exactly +30 %: not under it
        ([[30], [40]], False),  # exactly +10 mm (+33 %): not under it
    ],
)
def test_V2_borderline_pd_is_flagged_and_stays_pd(rows: list[list[int]], borderline: bool) -> None:
    """PD from the target sum alone under +10 mm or +30 % over the nadir is BORDERLINE_PD, still PD."""
    result = flags_of(target_series(*rows))[-1]
    assert result.response.overall is OverallResponse.PD
    assert (Flag.BORDERLINE_PD in result.flags) is borderline


def test_V2_pd_from_a_new_lesion_is_never_borderline() -> None:
    """A PD with a new lesion is not borderline, even when the targets grew only a little."""
    series = timeline([target("T"), new("X")], tp(-7, mm("T", 25)), tp(49, mm("T", 30), mm("X", 12)))
    result = flags_of(series)[0]
    assert result.response.overall is OverallResponse.PD and Flag.BORDERLINE_PD not in result.flags


@pytest.mark.parametrize(
    ("before", "after", "changes"),
    [
        ({"reader": "R1"}, {"reader": "R2"}, ("reader",)),
        ({"scanner": "A"}, {"scanner": "B"}, ("scanner",)),
        ({"contrast_phase": "portal"}, {"contrast_phase": "arterial"}, ("contrast-phase",)),
        ({"modality": Modality.CT}, {"modality": Modality.MR}, ("modality",)),
        ({"slice_thickness_mm": d("1")}, {"slice_thickness_mm": d("2.5")}, ("slice-thickness",)),
        ({"slice_thickness_mm": d("1")}, {"slice_thickness_mm": d("2")}, ()),  # within +-1 mm
        ({"reader": "R1"}, {}, ()),  # not recorded on one study: no change claimed
    ],
)
def test_V3_context_change_against_the_nadir_study(
    before: dict[str, object], after: dict[str, object], changes: tuple[str, ...]
) -> None:
    """Scanner, slices beyond +-1 mm, contrast phase, modality or reader differing from the nadir study."""
    result = two_studies((Measurement("T1", d(30), **before),), (Measurement("T1", d(31), **after),))  # type: ignore[arg-type]
    assert result.context_changes == changes
    assert (Flag.MEASUREMENT_CONTEXT_CHANGED in result.flags) is bool(changes)


def test_V3_modality_of_the_whole_study_counts() -> None:
    """A study-level modality change (CT at baseline, MR now) is a context change."""
    series = timeline(
        [target("T")], tp(-7, mm("T", 30), modality=Modality.CT), tp(49, mm("T", 30), modality=Modality.MR)
    )
    assert flags_of(series)[0].context_changes == ("modality",)


@pytest.mark.parametrize(("sizes", "small"), [((30, 14), ("T2",)), ((30, 15), ()), ((30, 0), ())])
def test_V4_small_lesion_variability(sizes: tuple[int, int], small: tuple[str, ...]) -> None:
    """Any target still present below 15 mm raises SMALL_LESION_VARIABILITY; a target gone does not."""
    result = flags_of(target_series([40, 20], list(sizes)))[0]
    assert result.small_targets == small
    assert (Rule.V4 in result.rules) is bool(small)


def test_variability_needs_a_target_sum() -> None:
    """Non-target-only disease has no sum: no V flag and no numbers."""
    result = flags_of(timeline([non_target("B")], tp(-7, seen("B")), tp(49, seen("B"))))[0]
    assert (result.flags, result.comparator_mm) == ((), None)


def test_partial_sum_gets_no_within_error_flag() -> None:
    """With a target missing (S7) the sum is partial, so V1 is not claimed."""
    series = timeline(
        [target("A"), target("B", "liver")], tp(-7, mm("A", 30), mm("B", 30)), tp(49, mm("A", 30))
    )
    assert Flag.WITHIN_MEASUREMENT_ERROR not in flags_of(series)[0].flags
