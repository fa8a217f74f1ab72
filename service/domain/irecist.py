"""iRECIST (section 2) as a state machine over the RECIST 1.1 time points, for immune checkpoint inhibitors.

States: no unconfirmed progression -> iUPD (the first RECIST PD, I2) -> iCPD (confirmed, I4; final) or back
to no unconfirmed progression when the next assessment changes from the iUPD one (reset, I6).

Readings taken where the text leaves room:
- A further non-target increase (I4 b, I9) is the reader's call only: ``further-increase``, or
  ``unequivocal-progression`` on a lesion that was not so at iUPD. The same status repeated, ``equivocal``
  or a larger size alone never confirm; NT_INCREASE_NOT_CONFIRMED says so when non-targets drove the iUPD.
  A new non-target lesion (NLNT) confirms with "any increase": a larger size or the same reader's calls.
- A non-target that drove the iUPD and is now ``equivocal`` has not been called better: no reset (I6), the
  iUPD stands (T50 variant B).
- An equivocal new lesion after iUPD never confirms (I10): it adds EQUIVOCAL_NEW_LESION and I10; once a
  later scan shows it unequivocally it is an additional new lesion and confirms.
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

import msgspec

from service.domain.irecist_types import IrecistResponse, IrecistTimePoint
from service.domain.irecist_unconfirmed import (
    IrecistStep,
    Unconfirmed,
    changed,
    confirms,
    gone,
    holds_non_target_progression,
    new_lesion_target_sum,
    non_target_increase_not_confirmed,
    start_unconfirmed,
    target_increase,
)
from service.domain.model import ClinicalStability, ImagingTimeline
from service.domain.recist import RecistEvaluation
from service.domain.response import OverallResponse, TargetResponse
from service.domain.rules import Flag, Rule
from service.domain.thresholds import ResponseThresholds

_WITHOUT_NEW = {
    OverallResponse.CR: IrecistResponse.ICR,
    OverallResponse.PR: IrecistResponse.IPR,
    OverallResponse.SD: IrecistResponse.ISD,
    OverallResponse.NE: IrecistResponse.NE,
    OverallResponse.NON_CR_NON_PD: IrecistResponse.NON_ICR_NON_IUPD,
}


@dataclass(frozen=True, slots=True)
class _State:
    known_new: frozenset[str] = frozenset()
    unconfirmed: Unconfirmed | None = None
    confirmed: bool = False


def evaluate_irecist(
    timeline: ImagingTimeline,
    recist: RecistEvaluation,
    thresholds: ResponseThresholds,
    clinical: Mapping[dt.date, ClinicalStability] | None = None,
) -> tuple[IrecistTimePoint, ...]:
    """iRECIST time-point responses (I1-I8); ``clinical`` gives the I8 stability on a date, if known."""
    state, points = _State(), []
    for response, time_point in zip(recist.time_points, timeline.ordered[1:], strict=True):
        point, state = _advance(state, IrecistStep(response, time_point, recist, thresholds))
        stability = (clinical or {}).get(time_point.date)
        if stability is not None and not stability.is_stable:
            flags = (*point.flags, Flag.NOT_CLINICALLY_STABLE)
            point = msgspec.structs.replace(point, rules=(*point.rules, Rule.I8), flags=flags)
        points.append(point)
    return tuple(points)


def _advance(state: _State, step: IrecistStep) -> tuple[IrecistTimePoint, _State]:
    additional = tuple(i for i in step.response.new_lesion_ids if i not in state.known_new)
    if state.confirmed:  # iCPD is final, as PD is for RECIST
        return _point(step, IrecistResponse.ICPD, (Rule.I4,)), state
    if state.unconfirmed is None:
        return _without_unconfirmed(state, step, additional)
    return _after_unconfirmed(state, state.unconfirmed, step, additional)


def _without_unconfirmed(
    state: _State, step: IrecistStep, additional: tuple[str, ...]
) -> tuple[IrecistTimePoint, _State]:
    category = step.without_new
    if category is OverallResponse.PD or additional:
        unconfirmed = start_unconfirmed(state.known_new, step, category)
        rules = (Rule.I2, Rule.I3, Rule.I5) if unconfirmed.new_lesions else (Rule.I2, Rule.I3)
        point = _point(step, IrecistResponse.IUPD, rules, unconfirmed, additional)
        return point, replace(state, known_new=unconfirmed.new_lesions, unconfirmed=unconfirmed)
    return _point(step, _category(category, state.known_new, step), (Rule.I1,)), state


def _after_unconfirmed(
    state: _State, unconfirmed: Unconfirmed, step: IrecistStep, additional: tuple[str, ...]
) -> tuple[IrecistTimePoint, _State]:
    th = step.thresholds
    days = (step.time_point.date - unconfirmed.date).days
    early = days < th.iconfirm_min_days - th.iconfirm_tolerance_days
    counts = not early or (step.time_point.prompted_by_symptoms and bool(additional))  # I3 exception
    if counts and confirms(unconfirmed, step, additional):
        point = _point(step, IrecistResponse.ICPD, (Rule.I3, Rule.I4), unconfirmed, additional)
        return point, replace(state, unconfirmed=None, confirmed=True)
    category = step.without_new
    if category is OverallResponse.NE:  # I7: NE leaves the iUPD standing
        point = _point(step, IrecistResponse.NE, (Rule.I3, Rule.I7), unconfirmed, additional)
        return _unconfirmed_notes(point, unconfirmed, step), state
    held = holds_non_target_progression(unconfirmed, step)
    if category is OverallResponse.PD or held or not changed(unconfirmed, category, step):
        point = _point(step, IrecistResponse.IUPD, (Rule.I3, Rule.I6), unconfirmed, additional)
        return _unconfirmed_notes(point, unconfirmed, step), state
    point = _point(step, _category(category, state.known_new, step), (Rule.I1, Rule.I6))
    return point, replace(state, unconfirmed=None)


def _unconfirmed_notes(
    point: IrecistTimePoint, unconfirmed: Unconfirmed, step: IrecistStep
) -> IrecistTimePoint:
    """Why a scan after iUPD did not confirm it, where the reader's calls say so (I9, I10)."""
    notes = {
        Rule.I9: (non_target_increase_not_confirmed(unconfirmed, step), Flag.NT_INCREASE_NOT_CONFIRMED),
        Rule.I10: (bool(step.response.equivocal_new_lesion_ids), Flag.EQUIVOCAL_NEW_LESION),
    }
    fired = [(rule, flag) for rule, (hit, flag) in notes.items() if hit]
    rules = (*point.rules, *(rule for rule, _ in fired))
    return msgspec.structs.replace(point, rules=rules, flags=(*point.flags, *(flag for _, flag in fired)))


def _category(category: OverallResponse, known_new: frozenset[str], step: IrecistStep) -> IrecistResponse:
    """I1: iCR needs the new lesions gone as well; while they persist a CR is at best iPR."""
    new = step.lesions(known_new)
    if all(gone(les, step) for les in new):
        return _WITHOUT_NEW[category]
    if category is not OverallResponse.CR:
        return _WITHOUT_NEW[category]
    if step.response.target is TargetResponse.NONE:  # Table 2: no target disease to call a PR
        return IrecistResponse.NON_ICR_NON_IUPD
    return IrecistResponse.IPR


def _point(
    step: IrecistStep,
    category: IrecistResponse,
    rules: tuple[Rule, ...],
    unconfirmed: Unconfirmed | None = None,
    additional: tuple[str, ...] = (),
) -> IrecistTimePoint:
    if unconfirmed is None:
        return IrecistTimePoint(
            step.time_point.date, category, step.response, None, None, None, None, (), rules, ()
        )
    th = step.thresholds
    window = (
        unconfirmed.date + dt.timedelta(days=th.iconfirm_min_days),
        unconfirmed.date + dt.timedelta(days=th.iconfirm_max_days),
    )
    return IrecistTimePoint(
        date=step.time_point.date,
        category=category,
        recist=step.response,
        iupd_date=unconfirmed.date,
        confirmation_window=window,
        target_increase_mm=target_increase(unconfirmed, step),
        new_lesion_target_sum_mm=new_lesion_target_sum(unconfirmed.new_lesion_targets, step),
        additional_new_lesions=additional,
        rules=rules,
        flags=(),
    )
