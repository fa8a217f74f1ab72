"""The iUPD being followed under iRECIST, and what confirms it (I4) or resets it (I6).

Split from :mod:`service.domain.irecist`, which holds the state machine; this module answers, for one time
point, the questions the machine asks about the iUPD time point it compares with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from service.domain.baseline import choose_targets
from service.domain.measurability import ZERO, Presence, presence, recorded_size, target_value
from service.domain.model import Lesion, LesionStatus, TimePoint
from service.domain.overall import overall_response
from service.domain.recist import RecistEvaluation
from service.domain.response import NewLesions, OverallResponse, ProgressionSource, TimePointResponse
from service.domain.thresholds import ResponseThresholds

_PROGRESSION_STATUSES = frozenset({LesionStatus.UNEQUIVOCAL_PROGRESSION, LesionStatus.EQUIVOCAL})


@dataclass(frozen=True, slots=True)
class IrecistStep:
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
    )


def confirms(unconfirmed: Unconfirmed, step: IrecistStep, additional: tuple[str, ...]) -> bool:
    """I4, against the iUPD time point (so increments add up across time points)."""
    th = step.thresholds
    increase = target_increase(unconfirmed, step)
    new_targets_now = new_lesion_target_sum(unconfirmed.new_lesion_targets, step)
    new_targets_before = unconfirmed.new_lesion_target_sum_mm
    return (
        bool(additional)
        or (increase is not None and increase >= th.icpd_abs_mm)
        or (
            new_targets_now is not None
            and new_targets_before is not None
            and new_targets_now - new_targets_before >= th.icpd_abs_mm
        )
        or _grew(step.recist.selection.non_targets, unconfirmed, step)
        or _grew(_non_target_new(unconfirmed, step), unconfirmed, step)
    )


def _non_target_new(unconfirmed: Unconfirmed, step: IrecistStep) -> tuple[Lesion, ...]:
    new = step.lesions(unconfirmed.new_lesions)
    return tuple(les for les in new if les not in unconfirmed.new_lesion_targets)


def _grew(lesions: tuple[Lesion, ...], unconfirmed: Unconfirmed, step: IrecistStep) -> bool:
    """Any increase at all: a larger size than at iUPD, or the reader's progression status (I4)."""
    before = dict(unconfirmed.sizes)
    now = step.sizes(lesions)
    larger = any(lesion_id in before and size > before[lesion_id] for lesion_id, size in now.items())
    statuses = {m.status for les in lesions for m in step.time_point.of(les.lesion_id)}
    return larger or bool(statuses & _PROGRESSION_STATUSES)


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
