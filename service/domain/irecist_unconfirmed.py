"""The iUPD being followed under iRECIST, and what confirms it (I4) or resets it (I6).

Split from :mod:`service.domain.irecist`, which holds the state machine; this module answers, for one time
point, the questions the machine asks about the iUPD time point it compares with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import msgspec

from service.domain.baseline import choose_targets
from service.domain.measurability import ZERO, Presence, presence, recorded_size, target_value
from service.domain.model import Lesion, LesionStatus, TimePoint
from service.domain.overall import overall_response
from service.domain.recist import RecistEvaluation
from service.domain.response import (
    NewLesions,
    OverallResponse,
    ProgressionSource,
    TargetResponse,
    TimePointResponse,
)
from service.domain.thresholds import ResponseThresholds

_UNEQUIVOCAL, _FURTHER = LesionStatus.UNEQUIVOCAL_PROGRESSION, LesionStatus.FURTHER_INCREASE


class IrecistStep(msgspec.Struct, frozen=True, gc=False):
    """One time point with what it needs from the timeline."""

    response: TimePointResponse
    time_point: TimePoint
    recist: RecistEvaluation
    thresholds: ResponseThresholds

    @property
    def without_new(self) -> OverallResponse:
        """The RECIST category with new lesions left out; T6 after a CR still counts as progression."""
        r = self.response
        if set(r.progression_sources) - {ProgressionSource.NEW_LESION}:
            return OverallResponse.PD
        return overall_response(r.target, r.non_target, NewLesions.NONE)[0]

    def sizes(self, lesions: tuple[Lesion, ...]) -> dict[str, Decimal]:
        found = {les.lesion_id: _size(les, self.time_point) for les in lesions}
        return {lesion_id: size for lesion_id, size in found.items() if size is not None}

    def lesions(self, ids: frozenset[str]) -> tuple[Lesion, ...]:
        return tuple(les for les in self.recist.selection.new if les.lesion_id in ids)


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """The iUPD time point that later assessments are compared with (I3, I4)."""

    date: dt.date
    sum_mm: Decimal | None
    category_without_new: OverallResponse
    new_lesions: frozenset[str]
    new_lesion_targets: tuple[Lesion, ...]
    new_lesion_target_sum_mm: Decimal | None
    sizes: tuple[tuple[str, Decimal], ...]
    sources: frozenset[ProgressionSource] = frozenset()  # what made the iUPD time point PD (I4 d)
    unequivocal: frozenset[str] = frozenset()  # lesions already called unequivocal progression at iUPD (I9)


def start_unconfirmed(known_new: frozenset[str], step: IrecistStep, category: OverallResponse) -> Unconfirmed:
    """I5: up to 5 new lesions (2 per organ) become new-lesion targets, summed apart from the targets."""
    new_ids = known_new | set(step.response.new_lesion_ids)
    new = step.lesions(new_ids)
    th = step.thresholds
    candidates = [(les, m) for les in new for m in step.time_point.of(les.lesion_id)[:1]]
    chosen = choose_targets(
        candidates, th, max_total=th.new_lesion_max_targets, max_per_organ=th.new_lesion_max_per_organ
    )
    sizes = step.sizes((*step.recist.selection.non_targets, *new))
    sums = step.response.sums
    return Unconfirmed(
        date=step.time_point.date,
        sum_mm=None if sums is None else sums.sum_mm,
        category_without_new=category,
        new_lesions=frozenset(new_ids),
        new_lesion_targets=chosen,
        new_lesion_target_sum_mm=new_lesion_target_sum(chosen, step),
        sizes=tuple(sorted(sizes.items())),
        sources=frozenset(step.response.progression_sources),
        unequivocal=frozenset(m.lesion_id for m in step.time_point.measurements if m.status is _UNEQUIVOCAL),
    )


def confirms(unconfirmed: Unconfirmed, step: IrecistStep, additional: tuple[str, ...]) -> bool:
    """I4, against the iUPD time point (so increments add up across time points)."""
    th = step.thresholds
    new_targets_now = new_lesion_target_sum(unconfirmed.new_lesion_targets, step)
    new_targets_before = unconfirmed.new_lesion_target_sum_mm
    return (
        bool(additional)  # I4 (c): an additional unequivocal new lesion (an equivocal one never, I10)
        or _at_least(target_increase(unconfirmed, step), th.icpd_abs_mm)  # I4 (a)
        or (
            new_targets_now is not None
            and new_targets_before is not None
            and new_targets_now - new_targets_before >= th.icpd_abs_mm
        )
        or bool(further_increases(step.recist.selection.non_targets, unconfirmed, step))  # I4 (b), I9
        or _new_non_target_grew(unconfirmed, step)  # I4 (c)
        or _targets_newly_progressed(unconfirmed, step)  # I4 (d)
    )


def _at_least(value: Decimal | None, threshold: Decimal) -> bool:
    return value is not None and value >= threshold


def further_increases(lesions: tuple[Lesion, ...], unconfirmed: Unconfirmed, step: IrecistStep) -> set[str]:
    """I9: the lesions the reader calls ``further-increase``, or ``unequivocal-progression`` when they were
    not so at iUPD. The same status repeated is the same finding counted twice; ``equivocal`` never counts,
    and neither does a larger size without the reader's call."""
    found = set()
    for lesion in lesions:
        statuses = {m.status for m in step.time_point.of(lesion.lesion_id)}
        repeated = lesion.lesion_id in unconfirmed.unequivocal
        if _FURTHER in statuses or (_UNEQUIVOCAL in statuses and not repeated):
            found.add(lesion.lesion_id)
    return found


def non_target_increase_not_confirmed(unconfirmed: Unconfirmed, step: IrecistStep) -> bool:
    """I9 flag: non-target disease drove the iUPD, and this scan shows only ``equivocal`` or the status
    repeated on the lesions that already carried it."""
    if ProgressionSource.NON_TARGET not in unconfirmed.sources:
        return False
    non_targets = step.recist.selection.non_targets
    statuses = {m.status for les in non_targets for m in step.time_point.of(les.lesion_id)}
    shown = LesionStatus.EQUIVOCAL in statuses or _UNEQUIVOCAL in statuses
    return shown and not further_increases(non_targets, unconfirmed, step)


def holds_non_target_progression(unconfirmed: Unconfirmed, step: IrecistStep) -> bool:
    """I6 reads a reset from a *change* for the better: a non-target that drove the iUPD and is now called
    ``equivocal`` has not been called better, so the iUPD stands (T50 variant B)."""
    return ProgressionSource.NON_TARGET in unconfirmed.sources and any(
        m.status is LesionStatus.EQUIVOCAL
        for lesion_id in unconfirmed.unequivocal
        for m in step.time_point.of(lesion_id)
    )


def _targets_newly_progressed(unconfirmed: Unconfirmed, step: IrecistStep) -> bool:
    """I4 (d): the targets meet RECIST PD (T4, against the nadir) when they had not made the iUPD."""
    newly = ProgressionSource.TARGET_SUM not in unconfirmed.sources
    return newly and step.response.target is TargetResponse.PD


def _non_target_new(unconfirmed: Unconfirmed, step: IrecistStep) -> tuple[Lesion, ...]:
    new = step.lesions(unconfirmed.new_lesions)
    return tuple(les for les in new if les not in unconfirmed.new_lesion_targets)


def _new_non_target_grew(unconfirmed: Unconfirmed, step: IrecistStep) -> bool:
    """I4 (c) "any increase in NLNT": a larger size than at iUPD, or the reader's call as in I9."""
    lesions = _non_target_new(unconfirmed, step)
    before = dict(unconfirmed.sizes)
    now = step.sizes(lesions)
    larger = any(lesion_id in before and size > before[lesion_id] for lesion_id, size in now.items())
    return larger or bool(further_increases(lesions, unconfirmed, step))


def changed(unconfirmed: Unconfirmed, category: OverallResponse, step: IrecistStep) -> bool:
    """I6: the assessment differs from the iUPD one (category, or every new lesion gone)."""
    if category is not unconfirmed.category_without_new:
        return True
    new = step.lesions(unconfirmed.new_lesions)
    return bool(new) and all(gone(les, step) for les in new)


def gone(lesion: Lesion, step: IrecistStep) -> bool:
    return presence(lesion, step.time_point.of(lesion.lesion_id), step.thresholds) is Presence.GONE


def target_increase(unconfirmed: Unconfirmed, step: IrecistStep) -> Decimal | None:
    sums = step.response.sums
    if sums is None or unconfirmed.sum_mm is None:
        return None
    return sums.sum_mm - unconfirmed.sum_mm


def new_lesion_target_sum(targets: tuple[Lesion, ...], step: IrecistStep) -> Decimal | None:
    if not targets:
        return None
    values = [target_value(les, step.time_point.of(les.lesion_id), step.thresholds).mm for les in targets]
    return None if any(v is None for v in values) else sum((v for v in values if v is not None), ZERO)


def _size(lesion: Lesion, time_point: TimePoint) -> Decimal | None:
    sizes = [s for m in time_point.of(lesion.lesion_id) if (s := recorded_size(lesion, m)) is not None]
    return max(sizes) if sizes else None
