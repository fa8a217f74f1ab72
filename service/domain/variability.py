"""Measurement-variability flags V1-V4 (CLINICAL-RULES.md 3.2): they add flags, never change a category.

Readings taken where the text leaves room:
- V1's comparator is the nadir "for increases" and the previous value "for decreases"; the direction is
  taken against the previous evaluable sum. The relative band is 10 % when readers and scanners match,
  25 % for a single target read by a different reader, and 20 % for any other change of reader or scanner
  (the text gives 20 % for two or more targets; a single target on another scanner with the same reader is
  not covered, and 20 % is the nearer published band [7]). A reader or scanner that is not recorded on
  both studies is not counted as a change.
- V1 and V2 are skipped when a target is missing (S7), because the sum is then partial.
- V1 (amended) is never raised with a PD, whatever drove it: "never ... when the overall response is PD (or
  iUPD/iCPD) driven by a new lesion or by unequivocal NT progression", and "with a PD that comes from targets
  only, V2 is the flag, not V1". iUPD and iCPD rest on a RECIST PD of the same time point, so they are
  covered, except an iCPD confirmed by a non-target ``further-increase`` alone (I9): that call is not RECIST
  unequivocal progression, the RECIST time point is then not PD and V1 may still describe the targets.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from service.domain.irecist_types import IrecistResponse, IrecistTimePoint
from service.domain.model import ImagingTimeline, Lesion, Measurement, TimePoint
from service.domain.recist import RecistEvaluation
from service.domain.response import OverallResponse, ProgressionSource, SumOfDiameters, TimePointResponse
from service.domain.rules import Flag, Rule
from service.domain.thresholds import ResponseThresholds

# What can differ between two studies (V3), as named in VariabilityAssessment.context_changes
READER, SCANNER, MODALITY = "reader", "scanner", "modality"
SLICE, CONTRAST = "slice-thickness", "contrast-phase"


class VariabilityAssessment(msgspec.Struct, frozen=True, gc=False):
    """The V flags of one time point and the numbers behind V1 (comparator, change, band used)."""

    response: TimePointResponse
    flags: tuple[Flag, ...]
    rules: tuple[Rule, ...]
    comparator_mm: Decimal | None
    change_mm: Decimal | None
    relative_band: Decimal | None
    context_changes: tuple[str, ...]
    small_targets: tuple[str, ...]


def assess_variability(
    timeline: ImagingTimeline,
    evaluation: RecistEvaluation,
    thresholds: ResponseThresholds,
    *,
    since: dt.date | None = None,
) -> tuple[VariabilityAssessment, ...]:
    """V1-V4 for every follow-up of a RECIST evaluation, or for those dated on or after ``since`` only (an
    assessment reports the V flags of its latest date; the earlier follow-ups still give V1 its previous
    evaluable sum)."""
    by_date = {tp.date: tp for tp in timeline.ordered}
    targets = evaluation.selection.targets
    previous_dates = [evaluation.selection.baseline.date]
    results = []
    for response in evaluation.time_points:
        if since is None or response.date >= since:
            results.append(_assess(response, by_date, targets, previous_dates[-1], thresholds))
        if response.sums is not None and not response.sums.partial:
            previous_dates.append(response.date)
    return tuple(results)


def _assess(
    response: TimePointResponse,
    by_date: dict[dt.date, TimePoint],
    targets: tuple[Lesion, ...],
    previous_date: dt.date,
    thresholds: ResponseThresholds,
) -> VariabilityAssessment:
    current, sums = by_date[response.date], response.sums
    if sums is None:
        return VariabilityAssessment(response, (), (), None, None, None, (), ())
    nadir_changes = context_changes(targets, current, by_date[sums.nadir_date], thresholds)
    increase = sums.sum_mm >= sums.previous_mm
    compared_on = sums.nadir_date if increase else previous_date
    changes = nadir_changes
    if compared_on != sums.nadir_date:  # a fall is compared with the previous study
        changes = context_changes(targets, current, by_date[compared_on], thresholds)
    band = _relative_band(targets, changes, thresholds)
    comparator = sums.nadir_mm if increase else sums.previous_mm
    small = _small_targets(response, thresholds)
    fired = {
        Rule.V1: _describes_target_change(response, sums)
        and within_measurement_error(sums.sum_mm, comparator, band, thresholds),
        Rule.V2: not sums.partial and is_borderline_progression(response, sums, thresholds),
        Rule.V3: bool(nadir_changes),
        Rule.V4: bool(small),
    }
    rules = tuple(rule for rule, hit in fired.items() if hit)
    flags = tuple(_FLAG_OF[rule] for rule in rules)
    change = sums.sum_mm - comparator
    return VariabilityAssessment(response, flags, rules, comparator, change, band, nadir_changes, small)


def beyond_unconfirmed_progression(
    assessments: tuple[VariabilityAssessment, ...], irecist: Sequence[IrecistTimePoint]
) -> tuple[VariabilityAssessment, ...]:
    """V1 (amended) under iRECIST: no WITHIN_MEASUREMENT_ERROR on a time point that is iUPD or iCPD, even when
    its own RECIST call is not PD (an NT progression followed by an ``equivocal`` call stays iUPD, T50 B)."""
    progressed = {p.date for p in irecist if p.category in (IrecistResponse.IUPD, IrecistResponse.ICPD)}
    return tuple(_without_v1(a) if a.response.date in progressed else a for a in assessments)


def _without_v1(assessment: VariabilityAssessment) -> VariabilityAssessment:
    flags = tuple(f for f in assessment.flags if f is not Flag.WITHIN_MEASUREMENT_ERROR)
    return msgspec.structs.replace(
        assessment, flags=flags, rules=tuple(r for r in assessment.rules if r is not Rule.V1)
    )


_FLAG_OF = {
    Rule.V1: Flag.WITHIN_MEASUREMENT_ERROR,
    Rule.V2: Flag.BORDERLINE_PD,
    Rule.V3: Flag.MEASUREMENT_CONTEXT_CHANGED,
    Rule.V4: Flag.SMALL_LESION_VARIABILITY,
}


def _describes_target_change(response: TimePointResponse, sums: SumOfDiameters) -> bool:
    """V1 (amended) describes the target sum only, and never a PD: a new lesion or unequivocal NT progression
    is not a measurement (P8), and a PD from the targets is V2's to judge."""
    return not sums.partial and response.overall is not OverallResponse.PD


def within_measurement_error(
    sum_mm: Decimal, comparator_mm: Decimal, band: Decimal, thresholds: ResponseThresholds
) -> bool:
    """V1: |change| < VAR_ABS_MM, or |% change| < the band (compared by multiplication; no % at 0)."""
    change = abs(sum_mm - comparator_mm)
    return change < thresholds.var_abs_mm or change < band * comparator_mm


def is_borderline_progression(
    response: TimePointResponse, sums: SumOfDiameters, thresholds: ResponseThresholds
) -> bool:
    """V2: PD from the target sum alone, less than +10 mm or less than +30 % over the nadir."""
    if response.overall is not OverallResponse.PD:
        return False
    if response.progression_sources != (ProgressionSource.TARGET_SUM,):
        return False
    growth = sums.sum_mm - sums.nadir_mm
    return growth < thresholds.borderline_pd_abs_mm or growth < thresholds.borderline_pd_rel * sums.nadir_mm


def _relative_band(
    targets: tuple[Lesion, ...], changes: tuple[str, ...], thresholds: ResponseThresholds
) -> Decimal:
    """V1's band for the changes between a study and its comparator (V3)."""
    if READER in changes and len(targets) == 1:
        return thresholds.var_rel_single_target_other_reader
    if READER in changes or SCANNER in changes:
        return thresholds.var_rel_changed_context
    return thresholds.var_rel_same_context


def context_changes(
    targets: tuple[Lesion, ...], current: TimePoint, reference: TimePoint, thresholds: ResponseThresholds
) -> tuple[str, ...]:
    """V3: what differs between two studies for the same targets (scanner, slices beyond +-1 mm, ...)."""
    changed: set[str] = set()
    if _differs(current.modality, reference.modality):
        changed.add(MODALITY)
    for lesion in targets:
        for now in current.of(lesion.lesion_id):
            for then in reference.of(lesion.lesion_id):
                _add_measurement_changes(changed, now, then, thresholds)
    return tuple(sorted(changed))


def _add_measurement_changes(
    changed: set[str], now: Measurement, then: Measurement, thresholds: ResponseThresholds
) -> None:
    if _differs(now.reader, then.reader):
        changed.add(READER)
    if _differs(now.scanner, then.scanner):
        changed.add(SCANNER)
    if _differs(now.contrast_phase, then.contrast_phase):
        changed.add(CONTRAST)
    if _differs(now.modality, then.modality):
        changed.add(MODALITY)
    a, b = now.slice_thickness_mm, then.slice_thickness_mm
    if a is not None and b is not None and abs(a - b) > thresholds.context_slice_tolerance_mm:
        changed.add(SLICE)


def _differs(a: object, b: object) -> bool:
    return a is not None and b is not None and a != b


def _small_targets(response: TimePointResponse, thresholds: ResponseThresholds) -> tuple[str, ...]:
    """V4: targets still present but below 15 mm, where percentages vary most [6][8]."""
    return tuple(i for i, mm in response.target_sizes if 0 < mm < thresholds.small_lesion_mm)
