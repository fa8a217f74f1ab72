"""Plain-object builders for the domain tests: thresholds as in mappings/response-criteria.yaml, lesions,
measurements and timelines written in a line each. No fixtures, no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from service.domain.model import ImagingTimeline, Lesion, LesionRole, LesionStatus, Measurement, TimePoint
from service.domain.thresholds import ConfirmationMode, ResponseThresholds

DAY_0 = dt.date(2026, 1, 5)  # therapy start, as in /work/shared/examples

# The values of mappings/response-criteria.yaml; tests/unit/knowledge checks that the file says the same.
DEFAULTS = ResponseThresholds(
    measurable_min_mm=Decimal(10),
    measurable_slice_multiple=Decimal(2),
    measurable_slice_max_mm=Decimal(5),
    xray_measurable_min_mm=Decimal(20),
    node_pathological_min_mm=Decimal(10),
    node_measurable_min_mm=Decimal(15),
    max_targets=5,
    max_targets_per_organ=2,
    too_small_to_measure_mm=Decimal(5),
    pd_rel=Decimal("0.20"),
    pd_abs_mm=Decimal(5),
    pr_rel=Decimal("0.30"),
    pr_carry_forward=True,
    confirmation_mode=ConfirmationMode.NOT_REQUIRED,
    confirm_min_days=28,
    sd_min_days=42,
    var_abs_mm=Decimal(5),
    var_rel_same_context=Decimal("0.10"),
    var_rel_changed_context=Decimal("0.20"),
    var_rel_single_target_other_reader=Decimal("0.25"),
    borderline_pd_rel=Decimal("0.30"),
    borderline_pd_abs_mm=Decimal(10),
    context_slice_tolerance_mm=Decimal(1),
    small_lesion_mm=Decimal(15),
    iconfirm_min_days=28,
    iconfirm_max_days=56,
    iconfirm_tolerance_days=2,
    icpd_abs_mm=Decimal(5),
    new_lesion_max_targets=5,
    new_lesion_max_per_organ=2,
)
CONFIRMING = replace(DEFAULTS, confirmation_mode=ConfirmationMode.REQUIRED)


def day(n: int) -> dt.date:
    return DAY_0 + dt.timedelta(days=n)


def d(value: int | str | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def target(lesion_id: str, organ: str = "lung", **kw: Any) -> Lesion:
    return Lesion(lesion_id, organ, role=LesionRole.TARGET, **kw)


def nodal_target(lesion_id: str, **kw: Any) -> Lesion:
    return Lesion(lesion_id, "mediastinal node", is_nodal=True, role=LesionRole.TARGET, **kw)


def non_target(lesion_id: str, organ: str = "bone", **kw: Any) -> Lesion:
    return Lesion(lesion_id, organ, role=LesionRole.NON_TARGET, **kw)


def new(lesion_id: str, organ: str = "liver", **kw: Any) -> Lesion:
    return Lesion(lesion_id, organ, **kw)


def mm(lesion_id: str, size: int | str | Decimal, **kw: Any) -> Measurement:
    return Measurement(lesion_id, diameter_mm=d(size), **kw)


def sa(lesion_id: str, short_axis: int | str | Decimal, **kw: Any) -> Measurement:
    return Measurement(lesion_id, short_axis_mm=d(short_axis), **kw)


def seen(lesion_id: str, status: LesionStatus = LesionStatus.PRESENT, **kw: Any) -> Measurement:
    return Measurement(lesion_id, status=status, **kw)


def tp(on_day: int, *measurements: Measurement, **kw: Any) -> TimePoint:
    return TimePoint(day(on_day), tuple(measurements), **kw)


def timeline(lesions: Sequence[Lesion], *time_points: TimePoint) -> ImagingTimeline:
    return ImagingTimeline(tuple(lesions), tuple(time_points), DAY_0)


def target_series(
    *sizes: Sequence[int | str | Decimal], days: Sequence[int] | None = None, scale: Decimal = Decimal(1)
) -> ImagingTimeline:
    """Non-nodal targets T1..Tn in distinct organs, one row of sizes per time point (baseline first).

    ``scale`` converts the numbers written here into millimetres (``Decimal(10)`` for sizes written in cm).
    """
    count = len(sizes[0])
    lesions = [target(f"T{i + 1}", organ=f"organ-{i + 1}") for i in range(count)]
    on_days = days if days is not None else [-7 + 56 * k for k in range(len(sizes))]
    points = [
        tp(on_day, *(mm(f"T{i + 1}", d(size) * scale) for i, size in enumerate(row)))
        for on_day, row in zip(on_days, sizes, strict=True)
    ]
    return timeline(lesions, *points)
