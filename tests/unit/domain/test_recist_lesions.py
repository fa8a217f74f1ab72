"""RECIST 1.1 non-target and new lesions, and the overall tables (CLINICAL-RULES.md 1.4-1.5)."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_N1_...), as issue 4 asks

from __future__ import annotations

import pytest

from service.domain.imaging_response import evaluate_imaging_response
from service.domain.model import ClinicalStability, Lesion, LesionStatus, MarkerStatus, Measurement, Modality
from service.domain.overall import overall_response
from service.domain.recist import evaluate_recist
from service.domain.response import (
    NewLesions,
    NonTargetResponse,
    OverallResponse,
    ProgressionSource,
    TargetResponse,
    TimePointResponse,
)
from service.domain.rules import Flag, Rule
from tests.unit.domain.builders import DEFAULTS, day, mm, new, non_target, sa, seen, target, timeline, tp

CR, PR, SD, PD, NE = (
    TargetResponse.CR,
    TargetResponse.PR,
    TargetResponse.SD,
    TargetResponse.PD,
    TargetResponse.NE,
)
NT_CR, NT_NON, NT_PD, NT_NE, NT_NONE = (
    NonTargetResponse.CR,
    NonTargetResponse.NON_CR_NON_PD,
    NonTargetResponse.PD,
    NonTargetResponse.NE,
    NonTargetResponse.NONE,
)
NO, EQUIVOCAL, YES = NewLesions.NONE, NewLesions.EQUIVOCAL, NewLesions.UNEQUIVOCAL


def with_non_target(follow_up: LesionStatus | None, markers: MarkerStatus | None = None) -> TimePointResponse:
    """Target 30 -> 18 (PR) with one bone non-target whose follow-up status is given (None: not imaged)."""
    follow = (mm("T", 18),) if follow_up is None else (mm("T", 18), seen("B", follow_up))
    series = timeline([target("T"), non_target("B")], tp(-7, mm("T", 30), seen("B")), tp(49, *follow))
    status = {} if markers is None else {day(49): markers}
    return evaluate_recist(series, DEFAULTS, status).time_points[0]


def with_new_lesion(
    *follow_ups: tuple[int, tuple[Measurement, ...]], lesion: Lesion | None = None
) -> list[TimePointResponse]:
    """Target 30 mm stable, plus a new lesion whose measurements at each follow-up day are given."""
    extra = lesion or new("X")
    points = [tp(on_day, mm("T", 30), *measurements) for on_day, measurements in follow_ups]
    series = timeline([target("T"), extra], tp(-7, mm("T", 30)), *points)
    return list(evaluate_recist(series, DEFAULTS).time_points)


# --- 1.4 non-target ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markers", "expected"),
    [
        (None, NT_CR),
        (MarkerStatus.NORMAL, NT_CR),
        (MarkerStatus.NOT_ASSESSED, NT_CR),
        (MarkerStatus.ABOVE_ULN, NT_NON),
    ],
)
def test_N1_non_target_cr_needs_every_lesion_gone_and_normal_markers(
    markers: MarkerStatus | None, expected: NonTargetResponse
) -> None:
    """All non-targets gone is CR when markers are normal or not followed; above the ULN it is Non-CR."""
    response = with_non_target(LesionStatus.ABSENT, markers)
    assert response.non_target is expected and Rule.N1 in response.rules


def test_N1_normal_node_counts_as_gone() -> None:
    """A non-target node back under 10 mm short axis counts as gone."""
    node = Lesion("N", "hilar node", is_nodal=True, role=non_target("N").role)
    series = timeline([target("T"), node], tp(-7, mm("T", 30), sa("N", 12)), tp(49, mm("T", 0), sa("N", 9)))
    response = evaluate_recist(series, DEFAULTS).time_points[0]
    assert (response.non_target, response.overall) == (NT_CR, OverallResponse.CR)


def test_N2_persisting_non_target_is_non_cr_non_pd() -> None:
    """A non-target still present is Non-CR/non-PD; with target PR the overall is PR."""
    response = with_non_target(LesionStatus.PRESENT)
    assert (response.non_target, response.overall) == (NT_NON, OverallResponse.PR)
    assert Rule.N2 in response.rules


def test_N3_unequivocal_non_target_progression_is_pd_even_with_target_pr() -> None:
    """T11: target -40 % with unequivocal non-target progression is PD."""
    response = with_non_target(LesionStatus.UNEQUIVOCAL_PROGRESSION)
    assert (response.target, response.non_target, response.overall) == (PR, NT_PD, OverallResponse.PD)
    assert response.progression_sources == (ProgressionSource.NON_TARGET,)


def test_I9_a_further_increase_call_is_non_target_progression() -> None:
    """The reader's further increase after iUPD is growth beyond unequivocal progression: NT PD (N3)."""
    response = with_non_target(LesionStatus.FURTHER_INCREASE)
    assert (response.non_target, response.overall) == (NT_PD, OverallResponse.PD)


@pytest.mark.parametrize("follow_up", [None, LesionStatus.NOT_EVALUATED])
def test_N4_non_target_not_assessed_is_ne(follow_up: LesionStatus | None) -> None:
    """A non-target not imaged or not evaluated makes the non-targets NE; target PR keeps overall PR."""
    response = with_non_target(follow_up)
    assert (response.non_target, response.overall) == (NT_NE, OverallResponse.PR)


def test_N4_no_non_targets_at_baseline_is_none_and_counts_as_cr() -> None:
    """Without non-target lesions the non-target response is NONE, and target CR gives overall CR."""
    series = timeline([target("T")], tp(-7, mm("T", 30)), tp(49, mm("T", 0)))
    response = evaluate_recist(series, DEFAULTS).time_points[0]
    assert (response.non_target, response.overall) == (NT_NONE, OverallResponse.CR)


# --- 1.4 new lesions -----------------------------------------------------------------------------------


def test_L1_unequivocal_new_lesion_is_pd_even_if_small() -> None:
    """T12: target -40 % and a new liver lesion (here 4 mm, not measurable) is PD."""
    series = timeline([target("T"), new("X")], tp(-7, mm("T", 30)), tp(49, mm("T", 18), mm("X", 4)))
    response = evaluate_recist(series, DEFAULTS).time_points[0]
    assert (response.new_lesions, response.overall) == (YES, OverallResponse.PD)
    assert response.new_lesion_ids == ("X",) and Rule.L1 in response.rules


def test_L2_equivocal_new_lesion_is_flagged_then_pd_dated_back() -> None:
    """An equivocal new lesion is not PD; when a later scan confirms it, PD takes the first scan's date."""
    first, confirmed = with_new_lesion((49, (seen("X", LesionStatus.EQUIVOCAL),)), (98, (mm("X", 12),)))
    assert first.overall is OverallResponse.SD and Flag.EQUIVOCAL_NEW_LESION in first.flags
    assert confirmed.overall is OverallResponse.PD and confirmed.progression_date == day(49)
    assert Rule.L2 in confirmed.rules


def test_L2_equivocal_lesion_that_goes_away_is_no_progression() -> None:
    """An equivocal new lesion that disappears never becomes PD."""
    responses = with_new_lesion(
        (49, (seen("X", LesionStatus.EQUIVOCAL),)), (98, (seen("X", LesionStatus.ABSENT),))
    )
    assert [r.overall for r in responses] == [OverallResponse.SD, OverallResponse.SD]


def test_L3_pet_only_new_site_needs_ct_without_baseline_pet() -> None:
    """Without baseline PET, a new PET-only site is equivocal until CT confirms it (PD dated to the PET)."""
    pet, ct = with_new_lesion(
        (49, (seen("X", modality=Modality.PET),)), (98, (mm("X", 11, modality=Modality.CT),))
    )
    assert pet.new_lesions is EQUIVOCAL and Rule.L3 in pet.rules
    assert ct.overall is OverallResponse.PD and ct.progression_date == day(49)


def test_L3_new_pet_positive_site_is_pd_when_baseline_pet_was_negative() -> None:
    """Negative PET at baseline and a PET-positive new site at follow-up is PD."""
    series = timeline(
        [target("T"), new("X")],
        tp(-7, mm("T", 30), modality=Modality.PET),
        tp(49, mm("T", 30), seen("X", modality=Modality.PET)),
    )
    assert evaluate_recist(series, DEFAULTS).time_points[0].overall is OverallResponse.PD


@pytest.mark.parametrize(
    ("before", "now", "expected"),
    [
        (None, "8", NO),  # a new node below 10 mm short axis is not a new lesion
        ("9", "11", EQUIVOCAL),  # small change across 10 mm: flagged, not PD
        (None, "11", YES),
        ("9", "16", YES),
    ],
)
def test_L4_new_node_counts_from_10mm_and_small_crossings_are_equivocal(
    before: str | None, now: str, expected: NewLesions
) -> None:
    """A new node counts once its short axis is 10 mm; 9 -> 11 mm may not be disease and is equivocal."""
    node = Lesion("X", "axillary node", is_nodal=True)
    earlier = [(49, (sa("X", before),))] if before is not None else []
    responses = with_new_lesion(*earlier, (98, (sa("X", now),)), lesion=node)
    assert responses[-1].new_lesions is expected
    assert Rule.L4 in responses[-1].rules or expected is YES


def test_L5_symptomatic_deterioration_is_not_a_response_category() -> None:
    """Clinical deterioration without objective progression leaves the imaging response unchanged."""
    series = timeline([target("T")], tp(-7, mm("T", 30)), tp(49, mm("T", 29)))
    unwell = {day(49): ClinicalStability(performance_status_worsened=True, symptoms_increased=True)}
    result = evaluate_imaging_response(series, DEFAULTS, immune_checkpoint_inhibitor=False, clinical=unwell)
    assert result.recist.time_points[0].overall is OverallResponse.SD
    assert result.irecist is None


# --- 1.5 overall time-point response -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "non_target", "new_lesions", "expected"),
    [
        (CR, NT_CR, NO, OverallResponse.CR),
        (CR, NT_NONE, NO, OverallResponse.CR),
        (CR, NT_NON, NO, OverallResponse.PR),
        (CR, NT_NE, NO, OverallResponse.PR),
        (PR, NT_NON, NO, OverallResponse.PR),
        (PR, NT_NE, NO, OverallResponse.PR),
        (SD, NT_NON, NO, OverallResponse.SD),
        (SD, NT_NE, NO, OverallResponse.SD),
        (NE, NT_NON, NO, OverallResponse.NE),
        (PD, NT_CR, NO, OverallResponse.PD),
        (CR, NT_PD, NO, OverallResponse.PD),
        (CR, NT_CR, YES, OverallResponse.PD),
        (SD, NT_NON, EQUIVOCAL, OverallResponse.SD),  # L2: equivocal is not PD
    ],
)
def test_O1_table_1_with_target_disease(
    target: TargetResponse, non_target: NonTargetResponse, new_lesions: NewLesions, expected: OverallResponse
) -> None:
    """RECIST 1.1 Table 1, row by row."""
    assert overall_response(target, non_target, new_lesions) == (expected, Rule.O1)


@pytest.mark.parametrize(
    ("non_target", "new_lesions", "expected"),
    [
        (NT_CR, NO, OverallResponse.CR),
        (NT_NON, NO, OverallResponse.NON_CR_NON_PD),
        (NT_NE, NO, OverallResponse.NE),
        (NT_PD, NO, OverallResponse.PD),
        (NT_NON, YES, OverallResponse.PD),
        (NT_NONE, NO, OverallResponse.NE),  # no disease at all at baseline: nothing to assess
    ],
)
def test_O2_table_2_non_target_disease_only(
    non_target: NonTargetResponse, new_lesions: NewLesions, expected: OverallResponse
) -> None:
    """RECIST 1.1 Table 2: Non-CR/non-PD instead of SD, no target lesions."""
    assert overall_response(TargetResponse.NONE, non_target, new_lesions) == (expected, Rule.O2)


def test_O2_non_target_only_timeline_with_markers() -> None:
    """T17: NT present -> all NT gone with CEA 3.1 (ULN 5) is CR; with CEA 7.8 it stays Non-CR/non-PD."""
    series = timeline(
        [non_target("P", "pleura"), non_target("B")],
        tp(-7, seen("P"), seen("B")),
        tp(49, seen("P"), seen("B", LesionStatus.ABSENT)),
        tp(98, seen("P", LesionStatus.ABSENT), seen("B", LesionStatus.ABSENT)),
    )
    normal = evaluate_recist(series, DEFAULTS, {day(98): MarkerStatus.NORMAL}).time_points
    assert [r.overall for r in normal] == [OverallResponse.NON_CR_NON_PD, OverallResponse.CR]
    high = evaluate_recist(series, DEFAULTS, {day(98): MarkerStatus.ABOVE_ULN}).time_points
    assert high[-1].overall is OverallResponse.NON_CR_NON_PD and high[-1].sums is None


def test_time_points_are_evaluated_in_date_order() -> None:
    """Time points given out of order are evaluated by date, the earliest being the baseline."""
    points = [tp(98, mm("T", 25)), tp(-7, mm("T", 30)), tp(49, mm("T", 20))]
    responses = evaluate_recist(timeline([target("T")], *points), DEFAULTS).time_points
    assert [r.date for r in responses] == [day(49), day(98)]
    assert [r.target for r in responses] == [PR, PD]
