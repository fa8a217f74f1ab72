"""Section 6 step 2 and step 4: what the markers, ctDNA, MRD and performance status say (K1-K12), and the
progression pattern (P1-P4), read for one imaging time point."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from service.domain.assessment import MarkerPoint
from service.domain.assessment_parts import MarkerReading
from service.domain.ctdna import CtdnaThresholds, assess_ctdna, assess_mrd
from service.domain.imaging_response import ImagingResponse
from service.domain.markers import CeaThresholds, ImagingInterval, ImagingVerdict, assess_cea
from service.domain.model import ImagingTimeline, LesionRole, LesionStatus, Measurement
from service.domain.patterns import LesionCourse, PatternAssessment, PatternThresholds, assess_pattern
from service.domain.performance import PerformanceThresholds, assess_performance
from service.domain.resistance_kb import ResistanceKnowledge
from service.domain.response import TimePointResponse
from service.domain.rules import Flag
from service.domain.timeline import PatientFacts


@dataclass(frozen=True, slots=True)
class ReadingThresholds:
    cea: CeaThresholds
    ctdna: CtdnaThresholds
    performance: PerformanceThresholds
    patterns: PatternThresholds


def imaging_verdict(point: TimePointResponse, flags: list[Flag]) -> ImagingVerdict:
    if Flag.BORDERLINE_PD in flags:
        return ImagingVerdict.BORDERLINE_PD
    return ImagingVerdict.PD if point.overall.value == "PD" else ImagingVerdict.NOT_PD


def read_markers(  # one input per reading the section names
    facts: PatientFacts,
    point: TimePointResponse,
    verdict: ImagingVerdict,
    start: dt.date | None,
    thresholds: ReadingThresholds,
    resistance: ResistanceKnowledge,
    therapy_class: str | None,
) -> MarkerReading:
    """K1-K12 for the time point; the CEA interval starts at the nadir scan (K4)."""
    since = point.sums.nadir_date if point.sums else point.date
    pd = verdict is not ImagingVerdict.NOT_PD
    drivers = resistance.drivers_for(therapy_class) if therapy_class else ()
    cea = assess_cea(
        facts.markers, thresholds.cea, therapy_started_on=start, imaging=ImagingInterval(verdict, since)
    )
    ctdna = assess_ctdna(
        facts.variants,
        thresholds.ctdna,
        therapy_started_on=start,
        resistance_genes=resistance.resistance_genes,
        driver_genes=frozenset(gene for d in drivers for gene in d.alteration.genes),
    )
    performance = assess_performance(facts.performance, thresholds.performance, therapy_started_on=start,
                                     objective_pd=pd)  # fmt: skip
    mrd = assess_mrd(facts.mrd, thresholds.ctdna, imaging_pd=pd)
    parts = (cea, ctdna, performance, mrd)
    return MarkerReading(
        flags=tuple(f for part in parts for f in part.flags),
        rules=tuple(r for part in parts for r in part.rules),
        ctdna=tuple(MarkerPoint(d.on, d.tracked_mean, None, d.sources[0]) for d in ctdna.draws if d.sources),
        evidence=tuple(s for part in parts for s in part.evidence),
    )


def read_pattern(
    imaging: ImagingResponse,
    timeline: ImagingTimeline,
    point: TimePointResponse,
    thresholds: PatternThresholds,
) -> PatternAssessment:
    """P1-P4 from each lesion's own course up to the time point: targets by size against their own nadir,
    non-targets by unequivocal progression, new lesions as progressing sites."""
    return assess_pattern(lesion_courses(imaging, timeline, point), thresholds)


def lesion_courses(
    imaging: ImagingResponse, timeline: ImagingTimeline, point: TimePointResponse
) -> list[LesionCourse]:
    selection = imaging.recist.selection
    targets = {lesion.lesion_id: lesion for lesion in selection.targets}
    sizes: dict[str, list[Decimal]] = {}
    for m in selection.baseline.measurements:
        if m.lesion_id in targets and (mm := _size(m, targets[m.lesion_id].is_nodal)) is not None:
            sizes.setdefault(m.lesion_id, []).append(mm)
    for tp in imaging.recist.time_points:
        if tp.date <= point.date:
            for lesion_id, mm in tp.target_sizes:
                sizes.setdefault(lesion_id, []).append(mm)
    current = dict(point.target_sizes)
    courses = []
    for lesion in timeline.lesions:
        lid = lesion.lesion_id
        if lid in targets:
            courses.append(
                LesionCourse(lid, lesion.organ, min(sizes.get(lid, []), default=None), current.get(lid))
            )
        elif lid in point.new_lesion_ids or lesion.role is LesionRole.NEW:
            courses.append(LesionCourse(lid, lesion.organ, new=lid in point.new_lesion_ids))
        else:
            unequivocal = _unequivocal(timeline, point, lid)
            courses.append(LesionCourse(lid, lesion.organ, unequivocal_progression=unequivocal))
    return courses


def _size(measurement: Measurement, nodal: bool) -> Decimal | None:
    """S1: a node by its short axis (the one diameter given when no short axis is), else the longest."""
    return (measurement.short_axis_mm or measurement.diameter_mm) if nodal else measurement.diameter_mm


def _unequivocal(timeline: ImagingTimeline, point: TimePointResponse, lesion_id: str) -> bool:
    current = [tp for tp in timeline.time_points if tp.date == point.date]
    return any(m.status is LesionStatus.UNEQUIVOCAL_PROGRESSION for tp in current for m in tp.of(lesion_id))
