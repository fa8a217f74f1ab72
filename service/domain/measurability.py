"""How big a lesion is on one study, whether it is measurable, and whether it is still there (M1-M3, S2-S5).

These are the per-lesion facts every later rule builds on; they read only the model and the thresholds.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from service.domain.model import Lesion, LesionStatus, Measurement, Modality
from service.domain.rules import Rule
from service.domain.thresholds import ResponseThresholds

ZERO = Decimal(0)
NODES_AS_ONE_ORGAN = "lymph node"  # M4: all lymph nodes together count as one organ [3]
_NOT_EVALUATED = LesionStatus.NOT_EVALUATED  # the one status without a size (compared by identity)


class Presence(StrEnum):
    """Whether a lesion is still disease on a study (T1, N1, T6)."""

    PRESENT = "present"
    GONE = "gone"
    UNKNOWN = "unknown"


class LesionValue(msgspec.Struct, frozen=True, gc=False):
    """The millimetres a target contributes to the sum, or None when it cannot be evaluated (S7)."""

    mm: Decimal | None
    rules: tuple[Rule, ...] = ()


def organ_group(lesion: Lesion) -> str:
    """The organ a lesion counts against for the per-organ limits (M4, I5)."""
    return NODES_AS_ONE_ORGAN if lesion.is_nodal else lesion.organ


def recorded_size(lesion: Lesion, measurement: Measurement) -> Decimal | None:
    """The size that counts: short axis for a node (M2, S1), longest diameter otherwise."""
    if lesion.is_nodal and measurement.short_axis_mm is not None:
        return measurement.short_axis_mm
    return measurement.diameter_mm


def is_measurable(lesion: Lesion, measurement: Measurement, thresholds: ResponseThresholds) -> bool:
    """M1-M3 and M5: could this lesion, as seen at baseline, be a target?"""
    size = recorded_size(lesion, measurement)
    if lesion.never_measurable or size is None or measurement.status is not LesionStatus.PRESENT:
        return False  # M3
    if measurement.modality is Modality.ULTRASOUND:
        return False  # M5: ultrasound is not used for measurement
    return size >= minimum_measurable_mm(lesion, measurement, thresholds)


def minimum_measurable_mm(
    lesion: Lesion, measurement: Measurement, thresholds: ResponseThresholds
) -> Decimal:
    """M1 (CT slice thickness, X-ray) and M2 (node short axis)."""
    if lesion.is_nodal:
        return thresholds.node_measurable_min_mm
    if measurement.modality is Modality.XRAY:
        return thresholds.xray_measurable_min_mm
    slice_mm = measurement.slice_thickness_mm
    if slice_mm is not None and slice_mm > thresholds.measurable_slice_max_mm:
        return max(thresholds.measurable_min_mm, thresholds.measurable_slice_multiple * slice_mm)
    return thresholds.measurable_min_mm


def target_value(
    lesion: Lesion, measurements: tuple[Measurement, ...], thresholds: ResponseThresholds
) -> LesionValue:
    """The contribution of one target to the sum of diameters (S1-S5), None when it is missing (S7)."""
    if not measurements:
        return _MISSING
    if len(measurements) == 1:  # the usual case: one lesion, one measurement, its value as it is
        only = measurements[0]
        if only.coalesced_into is not None:
            return _COALESCED
        value = _fragment_value(lesion, only, thresholds)
        return value if value.mm is not None else LesionValue(None, (*value.rules, Rule.S7))
    if any(m.coalesced_into is not None for m in measurements):
        return _COALESCED
    total: Decimal | None = ZERO
    rules: list[Rule] = []
    for m in measurements:
        part = _fragment_value(lesion, m, thresholds)
        rules += part.rules
        total = None if total is None or part.mm is None else total + part.mm
    if total is None:
        return LesionValue(None, (*rules, Rule.S7))
    if len(measurements) > 1:
        rules.append(Rule.S4)  # S4: the fragments of a split lesion are added together
    return LesionValue(total, tuple(rules))


# The values that need no size, made once (every rule reads every target on every study)
_MISSING = LesionValue(None, (Rule.S7,))  # S7: not measured on this study
_COALESCED = LesionValue(ZERO, (Rule.S5,))  # S5: the whole mass is given to the other target
_UNSIZED_VALUE = LesionValue(None)
_ULTRASOUND_VALUE = LesionValue(None, (Rule.M5,))
_ABSENT_VALUE = LesionValue(ZERO, (Rule.S3,))  # S3: a lesion that has disappeared counts 0 mm
_NODE_RULES = (Rule.S2,)


def _fragment_value(lesion: Lesion, measurement: Measurement, thresholds: ResponseThresholds) -> LesionValue:
    status = measurement.status
    if status is _NOT_EVALUATED:
        return _UNSIZED_VALUE
    if measurement.modality is Modality.ULTRASOUND:
        return _ULTRASOUND_VALUE
    if status is LesionStatus.ABSENT:
        return _ABSENT_VALUE
    size = recorded_size(lesion, measurement)
    if status is LesionStatus.TOO_SMALL_TO_MEASURE:
        # S3: the radiologist's number wins, even below the default [1][3]
        return LesionValue(thresholds.too_small_to_measure_mm if size is None else size, (Rule.S3,))
    return LesionValue(size, _NODE_RULES if lesion.is_nodal else ())


def presence(
    lesion: Lesion, measurements: tuple[Measurement, ...], thresholds: ResponseThresholds
) -> Presence:
    """Whether a lesion is still disease: gone means 0 mm, or a node with short axis below 10 mm (T1, N1).
    Unknown when a measurement has no size; present when merged into another lesion (S5), not gone."""
    if not measurements:
        return Presence.UNKNOWN
    if len(measurements) == 1:  # the usual case: one lesion, one measurement
        only = measurements[0]
        if only.status is _NOT_EVALUATED:
            return Presence.UNKNOWN
        if only.coalesced_into is None and _is_gone(lesion, only, thresholds):
            return Presence.GONE
        return Presence.PRESENT
    gone, merged = True, False
    for m in measurements:
        if m.status is _NOT_EVALUATED:
            return Presence.UNKNOWN
        merged = merged or m.coalesced_into is not None
        gone = gone and _is_gone(lesion, m, thresholds)
    return Presence.GONE if gone and not merged else Presence.PRESENT


def _is_gone(lesion: Lesion, measurement: Measurement, thresholds: ResponseThresholds) -> bool:
    if measurement.status is LesionStatus.ABSENT:
        return True
    size = recorded_size(lesion, measurement)
    if lesion.is_nodal:
        tstm = measurement.status is LesionStatus.TOO_SMALL_TO_MEASURE and size is None
        return tstm or (size is not None and size < thresholds.node_pathological_min_mm)
    return size == ZERO
