"""RECIST 1.1 over a patient's imaging timeline: one :class:`TimePointResponse` per follow-up.

The time points are evaluated in date order; what one time point needs from the earlier ones (baseline and
nadir sums, a PR to carry forward, which lesions had gone, when a new lesion was first seen) is kept in a
:class:`_Course`. Best overall response is in :mod:`service.domain.recist_best`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from service.domain.baseline import BaselineSelection, select_baseline
from service.domain.measurability import ZERO, Presence, presence, recorded_size
from service.domain.model import ImagingTimeline, Lesion, MarkerStatus, TimePoint
from service.domain.new_lesions import NewLesionAssessment, assess_new_lesions, has_pet
from service.domain.non_target import assess_non_targets
from service.domain.overall import overall_response
from service.domain.response import (
    DatedResponse,
    NewLesions,
    NonTargetResponse,
    OverallResponse,
    ProgressionSource,
    TargetResponse,
    TimePointResponse,
)
from service.domain.rules import Flag, Rule
from service.domain.targets import TargetReference, assess_targets, target_values
from service.domain.thresholds import ConfirmationMode, ResponseThresholds


@dataclass(frozen=True, slots=True)
class RecistEvaluation:
    selection: BaselineSelection
    baseline_sum_mm: Decimal | None
    time_points: tuple[TimePointResponse, ...]

    @property
    def dated(self) -> tuple[DatedResponse, ...]:
        return tuple(DatedResponse.of(tp) for tp in self.time_points)


def evaluate_recist(
    timeline: ImagingTimeline,
    thresholds: ResponseThresholds,
    markers: Mapping[dt.date, MarkerStatus] | None = None,
) -> RecistEvaluation:
    """RECIST 1.1 time-point responses for every follow-up of the timeline (sections 1.1-1.5).

    ``markers`` gives the tumour-marker status on a time point's date (N1); a missing date means the
    markers were not assessed.
    """
    selection = select_baseline(timeline, thresholds)
    course = _Course.start(timeline, selection, thresholds)
    responses = []
    for time_point in timeline.ordered[1:]:
        status = (markers or {}).get(time_point.date, MarkerStatus.NOT_ASSESSED)
        response = _evaluate_time_point(course, time_point, status, thresholds)
        course.advance(time_point, response, thresholds)
        responses.append(response)
    return RecistEvaluation(selection, course.baseline_mm if selection.targets else None, tuple(responses))


def with_markers(
    evaluation: RecistEvaluation,
    timeline: ImagingTimeline,
    thresholds: ResponseThresholds,
    markers: Mapping[dt.date, MarkerStatus],
) -> RecistEvaluation:
    """``evaluation``, made without markers, under the tumour-marker statuses. Markers enter only through
    N1 (non-targets all gone are a CR, or Non-CR/non-PD with a marker above the ULN), and a non-target
    response reads no earlier time point: where no time point has both, the evaluation stands as it is."""
    if any(
        tp.non_target is NonTargetResponse.CR and markers.get(tp.date) is MarkerStatus.ABOVE_ULN
        for tp in evaluation.time_points
    ):
        return evaluate_recist(timeline, thresholds, markers)
    return evaluation


def _evaluate_time_point(
    course: _Course, time_point: TimePoint, markers: MarkerStatus, thresholds: ResponseThresholds
) -> TimePointResponse:
    sel = course.selection
    targets = assess_targets(sel.targets, time_point, course.reference(thresholds), thresholds)
    non_target = assess_non_targets(sel.non_targets, time_point, markers, thresholds)
    new = assess_new_lesions(sel.new, time_point, course.sizes, course.baseline_has_pet, thresholds)
    overall, table = overall_response(targets.response, non_target.response, new.status)
    rules = [*targets.rules, *non_target.rules, *new.rules, table]
    flags = [*targets.flags, *new.flags]
    sources = _progression_sources(targets.response, non_target.response, new.status)
    if course.reappeared(time_point, thresholds):
        rules.append(Rule.T6)  # T6: a lesion that comes back is PD only after a definite CR
        if course.last_overall is OverallResponse.CR:
            sources.append(ProgressionSource.REAPPEARANCE_AFTER_CR)
            overall, more_flags = _reappearance_after_cr(overall)
            flags += more_flags
    progression_date, date_rules = course.progression_date(time_point, overall, new)
    return TimePointResponse(
        date=time_point.date,
        study_id=time_point.study_id,
        overall=overall,
        target=targets.response,
        non_target=non_target.response,
        new_lesions=new.status,
        new_lesion_ids=new.unequivocal,
        equivocal_new_lesion_ids=new.equivocal,
        sums=targets.sums,
        target_sizes=targets.sizes,
        progression_sources=tuple(sources),
        progression_date=progression_date,
        rules=tuple(dict.fromkeys([*rules, *date_rules])),
        flags=tuple(dict.fromkeys(flags)) if flags else (),
    )


def _reappearance_after_cr(overall: OverallResponse) -> tuple[OverallResponse, list[Flag]]:
    """T6 and Table 3 footnote a: after a CR, disease seen again is PD; when nothing else made it PD, the
    CR may have been doubtful, so a clinician must review it (REVIEW_CR_VALIDITY)."""
    review = [] if overall is OverallResponse.PD else [Flag.REVIEW_CR_VALIDITY]
    return OverallResponse.PD, review


def _progression_sources(
    target: TargetResponse, non_target: NonTargetResponse, new: NewLesions
) -> list[ProgressionSource]:
    sources = []
    if target is TargetResponse.PD:
        sources.append(ProgressionSource.TARGET_SUM)
    if non_target is NonTargetResponse.PD:
        sources.append(ProgressionSource.NON_TARGET)
    if new is NewLesions.UNEQUIVOCAL:
        sources.append(ProgressionSource.NEW_LESION)
    return sources


@dataclass
class _Course:
    """What later time points need to know about the earlier ones (mutable, private to one evaluation)."""

    selection: BaselineSelection
    baseline_has_pet: bool
    baseline_mm: Decimal
    nadir_mm: Decimal
    nadir_date: dt.date
    previous_mm: Decimal
    pr_assigned_on: dt.date | None = None
    pr_confirmed: bool = False
    last_overall: OverallResponse | None = None
    gone: set[str] = field(default_factory=set)  # the lesions last seen gone (T6)
    sizes: dict[str, Decimal] = field(default_factory=dict)
    first_equivocal: dict[str, dt.date] = field(default_factory=dict)
    baseline_disease: tuple[Lesion, ...] = ()  # targets and non-targets, gathered once (T6)
    selected: tuple[Lesion, ...] = ()  # and the new lesions: what each follow-up remembers

    @classmethod
    def start(
        cls, timeline: ImagingTimeline, selection: BaselineSelection, thresholds: ResponseThresholds
    ) -> _Course:
        values = target_values(selection.targets, selection.baseline, thresholds).values()
        baseline_mm = sum((v.mm for v in values if v.mm is not None), ZERO)
        date = selection.baseline.date
        course = cls(selection, has_pet(selection.baseline), baseline_mm, baseline_mm, date, baseline_mm)
        course.baseline_disease = (*selection.targets, *selection.non_targets)
        course.selected = (*course.baseline_disease, *selection.new)
        course._remember(timeline.lesions, selection.baseline, thresholds)
        return course

    def reference(self, thresholds: ResponseThresholds) -> TargetReference:
        """T5 applies once a PR was assigned, and confirmed where confirmation is required."""
        confirmed = self.pr_confirmed or thresholds.confirmation_mode is ConfirmationMode.NOT_REQUIRED
        carried = thresholds.pr_carry_forward and self.pr_assigned_on is not None and confirmed
        return TargetReference(self.baseline_mm, self.nadir_mm, self.nadir_date, self.previous_mm, carried)

    def reappeared(self, time_point: TimePoint, thresholds: ResponseThresholds) -> bool:
        """T6: a target or non-target that had gone is present again."""
        if not self.gone:
            return False
        return any(
            les.lesion_id in self.gone
            and presence(les, time_point.of(les.lesion_id), thresholds) is Presence.PRESENT
            for les in self.baseline_disease
        )

    def progression_date(
        self, time_point: TimePoint, overall: OverallResponse, new: NewLesionAssessment
    ) -> tuple[dt.date | None, tuple[Rule, ...]]:
        """L2/L3: PD confirmed on a new lesion dates back to the first scan that showed it."""
        if overall is not OverallResponse.PD:
            return None, ()
        earlier = [self.first_equivocal[i] for i in new.unequivocal if i in self.first_equivocal]
        if not earlier:
            return time_point.date, ()
        return min(earlier), (Rule.L2,)

    def advance(
        self, time_point: TimePoint, response: TimePointResponse, thresholds: ResponseThresholds
    ) -> None:
        self._update_sums(response)
        self._update_partial_response(response, thresholds)
        if response.overall is not OverallResponse.NE:
            self.last_overall = response.overall
        for lesion_id in response.equivocal_new_lesion_ids:
            self.first_equivocal.setdefault(lesion_id, time_point.date)
        self._remember(self.selected, time_point, thresholds)

    def _update_sums(self, response: TimePointResponse) -> None:
        """S6: the nadir is the smallest sum so far, baseline included, from evaluable time points only."""
        sums = response.sums
        if sums is None or sums.partial:
            return
        self.previous_mm = sums.sum_mm
        if sums.sum_mm < self.nadir_mm:
            self.nadir_mm, self.nadir_date = sums.sum_mm, response.date

    def _update_partial_response(self, response: TimePointResponse, thresholds: ResponseThresholds) -> None:
        if response.target is TargetResponse.PD:
            self.pr_assigned_on, self.pr_confirmed = None, False
            return
        if response.target not in (TargetResponse.PR, TargetResponse.CR) or Rule.T5 in response.rules:
            return
        if self.pr_assigned_on is None:
            self.pr_assigned_on = response.date
        elif (response.date - self.pr_assigned_on).days >= thresholds.confirm_min_days:
            self.pr_confirmed = True

    def _remember(
        self, lesions: tuple[Lesion, ...], time_point: TimePoint, thresholds: ResponseThresholds
    ) -> None:
        of, gone, sizes = time_point.of, self.gone, self.sizes
        for lesion in lesions:
            lesion_id = lesion.lesion_id
            measurements = of(lesion_id)
            if not measurements:
                continue  # not seen on this study: its presence is unknown and it has no size
            state = presence(lesion, measurements, thresholds)
            if state is Presence.GONE:
                gone.add(lesion_id)
            elif state is Presence.PRESENT:
                gone.discard(lesion_id)
            if len(measurements) == 1:  # the usual case, without a generator
                size = recorded_size(lesion, measurements[0])
            else:
                found = (s for m in measurements if (s := recorded_size(lesion, m)) is not None)
                size = max(found, default=None)
            if size is not None:
                sizes[lesion_id] = size
