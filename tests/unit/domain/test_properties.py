"""Properties over random measurement series (hypothesis): zeros, single lesions, missing targets, nodes,
non-targets and a new lesion. Oracles are recomputed here from the raw numbers with ``Fraction``."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.imaging_response import ImagingResponse, evaluate_imaging_response
from service.domain.irecist_types import IrecistResponse
from service.domain.model import ImagingTimeline, Lesion, LesionRole, LesionStatus, Measurement, TimePoint
from service.domain.response import NonTargetResponse, OverallResponse, ProgressionSource
from tests.unit.domain.builders import DAY_0, DEFAULTS

NT_STATUSES = [
    LesionStatus.PRESENT,
    LesionStatus.ABSENT,
    LesionStatus.UNEQUIVOCAL_PROGRESSION,
    LesionStatus.NOT_EVALUATED,
    LesionStatus.EQUIVOCAL,
]
NEW_STATES = [None, LesionStatus.PRESENT, LesionStatus.EQUIVOCAL, LesionStatus.ABSENT]


@dataclass(frozen=True)
class Spec:
    """A random series: sizes in tenths of a millimetre (None: target not imaged), per time point."""

    nodal: tuple[bool, ...]
    days: tuple[int, ...]
    sizes: tuple[tuple[int | None, ...], ...]
    non_targets: tuple[tuple[LesionStatus, ...], ...]
    new: tuple[LesionStatus | None, ...]


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    targets = draw(st.integers(1, 4))
    points = draw(st.integers(2, 6))
    nodal = tuple(draw(st.lists(st.booleans(), min_size=targets, max_size=targets)))
    gaps = draw(st.lists(st.integers(1, 100), min_size=points - 1, max_size=points - 1))
    days = tuple(-7 + sum(gaps[:k]) for k in range(points))
    size = st.one_of(st.just(0), st.integers(0, 1500), st.just(None))
    baseline = tuple(draw(st.lists(st.integers(0, 1500), min_size=targets, max_size=targets)))
    later = draw(
        st.lists(
            st.lists(size, min_size=targets, max_size=targets).map(tuple),
            min_size=points - 1,
            max_size=points - 1,
        )
    )
    nt_count = draw(st.integers(0, 2))
    nt_row = st.lists(st.sampled_from(NT_STATUSES), min_size=nt_count, max_size=nt_count).map(tuple)
    non_targets = tuple(draw(st.lists(nt_row, min_size=points, max_size=points)))
    new = (None, *draw(st.lists(st.sampled_from(NEW_STATES), min_size=points - 1, max_size=points - 1)))
    return Spec(nodal, days, (baseline, *later), non_targets, tuple(new))


def build(
    spec: Spec, *, unit_to_mm: Decimal = Decimal(1), shuffle: random.Random | None = None
) -> ImagingTimeline:
    """The series as a timeline. Sizes are first written in a unit (``unit_to_mm`` 10 for cm) and then
    converted to mm exactly with that factor, as ingestion does with units.yaml."""
    lesions = [
        Lesion(f"T{i}", f"organ-{i}", is_nodal=n, role=LesionRole.TARGET) for i, n in enumerate(spec.nodal)
    ]
    lesions += [Lesion(f"N{i}", "bone", role=LesionRole.NON_TARGET) for i in range(len(spec.non_targets[0]))]
    lesions.append(Lesion("X", "liver"))
    points = [_time_point(spec, k, unit_to_mm, shuffle) for k in range(len(spec.days))]
    if shuffle is not None:
        shuffle.shuffle(lesions)
        shuffle.shuffle(points)
    return ImagingTimeline(tuple(lesions), tuple(points), DAY_0)


def _time_point(spec: Spec, k: int, unit_to_mm: Decimal, shuffle: random.Random | None) -> TimePoint:
    measurements = []
    for i, tenths in enumerate(spec.sizes[k]):
        if tenths is not None:
            written = Decimal(tenths) / 10 / unit_to_mm  # the number the sender wrote, in its unit
            size_mm = written * unit_to_mm
            field = "short_axis_mm" if spec.nodal[i] else "diameter_mm"
            measurements.append(Measurement(f"T{i}", **{field: size_mm}))  # type: ignore[arg-type]
    measurements += [Measurement(f"N{i}", status=s) for i, s in enumerate(spec.non_targets[k])]
    if spec.new[k] is not None:
        measurements.append(Measurement("X", diameter_mm=Decimal(12), status=spec.new[k]))  # type: ignore[arg-type]
    if shuffle is not None:
        shuffle.shuffle(measurements)
    return TimePoint(DAY_0 + dt.timedelta(days=spec.days[k]), tuple(measurements))


def evaluate(timeline: ImagingTimeline) -> ImagingResponse:
    return evaluate_imaging_response(timeline, DEFAULTS, immune_checkpoint_inhibitor=True)


def summary(result: ImagingResponse) -> tuple[object, ...]:
    """Everything a report shows, in a comparable form."""
    recist = [
        (r.date, r.overall, r.target, r.non_target, r.sums, r.rules, r.flags)
        for r in result.recist.time_points
    ]
    irecist = [(p.category, p.rules) for p in result.irecist or ()]
    flags = [v.flags for v in result.variability]
    return (recist, result.best, irecist, result.irecist_best, flags)


def raw_sum(spec: Spec, k: int) -> Fraction | None:
    row = spec.sizes[k]
    return None if any(v is None for v in row) else Fraction(sum(v for v in row if v is not None), 10)


@settings(max_examples=300, deadline=None)
@given(specs())
def test_random_series_evaluate_without_exception(spec: Spec) -> None:
    """Any series (zeros, one lesion, missing targets) evaluates: RECIST, BOR, V flags, iRECIST, iBOR."""
    result = evaluate(build(spec))
    assert len(result.recist.time_points) == len(spec.days) - 1
    assert result.best.category in OverallResponse


@settings(max_examples=300, deadline=None)
@given(specs())
def test_pd_is_always_explained(spec: Spec) -> None:
    """PD means +20 % and +5 mm over the nadir, a new lesion, non-target PD, or reappearance after CR."""
    responses = evaluate(build(spec)).recist.time_points
    for index, response in enumerate(responses):
        sources = set(response.progression_sources)
        assert (response.overall is OverallResponse.PD) == bool(sources)
        if ProgressionSource.TARGET_SUM in sources:
            assert response.sums is not None
            total, nadir = Fraction(response.sums.sum_mm), Fraction(response.sums.nadir_mm)
            assert total - nadir >= 5 and total * 100 >= nadir * 120
        if ProgressionSource.NEW_LESION in sources:
            assert response.new_lesion_ids == ("X",)
        if ProgressionSource.NON_TARGET in sources:
            assert response.non_target is NonTargetResponse.PD
        if ProgressionSource.REAPPEARANCE_AFTER_CR in sources:
            earlier = [r.overall for r in responses[:index] if r.overall is not OverallResponse.NE]
            assert earlier[-1] is OverallResponse.CR


@settings(max_examples=300, deadline=None)
@given(specs())
def test_nadir_is_the_smallest_complete_sum_so_far(spec: Spec) -> None:
    """S6 recomputed from the raw numbers: the nadir is the least of baseline and earlier complete sums."""
    responses = evaluate(build(spec)).recist.time_points
    complete = [raw_sum(spec, 0)]
    for k, response in enumerate(responses, start=1):
        assert response.sums is not None
        assert Fraction(response.sums.nadir_mm) == min(s for s in complete if s is not None)
        assert (raw_sum(spec, k) is None) == response.sums.partial
        complete.append(raw_sum(spec, k))


@settings(max_examples=200, deadline=None)
@given(specs(), st.integers(0, 2**32 - 1))
def test_lesion_and_time_point_order_never_changes_a_result(spec: Spec, seed: int) -> None:
    """Lesions, measurements and time points listed in another order give the same results."""
    shuffled = build(spec, shuffle=random.Random(seed))  # noqa: S311  # shuffles test input; no secrets here
    assert summary(evaluate(shuffled)) == summary(evaluate(build(spec)))


@settings(max_examples=200, deadline=None)
@given(specs())
def test_sizes_written_in_cm_give_the_same_result(spec: Spec) -> None:
    """The same series written in cm and converted exactly to mm gives the same results as in mm."""
    assert summary(evaluate(build(spec, unit_to_mm=Decimal(10)))) == summary(evaluate(build(spec)))


@settings(max_examples=200, deadline=None)
@given(specs(), st.sampled_from(["R1", "R2"]), st.sampled_from(["CT-A", "CT-B"]))
def test_measurement_context_never_changes_a_category(spec: Spec, reader: str, scanner: str) -> None:
    """V flags only add flags: who read the scan and on which scanner never changes a RECIST category."""
    plain = build(spec)
    points = tuple(
        TimePoint(p.date, tuple(_with_context(m, reader if i % 2 else "R0", scanner) for m in p.measurements))
        for i, p in enumerate(plain.ordered)
    )
    recontext = ImagingTimeline(plain.lesions, points, plain.treatment_start)
    before, after = evaluate(plain), evaluate(recontext)
    assert [r.overall for r in before.recist.time_points] == [r.overall for r in after.recist.time_points]
    assert before.best == after.best


def _with_context(measurement: Measurement, reader: str, scanner: str) -> Measurement:
    return Measurement(
        measurement.lesion_id,
        measurement.diameter_mm,
        measurement.short_axis_mm,
        measurement.status,
        reader=reader,
        scanner=scanner,
    )


@settings(max_examples=300, deadline=None)
@given(specs())
def test_icpd_only_follows_an_iupd(spec: Spec) -> None:
    """iRECIST never reaches iCPD without an earlier iUPD, and iUPD appears only on a RECIST PD."""
    points = evaluate(build(spec)).irecist or ()
    categories = [p.category for p in points]
    for index, point in enumerate(points):
        if point.category is IrecistResponse.ICPD:
            assert IrecistResponse.IUPD in categories[:index]
        if point.category is IrecistResponse.IUPD and point.iupd_date == point.date:
            assert point.recist.overall is OverallResponse.PD
