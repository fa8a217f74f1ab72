"""RECIST 1.1 measurability, sums and target response (CLINICAL-RULES.md 1.1-1.3): one test per rule ID."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_T4_...), as issue 4 asks

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from service.domain.baseline import select_baseline
from service.domain.measurability import is_measurable
from service.domain.model import (
    InvalidTimelineError,
    Lesion,
    LesionRole,
    LesionStatus,
    Measurement,
    Modality,
    TimePoint,
)
from service.domain.recist import evaluate_recist
from service.domain.response import OverallResponse, TargetResponse, TimePointResponse
from service.domain.rules import Flag, Rule
from tests.unit.domain.builders import (
    CONFIRMING,
    DEFAULTS,
    d,
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


def last(*rows: list[int] | list[str]) -> TimePointResponse:
    """The response of the latest time point of a target-only series."""
    return evaluate_recist(target_series(*rows), DEFAULTS).time_points[-1]


def unassigned(lesion_id: str, organ: str = "lung", nodal: bool = False, **kw: object) -> Lesion:
    return Lesion(lesion_id, organ, is_nodal=nodal, **kw)  # type: ignore[arg-type]


# --- 1.1 measurability and baseline selection ---------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "slice_mm", "modality", "measurable"),
    [
        ("10", "5", Modality.CT, True),
        ("9.9", "5", Modality.CT, False),
        ("10", "6", Modality.CT, False),  # slices > 5 mm: minimum 2 x 6 = 12 mm
        ("12", "6", Modality.CT, True),
        ("10", None, Modality.MR, True),
        ("10", None, Modality.CALIPER, True),
        ("19", None, Modality.XRAY, False),
        ("20", None, Modality.XRAY, True),
    ],
)
def test_M1_measurable_size_depends_on_technique(
    size: str, slice_mm: str | None, modality: Modality, measurable: bool
) -> None:
    """A non-nodal lesion needs 10 mm on CT (2x the slice thickness if thicker than 5 mm), 20 mm on X-ray."""
    slice_thickness = None if slice_mm is None else d(slice_mm)
    measurement = mm("A", size, slice_thickness_mm=slice_thickness, modality=modality)
    assert is_measurable(unassigned("A"), measurement, DEFAULTS) is measurable


@pytest.mark.parametrize(
    ("short_axis", "role"),
    [("15", "target"), ("14.9", "non-target"), ("10", "non-target"), ("9.9", None)],
)
def test_M2_node_role_follows_short_axis(short_axis: str, role: str | None) -> None:
    """A node is a target from 15 mm short axis, a non-target from 10 mm, and not disease below 10 mm."""
    node = unassigned("N", organ="hilar node", nodal=True)
    selection = select_baseline(timeline([node], tp(-7, sa("N", short_axis, diameter_mm=d(30)))), DEFAULTS)
    roles = {"target": selection.targets, "non-target": selection.non_targets}
    found = next((name for name, group in roles.items() if node in group), None)
    assert found == role


@pytest.mark.parametrize(
    ("never_measurable", "measurement"),
    [
        (True, mm("E", 40)),  # an effusion is never measurable, whatever its size
        (False, Measurement("E", status=LesionStatus.TOO_SMALL_TO_MEASURE)),
        (False, mm("E", 40, modality=Modality.ULTRASOUND)),
    ],
)
def test_M3_non_measurable_disease_is_non_target(never_measurable: bool, measurement: Measurement) -> None:
    """Effusions, lesions too small to measure and ultrasound-only lesions become non-targets."""
    effusion = unassigned("E", organ="pleura", never_measurable=never_measurable)
    selection = select_baseline(timeline([effusion], tp(-7, measurement)), DEFAULTS)
    assert selection.targets == ()
    assert selection.non_targets == (effusion,)


def test_M4_service_selects_largest_covering_organs_with_limits() -> None:
    """At most 5 targets and 2 per organ, largest first, one per involved organ first; nodes are one organ."""
    lesions = [
        unassigned("lung-50"), unassigned("lung-40"), unassigned("lung-30"), unassigned("liver-35", "liver"),
        unassigned("adrenal-12", "adrenal"), unassigned("node-20", "mediastinal node", nodal=True),
        unassigned("node-18", "axillary node", nodal=True), unassigned("node-16", "hilar node", nodal=True),
    ]  # fmt: skip
    sizes = {"lung-50": 50, "lung-40": 40, "lung-30": 30, "liver-35": 35, "adrenal-12": 12}
    nodes = {"node-20": 20, "node-18": 18, "node-16": 16}
    baseline = tp(-7, *(mm(i, s) for i, s in sizes.items()), *(sa(i, s) for i, s in nodes.items()))
    selection = select_baseline(timeline(lesions, baseline), DEFAULTS)
    chosen = {les.lesion_id for les in selection.targets}
    assert chosen == {"lung-50", "lung-40", "liver-35", "node-20", "adrenal-12"}
    assert {les.lesion_id for les in selection.non_targets} == {"lung-30", "node-18", "node-16"}
    assert selection.selected_by_service and Flag.TARGETS_SELECTED_BY_SERVICE in selection.flags
    reversed_selection = select_baseline(timeline(lesions[::-1], baseline), DEFAULTS)
    assert reversed_selection.targets == selection.targets


def test_M4_all_nodes_count_as_one_organ() -> None:
    """Three pathological nodes in three stations give two nodal targets, not three."""
    nodes = [unassigned(f"N{i}", f"station-{i}", nodal=True) for i in range(3)]
    baseline = tp(-7, sa("N0", 20), sa("N1", 19), sa("N2", 18))
    selection = select_baseline(timeline(nodes, baseline), DEFAULTS)
    assert [les.lesion_id for les in selection.targets] == ["N0", "N1"]


def test_M4_sender_roles_are_kept_and_later_lesions_are_new() -> None:
    """Roles sent at baseline are kept (no flag); a lesion first seen later is new, whatever its role."""
    a, b, late = target("A"), unassigned("B"), target("LATE", organ="liver")
    series = timeline(
        [a, b, late], tp(-7, mm("A", 20), mm("B", 30)), tp(49, mm("A", 20), mm("B", 30), mm("LATE", 8))
    )
    evaluation = evaluate_recist(series, DEFAULTS)
    assert evaluation.selection.targets == (a,)
    assert evaluation.selection.non_targets == (b,)
    assert evaluation.selection.new == (late,)
    assert evaluation.selection.flags == ()
    assert evaluation.time_points[0].overall is OverallResponse.PD


def test_M4_sender_target_keeps_its_role_whatever_its_baseline_size() -> None:
    """A node the sender calls a target stays a target even at 8 mm short axis (only unassigned ones are
    dropped as normal by M2), so it is never mistaken for a new lesion later."""
    node = nodal_target("N")
    series = timeline([target("A"), node], tp(-7, mm("A", 20), sa("N", 8)), tp(49, mm("A", 20), sa("N", 9)))
    evaluation = evaluate_recist(series, DEFAULTS)
    assert node in evaluation.selection.targets
    assert evaluation.time_points[0].overall is OverallResponse.SD


def test_M5_ultrasound_is_not_used_for_measurement() -> None:
    """A target measured only by ultrasound at follow-up makes the target sum not evaluable."""
    series = timeline([target("A")], tp(-7, mm("A", 30)), tp(49, mm("A", 20, modality=Modality.ULTRASOUND)))
    response = evaluate_recist(series, DEFAULTS).time_points[0]
    assert response.target is TargetResponse.NE
    assert Rule.M5 in response.rules


# --- 1.2 sum of diameters -----------------------------------------------------------------------------


def test_S1_sum_uses_short_axis_for_nodes_and_longest_diameter_otherwise() -> None:
    """SOD = LD of non-nodal targets + SA of nodal targets (a node's long axis is ignored)."""
    node = nodal_target("N")
    series = timeline(
        [target("A"), node],
        tp(-7, mm("A", 30), sa("N", 18, diameter_mm=d(25))),
        tp(49, mm("A", 28), sa("N", 17, diameter_mm=d(24))),
    )
    evaluation = evaluate_recist(series, DEFAULTS)
    assert evaluation.baseline_sum_mm == 48
    sums = evaluation.time_points[0].sums
    assert sums is not None and sums.sum_mm == 45 and Rule.S1 in evaluation.time_points[0].rules


def test_S2_nodal_target_keeps_its_short_axis_at_complete_response() -> None:
    """T07: lung 25 + node 18 -> lung 0, node 8: target CR although the sum is 8 mm; overall CR."""
    series = timeline(
        [target("L"), nodal_target("N")], tp(-7, mm("L", 25), sa("N", 18)), tp(49, mm("L", 0), sa("N", 8))
    )
    response = evaluate_recist(series, DEFAULTS).time_points[0]
    assert response.sums is not None and response.sums.sum_mm == 8
    assert (response.target, response.overall) == (TargetResponse.CR, OverallResponse.CR)
    assert Rule.S2 in response.rules


@pytest.mark.parametrize(
    ("measurement", "counted_mm"),
    [
        (seen("B", LesionStatus.TOO_SMALL_TO_MEASURE), Decimal(5)),
        (mm("B", 3, status=LesionStatus.TOO_SMALL_TO_MEASURE), Decimal(3)),
        (seen("B", LesionStatus.ABSENT), Decimal(0)),
        (mm("B", 0), Decimal(0)),
    ],
)
def test_S3_too_small_counts_5mm_unless_measured_and_absent_counts_0(
    measurement: Measurement, counted_mm: Decimal
) -> None:
    """Too small to measure counts 5 mm; a number given by the reader wins; a lesion gone counts 0 mm."""
    series = timeline(
        [target("A"), target("B", "liver")],
        tp(-7, mm("A", 30), mm("B", 20)),
        tp(49, mm("A", 20), measurement),
    )
    response = evaluate_recist(series, DEFAULTS).time_points[0]
    assert dict(response.target_sizes)["B"] == counted_mm
    assert Rule.S3 in response.rules or counted_mm == 0


def test_S4_split_lesion_fragments_are_added() -> None:
    """A target that fragments counts as the sum of its fragments' longest diameters."""
    series = timeline([target("A")], tp(-7, mm("A", 30)), tp(49, mm("A", 12), mm("A", 9)))
    response = evaluate_recist(series, DEFAULTS).time_points[0]
    assert response.target_sizes == (("A", Decimal(21)),)
    assert Rule.S4 in response.rules


def test_S5_coalesced_lesions_give_the_whole_mass_to_one_target() -> None:
    """Once inseparable, one target carries the combined LD and the other counts 0 mm (and is not 'gone')."""
    series = timeline(
        [target("A"), target("B")],
        tp(-7, mm("A", 20), mm("B", 15)),
        tp(49, mm("A", 38), Measurement("B", coalesced_into="A")),
    )
    response = evaluate_recist(series, DEFAULTS).time_points[0]
    assert dict(response.target_sizes) == {"A": Decimal(38), "B": Decimal(0)}
    assert response.target is TargetResponse.SD and Rule.S5 in response.rules


def test_S6_nadir_includes_baseline_and_only_evaluable_time_points() -> None:
    """The nadir is the smallest sum so far, baseline included; a partial (NE) sum never lowers it."""
    series = timeline(
        [target("A"), target("B", "liver")],
        tp(-7, mm("A", 30), mm("B", 30)),
        tp(49, mm("A", 31), mm("B", 31)),
        tp(98, mm("A", 10)),  # B not imaged: NE, partial sum 10 must not become the nadir
        tp(147, mm("A", 36), mm("B", 36)),
    )
    responses = evaluate_recist(series, DEFAULTS).time_points
    assert [r.sums.nadir_mm for r in responses if r.sums] == [60, 60, 60]
    assert [r.target for r in responses] == [TargetResponse.SD, TargetResponse.NE, TargetResponse.PD]


@pytest.mark.parametrize(
    ("measured", "expected"),
    [
        ({"A": 40, "B": 40}, TargetResponse.PD),  # RECIST example: 50 mm, two of three at 80 mm: PD
        ({"A": 20, "B": 20}, TargetResponse.NE),
    ],
)
def test_S7_missing_target_is_NE_unless_partial_sum_proves_PD(
    measured: dict[str, int], expected: TargetResponse
) -> None:
    """A target not imaged makes the target response NE, unless the measured ones already meet T4."""
    lesions = [target("A"), target("B", "liver"), target("C", "adrenal")]
    series = timeline(
        lesions,
        tp(-7, mm("A", 20), mm("B", 20), mm("C", 10)),
        tp(49, *(mm(i, s) for i, s in measured.items())),
    )
    response = evaluate_recist(series, DEFAULTS).time_points[0]
    assert response.target is expected
    assert response.sums is not None and response.sums.partial and Rule.S7 in response.rules


def test_S7_target_marked_not_evaluated_counts_as_missing() -> None:
    """A target with status not-evaluated is missing: the time point is NE."""
    series = timeline(
        [target("A"), target("B", "liver")],
        tp(-7, mm("A", 20), mm("B", 20)),
        tp(49, mm("A", 20), seen("B", LesionStatus.NOT_EVALUATED)),
    )
    assert evaluate_recist(series, DEFAULTS).time_points[0].overall is OverallResponse.NE


def test_S8_nadir_zero_needs_no_division() -> None:
    """Nadir 0 (every target gone): 3 mm back is no T4 PD, 5 mm is; no % from nadir is computed."""
    small = evaluate_recist(target_series([20], [0], [3]), DEFAULTS).time_points[-1]
    assert small.target is TargetResponse.PR and Rule.S8 in small.rules
    assert small.sums is not None and small.sums.percent_from_nadir is None
    assert small.overall is OverallResponse.PD and Rule.T6 in small.rules  # after CR, via T6 not T4
    assert last([20], [0], [5]).target is TargetResponse.PD


# --- 1.3 target response ------------------------------------------------------------------------------


def test_T1_complete_response_needs_every_target_gone() -> None:
    """Non-nodal targets at 0 mm (and nodes below 10 mm) are CR; one lesion left is not."""
    assert last([30, 20], [0, 0]).target is TargetResponse.CR
    assert last([30, 20], [0, 1]).target is not TargetResponse.CR


@pytest.mark.parametrize(("current", "expected"), [("70", TargetResponse.PR), ("70.1", TargetResponse.SD)])
def test_T2_partial_response_at_30_percent_below_baseline(current: str, expected: TargetResponse) -> None:
    """PR needs a sum at most 70 % of baseline, inclusive and exact."""
    assert last(["100"], [current]).target is expected


def test_T3_stable_when_neither_pr_nor_pd() -> None:
    """T03 TP1: 22 -> 20 is -9 % (no PR) and below the nadir (no PD): SD."""
    assert last([12, 10], [11, 9]).target is TargetResponse.SD


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["25"], ["30"]], TargetResponse.PD),  # +20 % exactly, +5 mm: PD (30/25-1 is 0.1999... in floats)
        ([["20"], ["24"]], TargetResponse.SD),  # +20 % but +4 mm
        ([["100"], ["119"]], TargetResponse.SD),  # +19 mm but +19 %
        ([["100"], ["120"]], TargetResponse.PD),
        ([["12", "10"], ["10", "10"], ["12", "12"]], TargetResponse.SD),  # T03: nadir 20 -> 24, +4 mm
        ([["12", "10"], ["10", "10"], ["13", "12"]], TargetResponse.PD),  # T03: nadir 20 -> 25, +5 mm
    ],
)
def test_T4_pd_needs_5mm_absolute(rows: list[list[str]], expected: TargetResponse) -> None:
    """PD needs at least +20 % and at least +5 mm over the nadir, both inclusive."""
    assert last(*rows).target is expected


def test_T5_pr_carried_forward() -> None:
    """EORTC: 100 -> 70 -> 70 -> 80 -> 80 -> 80 is PR at every time point, flagged when carried."""
    responses = evaluate_recist(target_series([100], [70], [70], [80], [80], [80]), DEFAULTS).time_points
    assert {r.target for r in responses} == {TargetResponse.PR}
    assert [Flag.TARGET_PR_CARRIED_FORWARD in r.flags for r in responses] == [False, False, True, True, True]


def test_T5_carry_forward_can_be_switched_off() -> None:
    """With PR_CARRY_FORWARD off, 100 -> 70 -> 80 is PR then SD."""
    off = replace(DEFAULTS, pr_carry_forward=False)
    responses = evaluate_recist(target_series([100], [70], [80]), off).time_points
    assert [r.target for r in responses] == [TargetResponse.PR, TargetResponse.SD]


def test_T5_carry_waits_for_confirmation_when_required() -> None:
    """With confirmation required, a PR is carried only after a second PR at least 28 days later."""
    series = target_series([100], [70], [80], [70], [80], days=[-7, 42, 56, 84, 126])
    responses = evaluate_recist(series, CONFIRMING).time_points
    assert [r.target for r in responses] == [
        TargetResponse.PR,
        TargetResponse.SD,
        TargetResponse.PR,
        TargetResponse.PR,
    ]


def test_T5_confirmation_needs_28_days_between_the_prs() -> None:
    """Two PRs 14 days apart do not confirm each other, so a later SD-sized sum is not carried."""
    series = target_series([100], [70], [70], [80], days=[-7, 42, 56, 63])
    responses = evaluate_recist(series, CONFIRMING).time_points
    assert [r.target for r in responses] == [TargetResponse.PR, TargetResponse.PR, TargetResponse.SD]


def test_T5_carry_ends_with_progression() -> None:
    """After target PD a later SD-sized sum is SD again, not a carried PR."""
    responses = evaluate_recist(target_series([100], [60], [80], [71]), DEFAULTS).time_points
    assert [r.target for r in responses] == [TargetResponse.PR, TargetResponse.PD, TargetResponse.SD]


def test_T6_reappearance_without_prior_cr_is_not_pd() -> None:
    """A target that comes back at 3 mm while others remain is not PD by itself (below +5 mm)."""
    responses = evaluate_recist(target_series([30, 10], [20, 0], [20, 3]), DEFAULTS).time_points
    assert responses[-1].overall is OverallResponse.PR
    assert Rule.T6 in responses[-1].rules and Flag.REVIEW_CR_VALIDITY not in responses[-1].flags


def test_T6_reappearance_after_cr_is_pd_for_review() -> None:
    """After an overall CR, a lesion seen again is PD (T6), flagged REVIEW_CR_VALIDITY."""
    series = timeline(
        [target("A"), non_target("B")],
        tp(-7, mm("A", 20), seen("B")),
        tp(49, mm("A", 0), seen("B", LesionStatus.ABSENT)),
        tp(98, mm("A", 0), seen("B")),
    )
    responses = evaluate_recist(series, DEFAULTS).time_points
    assert [r.overall for r in responses] == [OverallResponse.CR, OverallResponse.PD]
    assert Rule.T6 in responses[1].rules and Flag.REVIEW_CR_VALIDITY in responses[1].flags


def test_T7_nodal_cr_and_pd_together_is_pd_with_flag() -> None:
    """Nodes 15+15 -> 4+4 (CR, nadir 8) -> 9+9: CR and PD both hold; PD first, flagged for review."""
    nodes = [nodal_target("N1"), nodal_target("N2")]
    series = timeline(
        nodes,
        tp(-7, sa("N1", 15), sa("N2", 15)),
        tp(49, sa("N1", 4), sa("N2", 4)),
        tp(98, sa("N1", 9), sa("N2", 9)),
    )
    responses = evaluate_recist(series, DEFAULTS).time_points
    assert [r.target for r in responses] == [TargetResponse.CR, TargetResponse.PD]
    assert Flag.NODAL_CR_PD_CONFLICT in responses[1].flags and Rule.T7 in responses[1].rules


@pytest.mark.parametrize(
    ("lesions", "points", "problem"),
    [
        ([target("A")], [], "at least a baseline"),
        ([target("A"), target("A")], [tp(-7, mm("A", 20))], "unique"),
        ([target("A")], [tp(-7, mm("B", 20))], "unknown lesions"),
    ],
)
def test_invalid_timeline_is_refused(lesions: list[Lesion], points: list[TimePoint], problem: str) -> None:
    """A timeline without time points, with duplicate lesion ids or unknown lesions cannot be built."""
    with pytest.raises(InvalidTimelineError, match=problem):
        timeline(lesions, *points)


def test_role_none_lesion_after_baseline_with_sender_target_roles() -> None:
    """Roles given by the sender at baseline leave the unassigned baseline lesions as non-targets."""
    lesions = [target("A"), Lesion("B", "bone", role=LesionRole.NEW)]
    selection = select_baseline(timeline(lesions, tp(-7, mm("A", 20), seen("B"))), DEFAULTS)
    assert selection.non_targets == (lesions[1],)
