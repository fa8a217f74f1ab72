"""New lesions on one time point (L1-L4): unequivocal ones are PD, equivocal ones are flagged.

L4 ("small changes across 10 mm, e.g. 9 to 11 mm, may not be true disease") is read as: a new node that
was recorded below 10 mm before and is now pathological but below the 15 mm of a measurable node (M2) is
equivocal. L3: a site seen only on PET, when the baseline had no PET, is equivocal until CT confirms it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import msgspec

from service.domain.measurability import Presence, presence, recorded_size
from service.domain.model import Lesion, LesionStatus, Measurement, Modality, TimePoint
from service.domain.response import NewLesions
from service.domain.rules import Flag, Rule
from service.domain.thresholds import ResponseThresholds


class NewLesionAssessment(msgspec.Struct, frozen=True, gc=False):
    status: NewLesions
    unequivocal: tuple[str, ...]
    equivocal: tuple[str, ...]
    rules: tuple[Rule, ...]

    @property
    def flags(self) -> tuple[Flag, ...]:
        return (Flag.EQUIVOCAL_NEW_LESION,) if self.equivocal else ()


def assess_new_lesions(
    new: tuple[Lesion, ...],
    time_point: TimePoint,
    previous_sizes: Mapping[str, Decimal],
    baseline_has_pet: bool,
    thresholds: ResponseThresholds,
) -> NewLesionAssessment:
    """Sort the new lesions seen on this time point into unequivocal (L1) and equivocal (L2-L4)."""
    if not new:
        return _NO_NEW_LESIONS
    unequivocal: list[str] = []
    equivocal: list[str] = []
    rules: set[Rule] = set()
    for lesion in new:
        kind, rule = _classify(lesion, time_point, previous_sizes, baseline_has_pet, thresholds)
        if rule is not None:
            rules.add(rule)
        if kind is NewLesions.UNEQUIVOCAL:
            unequivocal.append(lesion.lesion_id)
        elif kind is NewLesions.EQUIVOCAL:
            equivocal.append(lesion.lesion_id)
    status = NewLesions.EQUIVOCAL if equivocal else NewLesions.NONE
    status = NewLesions.UNEQUIVOCAL if unequivocal else status
    return NewLesionAssessment(status, tuple(unequivocal), tuple(equivocal), tuple(sorted(rules)))


_NO_NEW_LESIONS = NewLesionAssessment(NewLesions.NONE, (), (), ())


def _classify(
    lesion: Lesion,
    time_point: TimePoint,
    previous_sizes: Mapping[str, Decimal],
    baseline_has_pet: bool,
    thresholds: ResponseThresholds,
) -> tuple[NewLesions, Rule | None]:
    measurements = time_point.of(lesion.lesion_id)
    state = presence(lesion, measurements, thresholds)
    if state is not Presence.PRESENT:
        # L4: a new node below 10 mm short axis is not a new lesion
        return NewLesions.NONE, (Rule.L4 if lesion.is_nodal and state is Presence.GONE else None)
    if lesion.is_nodal and _crossed_ten_mm(lesion, measurements, previous_sizes, thresholds):
        return NewLesions.EQUIVOCAL, Rule.L4
    if any(m.status is LesionStatus.EQUIVOCAL for m in measurements):
        return NewLesions.EQUIVOCAL, Rule.L2
    if not baseline_has_pet and all(_modality(m, time_point) is Modality.PET for m in measurements):
        return NewLesions.EQUIVOCAL, Rule.L3
    return NewLesions.UNEQUIVOCAL, Rule.L1


def _crossed_ten_mm(
    lesion: Lesion,
    measurements: tuple[Measurement, ...],
    previous_sizes: Mapping[str, Decimal],
    thresholds: ResponseThresholds,
) -> bool:
    before = previous_sizes.get(lesion.lesion_id)
    now = max((recorded_size(lesion, m) or Decimal(0) for m in measurements), default=Decimal(0))
    was_normal = before is not None and before < thresholds.node_pathological_min_mm
    return was_normal and now < thresholds.node_measurable_min_mm


def _modality(measurement: Measurement, time_point: TimePoint) -> Modality | None:
    return measurement.modality or time_point.modality


def has_pet(time_point: TimePoint) -> bool:
    """L3: whether a study included FDG-PET."""
    modalities = {time_point.modality, *(m.modality for m in time_point.measurements)}
    return Modality.PET in modalities
