"""Target lesion response on one time point (S1-S8, T1-T5, T7), evaluated in the order of section 1.3.

Thresholds are compared by multiplication on exact ``Decimal`` values, never through a division:
``sum >= nadir x (1 + PD_REL)`` and ``sum - nadir >= PD_ABS_MM`` (T4); ``sum <= baseline x (1 - PR_REL)``
(T2). A nadir of 0 therefore needs no special case (S8).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec

from service.domain.measurability import ZERO, LesionValue, target_value
from service.domain.model import Lesion, TimePoint
from service.domain.response import SumOfDiameters, TargetResponse
from service.domain.rules import Flag, Rule
from service.domain.thresholds import ResponseThresholds


class TargetReference(msgspec.Struct, frozen=True, gc=False):
    """What a follow-up is measured against: baseline (T2), nadir (T4, S6), previous sum (V1), and T5."""

    baseline_mm: Decimal
    nadir_mm: Decimal
    nadir_date: dt.date
    previous_mm: Decimal
    pr_carried: bool = False


class TargetAssessment(msgspec.Struct, frozen=True, gc=False):
    response: TargetResponse
    sums: SumOfDiameters | None
    sizes: tuple[tuple[str, Decimal], ...]
    rules: tuple[Rule, ...]
    flags: tuple[Flag, ...] = ()


NO_TARGETS = TargetAssessment(TargetResponse.NONE, None, (), ())


def meets_progression(sum_mm: Decimal, nadir_mm: Decimal, thresholds: ResponseThresholds) -> bool:
    """T4: at least +20 % **and** at least +5 mm over the nadir (inclusive, exact)."""
    grew_enough = sum_mm - nadir_mm >= thresholds.pd_abs_mm
    return grew_enough and sum_mm >= nadir_mm * (1 + thresholds.pd_rel)


def meets_partial_response(sum_mm: Decimal, baseline_mm: Decimal, thresholds: ResponseThresholds) -> bool:
    """T2: at least 30 % below the baseline sum (inclusive, exact)."""
    return sum_mm <= baseline_mm * (1 - thresholds.pr_rel)


def target_values(
    targets: tuple[Lesion, ...], time_point: TimePoint, thresholds: ResponseThresholds
) -> dict[str, LesionValue]:
    return {les.lesion_id: target_value(les, time_point.of(les.lesion_id), thresholds) for les in targets}


def assess_targets(
    targets: tuple[Lesion, ...],
    time_point: TimePoint,
    reference: TargetReference,
    thresholds: ResponseThresholds,
) -> TargetAssessment:
    """The target response of one follow-up (T1-T5, T7), with S7 for a missing target."""
    if not targets:
        return NO_TARGETS
    values = target_values(targets, time_point, thresholds)
    sizes = tuple([(lesion_id, v.mm) for lesion_id, v in sorted(values.items()) if v.mm is not None])
    total = sum([mm for _, mm in sizes], ZERO)
    partial = len(sizes) < len(targets)
    sums = SumOfDiameters(
        total, reference.baseline_mm, reference.nadir_mm, reference.nadir_date, reference.previous_mm, partial
    )
    rules = _sum_rules(values, reference)
    if partial:
        return _with_missing_target(sums, sizes, rules, thresholds)
    response, more_rules, flags = _classify(targets, values, sums, reference, thresholds)
    return TargetAssessment(response, sums, sizes, rules + more_rules, flags)


def _sum_rules(values: dict[str, LesionValue], reference: TargetReference) -> tuple[Rule, ...]:
    """S1 and S6 around the rules of the targets' values (never S1, S6 or S8 themselves), S8 at a 0 nadir."""
    lesion_rules: set[Rule] = set()
    for value in values.values():
        if value.rules:
            lesion_rules.update(value.rules)
    rules = (Rule.S1, *sorted(lesion_rules), Rule.S6) if lesion_rules else _PLAIN_SUM_RULES
    return (*rules, Rule.S8) if reference.nadir_mm == ZERO else rules


_PLAIN_SUM_RULES = (Rule.S1, Rule.S6)


def _with_missing_target(
    sums: SumOfDiameters,
    sizes: tuple[tuple[str, Decimal], ...],
    rules: tuple[Rule, ...],
    thresholds: ResponseThresholds,
) -> TargetAssessment:
    """S7: NE, unless the lesions that were measured already prove PD against the nadir."""
    if meets_progression(sums.sum_mm, sums.nadir_mm, thresholds):
        return TargetAssessment(TargetResponse.PD, sums, sizes, (*rules, Rule.S7, Rule.T4))
    return TargetAssessment(TargetResponse.NE, sums, sizes, (*rules, Rule.S7))


def _classify(
    targets: tuple[Lesion, ...],
    values: dict[str, LesionValue],
    sums: SumOfDiameters,
    reference: TargetReference,
    thresholds: ResponseThresholds,
) -> tuple[TargetResponse, tuple[Rule, ...], tuple[Flag, ...]]:
    complete = _is_complete_response(targets, values, thresholds)
    if meets_progression(sums.sum_mm, sums.nadir_mm, thresholds):
        if complete:  # T7: every target a node below 10 mm, yet +20 % and +5 mm: PD first, for review
            return TargetResponse.PD, (Rule.T4, Rule.T7), (Flag.NODAL_CR_PD_CONFLICT,)
        return TargetResponse.PD, (Rule.T4,), ()
    if complete:
        return TargetResponse.CR, (Rule.T1,), ()
    if meets_partial_response(sums.sum_mm, sums.baseline_mm, thresholds):
        return TargetResponse.PR, (Rule.T2,), ()
    if reference.pr_carried:
        return TargetResponse.PR, (Rule.T3, Rule.T5), (Flag.TARGET_PR_CARRIED_FORWARD,)
    return TargetResponse.SD, (Rule.T3,), ()


def _is_complete_response(
    targets: tuple[Lesion, ...], values: dict[str, LesionValue], thresholds: ResponseThresholds
) -> bool:
    """T1: every non-nodal target at 0 mm and every nodal target below 10 mm short axis (S2)."""
    for lesion in targets:
        mm = values[lesion.lesion_id].mm
        mm = mm if mm is not None else ZERO  # callers pass complete sums only
        if not (mm < thresholds.node_pathological_min_mm if lesion.is_nodal else mm == ZERO):
            return False
    return True
