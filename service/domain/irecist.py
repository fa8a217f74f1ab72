"""iRECIST (section 2) as a state machine over the RECIST 1.1 time points, for immune checkpoint inhibitors.

States: no unconfirmed progression -> iUPD (the first RECIST PD, I2) -> iCPD (confirmed, I4; final) or back
to no unconfirmed progression when the next assessment changes from the iUPD one (reset, I6).

Readings taken where the text leaves room:
- "Any further increase" of non-target or new non-target lesions (I4) is either a larger recorded size
  than at the iUPD time point or a reader's status ``unequivocal-progression`` or ``equivocal`` on the later
  study (the reader judges the later study against the earlier one).
- Reset (I6) happens when the category without new lesions differs from the one at iUPD (e.g. SD -> PR,
  FAQ scenario B; PD -> SD once the targets are back under the nadir +20 %), or when every new lesion seen
  at iUPD has gone. The same category with the new lesions persisting stays iUPD (FAQ scenario F).
- After a reset, new lesions already recorded do not trigger iUPD again; an additional new lesion, target
  PD against the nadir, or non-target PD does (I6). Growth of the earlier new lesions after a reset is not
  tracked (the text gives no reference point for it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from service.domain.baseline import choose_targets
from service.domain.irecist_types import IrecistResponse, IrecistTimePoint
from service.domain.measurability import ZERO, Presence, presence, recorded_size, target_value
from service.domain.model import ClinicalStability, ImagingTimeline, Lesion, LesionStatus, TimePoint
from service.domain.overall import overall_response
from service.domain.recist import RecistEvaluation
from service.domain.response import NewLesions, OverallResponse, ProgressionSource, TimePointResponse
from service.domain.rules import Flag, Rule
from service.domain.thresholds import ResponseThresholds

_PROGRESSION_STATUSES = frozenset({LesionStatus.UNEQUIVOCAL_PROGRESSION, LesionStatus.EQUIVOCAL})
_WITHOUT_NEW = {
    OverallResponse.CR: IrecistResponse.ICR,
    OverallResponse.PR: IrecistResponse.IPR,
    OverallResponse.SD: IrecistResponse.ISD,
    OverallResponse.NE: IrecistResponse.NE,
    OverallResponse.NON_CR_NON_PD: IrecistResponse.NON_ICR_NON_IUPD,
}


@dataclass(frozen=True, slots=True)
class _Unconfirmed:
    """The iUPD time point that later assessments are compared with (I3, I4)."""

    date: dt.date
    sum_mm: Decimal | None
    category_without_new: OverallResponse
    new_lesions: frozenset[str]
    new_lesion_targets: tuple[Lesion, ...]
    new_lesion_target_sum_mm: Decimal | None
    sizes: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class _State:
    known_new: frozenset[str] = frozenset()
    unconfirmed: _Unconfirmed | None = None
    confirmed: bool = False


@dataclass(frozen=True, slots=True)
class _Step:
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


def evaluate_irecist(
    timeline: ImagingTimeline,
    recist: RecistEvaluation,
    thresholds: ResponseThresholds,
    clinical: Mapping[dt.date, ClinicalStability] | None = None,
) -> tuple[IrecistTimePoint, ...]:
    """iRECIST time-point responses (I1-I8); ``clinical`` gives the I8 stability on a date, if known."""
    state, points = _State(), []
    for response, time_point in zip(recist.time_points, timeline.ordered[1:], strict=True):
        point, state = _advance(state, _Step(response, time_point, recist, thresholds))
        stability = (clinical or {}).get(time_point.date)
        if stability is not None and not stability.is_stable:
            point = replace(point, rules=(*point.rules, Rule.I8), flags=(Flag.NOT_CLINICALLY_STABLE,))
        points.append(point)
    return tuple(points)


def _advance(state: _State, step: _Step) -> tuple[IrecistTimePoint, _State]:
    additional = tuple(i for i in step.response.new_lesion_ids if i not in state.known_new)
    if state.confirmed:  # iCPD is final, as PD is for RECIST
        return _point(step, IrecistResponse.ICPD, (Rule.I4,)), state
    if state.unconfirmed is None:
        return _without_unconfirmed(state, step, additional)
    return _after_unconfirmed(state, state.unconfirmed, step, additional)


def _without_unconfirmed(
    state: _State, step: _Step, additional: tuple[str, ...]
) -> tuple[IrecistTimePoint, _State]:
    category = step.without_new
    if category is OverallResponse.PD or additional:
        unconfirmed = _start_unconfirmed(state, step, category)
        rules = (Rule.I2, Rule.I3, Rule.I5) if unconfirmed.new_lesions else (Rule.I2, Rule.I3)
        point = _point(step, IrecistResponse.IUPD, rules, unconfirmed, additional)
        return point, replace(state, known_new=unconfirmed.new_lesions, unconfirmed=unconfirmed)
    return _point(step, _category(category, state.known_new, step), (Rule.I1,)), state


def _after_unconfirmed(
    state: _State, unconfirmed: _Unconfirmed, step: _Step, additional: tuple[str, ...]
) -> tuple[IrecistTimePoint, _State]:
    th = step.thresholds
    days = (step.time_point.date - unconfirmed.date).days
    early = days < th.iconfirm_min_days - th.iconfirm_tolerance_days
    counts = not early or (step.time_point.prompted_by_symptoms and bool(additional))  # I3 exception
    if counts and _confirms(unconfirmed, step, additional):
        point = _point(step, IrecistResponse.ICPD, (Rule.I3, Rule.I4), unconfirmed, additional)
        return point, replace(state, unconfirmed=None, confirmed=True)
    category = step.without_new
    if category is OverallResponse.NE:  # I7: NE leaves the iUPD standing
        return _point(step, IrecistResponse.NE, (Rule.I3, Rule.I7), unconfirmed, additional), state
    if category is OverallResponse.PD or not _changed(unconfirmed, category, step):
        return _point(step, IrecistResponse.IUPD, (Rule.I3, Rule.I6), unconfirmed, additional), state
    point = _point(step, _category(category, state.known_new, step), (Rule.I1, Rule.I6))
    return point, replace(state, unconfirmed=None)


def _start_unconfirmed(state: _State, step: _Step, category: OverallResponse) -> _Unconfirmed:
    """I5: up to 5 new lesions (2 per organ) become new-lesion targets, summed apart from the targets."""
    new_ids = state.known_new | set(step.response.new_lesion_ids)
    new = step.lesions(new_ids)
    th = step.thresholds
    candidates = [(les, m) for les in new for m in step.time_point.of(les.lesion_id)[:1]]
    chosen = choose_targets(
        candidates, th, max_total=th.new_lesion_max_targets, max_per_organ=th.new_lesion_max_per_organ
    )
    sizes = step.sizes((*step.recist.selection.non_targets, *new))
    sums = step.response.sums
    return _Unconfirmed(
        date=step.time_point.date,
        sum_mm=None if sums is None else sums.sum_mm,
        category_without_new=category,
        new_lesions=frozenset(new_ids),
        new_lesion_targets=chosen,
        new_lesion_target_sum_mm=_new_lesion_target_sum(chosen, step),
        sizes=tuple(sorted(sizes.items())),
    )


def _confirms(unconfirmed: _Unconfirmed, step: _Step, additional: tuple[str, ...]) -> bool:
    """I4, against the iUPD time point (so increments add up across time points)."""
    th = step.thresholds
    increase = _target_increase(unconfirmed, step)
    new_targets_now = _new_lesion_target_sum(unconfirmed.new_lesion_targets, step)
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


def _non_target_new(unconfirmed: _Unconfirmed, step: _Step) -> tuple[Lesion, ...]:
    new = step.lesions(unconfirmed.new_lesions)
    return tuple(les for les in new if les not in unconfirmed.new_lesion_targets)


def _grew(lesions: tuple[Lesion, ...], unconfirmed: _Unconfirmed, step: _Step) -> bool:
    """Any increase at all: a larger size than at iUPD, or the reader's progression status (I4)."""
    before = dict(unconfirmed.sizes)
    now = step.sizes(lesions)
    larger = any(lesion_id in before and size > before[lesion_id] for lesion_id, size in now.items())
    statuses = {m.status for les in lesions for m in step.time_point.of(les.lesion_id)}
    return larger or bool(statuses & _PROGRESSION_STATUSES)


def _changed(unconfirmed: _Unconfirmed, category: OverallResponse, step: _Step) -> bool:
    """I6: the assessment differs from the iUPD one (category, or every new lesion gone)."""
    if category is not unconfirmed.category_without_new:
        return True
    new = step.lesions(unconfirmed.new_lesions)
    return bool(new) and all(_gone(les, step) for les in new)


def _category(category: OverallResponse, known_new: frozenset[str], step: _Step) -> IrecistResponse:
    """I1: iCR needs the new lesions gone as well; while they persist a CR is at best iPR."""
    new = step.lesions(known_new)
    if all(_gone(les, step) for les in new):
        return _WITHOUT_NEW[category]
    if category is OverallResponse.CR:
        return IrecistResponse.IPR
    return _WITHOUT_NEW[category]


def _gone(lesion: Lesion, step: _Step) -> bool:
    return presence(lesion, step.time_point.of(lesion.lesion_id), step.thresholds) is Presence.GONE


def _target_increase(unconfirmed: _Unconfirmed, step: _Step) -> Decimal | None:
    sums = step.response.sums
    if sums is None or unconfirmed.sum_mm is None:
        return None
    return sums.sum_mm - unconfirmed.sum_mm


def _new_lesion_target_sum(targets: tuple[Lesion, ...], step: _Step) -> Decimal | None:
    if not targets:
        return None
    values = [target_value(les, step.time_point.of(les.lesion_id), step.thresholds).mm for les in targets]
    return None if any(v is None for v in values) else sum((v for v in values if v is not None), ZERO)


def _size(lesion: Lesion, time_point: TimePoint) -> Decimal | None:
    sizes = [s for m in time_point.of(lesion.lesion_id) if (s := recorded_size(lesion, m)) is not None]
    return max(sizes) if sizes else None


def _point(
    step: _Step,
    category: IrecistResponse,
    rules: tuple[Rule, ...],
    unconfirmed: _Unconfirmed | None = None,
    additional: tuple[str, ...] = (),
) -> IrecistTimePoint:
    th = step.thresholds
    window = None
    if unconfirmed is not None:
        window = (
            unconfirmed.date + dt.timedelta(days=th.iconfirm_min_days),
            unconfirmed.date + dt.timedelta(days=th.iconfirm_max_days),
        )
    return IrecistTimePoint(
        date=step.time_point.date,
        category=category,
        recist=step.response,
        iupd_date=None if unconfirmed is None else unconfirmed.date,
        confirmation_window=window,
        target_increase_mm=None if unconfirmed is None else _target_increase(unconfirmed, step),
        new_lesion_target_sum_mm=_new_lesion_target_sum(
            () if unconfirmed is None else unconfirmed.new_lesion_targets, step
        ),
        additional_new_lesions=additional,
        rules=rules,
        flags=(),
    )
