"""Which lesions are targets, non-targets or new: the roles sent, or a RECIST 1.1 selection (M1-M4).

Roles are fixed at baseline. When the sender gave no role to any baseline lesion, the service selects the
targets itself and says so (flag ``TARGETS_SELECTED_BY_SERVICE``). A lesion first seen after baseline is
new (L1), whatever role was sent for it, because targets and non-targets can only be chosen at baseline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.domain.measurability import Presence, is_measurable, organ_group, presence, recorded_size
from service.domain.model import ImagingTimeline, Lesion, LesionRole, Measurement, TimePoint
from service.domain.rules import Flag, Rule
from service.domain.thresholds import ResponseThresholds


@dataclass(frozen=True, slots=True)
class BaselineSelection:
    """The roles in force for the whole timeline, and how they were decided."""

    baseline: TimePoint
    targets: tuple[Lesion, ...]
    non_targets: tuple[Lesion, ...]
    new: tuple[Lesion, ...]
    rules: tuple[Rule, ...]
    flags: tuple[Flag, ...]

    @property
    def selected_by_service(self) -> bool:
        return Flag.TARGETS_SELECTED_BY_SERVICE in self.flags


def select_baseline(timeline: ImagingTimeline, thresholds: ResponseThresholds) -> BaselineSelection:
    """Assign every lesion of the timeline its role (M4; L1 for lesions first seen after baseline)."""
    baseline = timeline.ordered[0]
    lesions = _by_id(timeline.lesions)
    on_baseline = [les for les in lesions if _is_baseline_disease(les, baseline, thresholds)]
    seen = {les.lesion_id for les in on_baseline}  # a timeline's lesion ids are unique
    later = tuple(les for les in lesions if les.lesion_id not in seen)
    if any(les.role in (LesionRole.TARGET, LesionRole.NON_TARGET) for les in on_baseline):
        targets = tuple(les for les in on_baseline if les.role is LesionRole.TARGET)
        others = tuple(les for les in on_baseline if les.role is not LesionRole.TARGET)
        return BaselineSelection(baseline, targets, others, later, (Rule.M4,), ())
    chosen = choose_targets([(les, _single(les, baseline)) for les in on_baseline], thresholds)
    chosen_ids = {les.lesion_id for les in chosen}
    non_targets = tuple(les for les in on_baseline if les.lesion_id not in chosen_ids)
    rules = (Rule.M1, Rule.M2, Rule.M3, Rule.M4)
    return BaselineSelection(baseline, chosen, non_targets, later, rules, (Flag.TARGETS_SELECTED_BY_SERVICE,))


def choose_targets(
    candidates: Sequence[tuple[Lesion, Measurement]],
    thresholds: ResponseThresholds,
    *,
    max_total: int | None = None,
    max_per_organ: int | None = None,
) -> tuple[Lesion, ...]:
    """M4 (and I5 for new lesions): measurable lesions, largest first, covering the involved organs.

    RECIST 1.1 asks for targets "representative of all involved organs", so the largest lesion of each organ
    is taken first (organs ordered by their largest lesion), then the free places go to the largest of the
    rest, never more than the per-organ limit; all nodes are one organ [1][3]. Ties go by lesion id, so the
    order in which lesions arrive never changes the choice.
    """
    total = thresholds.max_targets if max_total is None else max_total
    per_organ = thresholds.max_targets_per_organ if max_per_organ is None else max_per_organ
    ranked = _largest_first([(les, m) for les, m in candidates if is_measurable(les, m, thresholds)])
    firsts = _first_of_each_organ(ranked)
    chosen: list[Lesion] = []
    for lesion in [*firsts, *(les for les in ranked if les not in firsts)]:
        same_organ = sum(organ_group(c) == organ_group(lesion) for c in chosen)
        if len(chosen) < total and same_organ < per_organ:
            chosen.append(lesion)
    return tuple(sorted(chosen, key=lambda les: les.lesion_id))


def _largest_first(candidates: Iterable[tuple[Lesion, Measurement]]) -> list[Lesion]:
    ordered = sorted(candidates, key=lambda pair: (-(recorded_size(*pair) or 0), pair[0].lesion_id))
    return [lesion for lesion, _ in ordered]


def _first_of_each_organ(ranked: list[Lesion]) -> list[Lesion]:
    seen: dict[str, Lesion] = {}
    for lesion in ranked:
        seen.setdefault(organ_group(lesion), lesion)
    return list(seen.values())


def _is_baseline_disease(lesion: Lesion, baseline: TimePoint, thresholds: ResponseThresholds) -> bool:
    """A lesion recorded at baseline with a target or non-target role as sent, or else not gone there
    (M2: an unassigned node below 10 mm short axis is normal and not recorded)."""
    measurements = baseline.of(lesion.lesion_id)
    if not measurements:
        return False
    if lesion.role in (LesionRole.TARGET, LesionRole.NON_TARGET):
        return True
    return presence(lesion, measurements, thresholds) is not Presence.GONE


def _single(lesion: Lesion, baseline: TimePoint) -> Measurement:
    """The baseline measurement used for ranking; fragments at baseline are ranked by their largest part."""
    return max(baseline.of(lesion.lesion_id), key=lambda m: recorded_size(lesion, m) or 0)


def _by_id(lesions: Iterable[Lesion]) -> list[Lesion]:
    return sorted(lesions, key=lambda les: les.lesion_id)
