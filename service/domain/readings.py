"""Section 6 step 2 and step 4: what the markers, ctDNA, MRD and performance status say (K1-K12), and the
progression pattern (P1-P8), read for one imaging time point."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from service.domain.assessment import MarkerPoint
from service.domain.assessment_parts import MarkerReading
from service.domain.ctdna import CtdnaThresholds, assess_ctdna, assess_mrd
from service.domain.imaging_response import ImagingResponse
from service.domain.markers import CeaThresholds, ImagingInterval, ImagingVerdict, assess_cea
from service.domain.model import ImagingTimeline, Lesion, LesionRole, LesionStatus, Measurement
from service.domain.neuroendocrine import assess_neuroendocrine
from service.domain.pattern_sites import SiteVocabulary, classify_site
from service.domain.patterns import LesionCourse, PatternAssessment, PatternThresholds, assess_pattern
from service.domain.performance import PerformanceThresholds, assess_performance
from service.domain.resistance_kb import ResistanceKnowledge
from service.domain.response import ProgressionSource, TimePointResponse
from service.domain.rules import Flag, Rule
from service.domain.timeline import PatientFacts

_NO_SITES = SiteVocabulary()


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
    """K1-K16 for the time point; the CEA interval starts at the nadir scan (K4); K13 judges this point."""
    since = point.sums.nadir_date if point.sums else point.date
    pd = verdict is not ImagingVerdict.NOT_PD
    drivers = resistance.drivers_for(therapy_class) if therapy_class else ()
    imaging = ImagingInterval(verdict, since, point.date)
    cea = assess_cea(facts.markers, thresholds.cea, therapy_started_on=start, imaging=imaging)
    neuroendocrine = assess_neuroendocrine(facts.markers, thresholds.cea)  # K16: "same rule as K2"
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
    parts = (cea, neuroendocrine, ctdna, performance, mrd)
    rise = Flag.MARKER_RISE_WITHOUT_PROGRESSION in cea.flags and cea.rise is not None
    return MarkerReading(
        flags=tuple(f for part in parts for f in part.flags),
        rules=tuple(r for part in parts for r in part.rules),
        ctdna=tuple(MarkerPoint(d.on, d.tracked_mean, None, d.sources[0]) for d in ctdna.draws if d.sources),
        evidence=tuple(s for part in parts for s in part.evidence),
        ecog=performance.latest.score if performance.latest else None,
        cea_corroborates=cea.corroborates,
        marker_rise_on=cea.rise.observed_on if rise and cea.rise else None,
    )


def read_pattern(
    imaging: ImagingResponse,
    timeline: ImagingTimeline,
    point: TimePointResponse,
    thresholds: PatternThresholds,
) -> PatternAssessment:
    """P1-P7 from each lesion's own course up to the time point: targets by size against their own nadir,
    non-targets by the reader's progression status, new lesions as progressing sites; P8 names PD from new
    lesions only (each unequivocal new lesion is a site; the V flags are already left out by V1/V2)."""
    pattern = assess_pattern(lesion_courses(imaging, timeline, point, thresholds.sites), thresholds)
    if point.progression_sources != (ProgressionSource.NEW_LESION,):
        return pattern
    return replace(pattern, rules=(*pattern.rules, Rule.P8))


def lesion_courses(
    imaging: ImagingResponse,
    timeline: ImagingTimeline,
    point: TimePointResponse,
    sites: SiteVocabulary = _NO_SITES,
) -> list[LesionCourse]:
    targets = {lesion.lesion_id: lesion for lesion in imaging.recist.selection.targets}
    sizes = _target_sizes(imaging, targets, point)
    current = dict(point.target_sizes)
    courses = []
    for lesion in timeline.lesions:
        lid, kind = lesion.lesion_id, classify_site(lesion.site_codes, lesion.site_text, sites)
        if lid in targets:
            nadir = min(sizes.get(lid, []), default=None)
            courses.append(LesionCourse(lid, lesion.organ, nadir, current.get(lid), site=kind))
        elif lid in point.new_lesion_ids or lesion.role is LesionRole.NEW:
            courses.append(LesionCourse(lid, lesion.organ, new=lid in point.new_lesion_ids, site=kind))
        else:
            progressed = _progressed(timeline, point, lid)
            courses.append(LesionCourse(lid, lesion.organ, unequivocal_progression=progressed, site=kind))
    return courses


def _target_sizes(
    imaging: ImagingResponse, targets: dict[str, Lesion], point: TimePointResponse
) -> dict[str, list[Decimal]]:
    """Each target's sizes from the baseline up to the time point (never a later scan)."""
    sizes: dict[str, list[Decimal]] = {}
    for m in imaging.recist.selection.baseline.measurements:
        if m.lesion_id in targets and (mm := _size(m, targets[m.lesion_id].is_nodal)) is not None:
            sizes.setdefault(m.lesion_id, []).append(mm)
    for tp in imaging.recist.time_points:
        if tp.date <= point.date:
            for lesion_id, mm in tp.target_sizes:
                sizes.setdefault(lesion_id, []).append(mm)
    return sizes


def _size(measurement: Measurement, nodal: bool) -> Decimal | None:
    """S1: a node by its short axis (the one diameter given when no short axis is), else the longest."""
    return (measurement.short_axis_mm or measurement.diameter_mm) if nodal else measurement.diameter_mm


# P1: the reader's call of NT progression; a further increase after iUPD (I9) is more of the same
_PROGRESSED = frozenset({LesionStatus.UNEQUIVOCAL_PROGRESSION, LesionStatus.FURTHER_INCREASE})


def _progressed(timeline: ImagingTimeline, point: TimePointResponse, lesion_id: str) -> bool:
    current = [tp for tp in timeline.time_points if tp.date == point.date]
    return any(m.status in _PROGRESSED for tp in current for m in tp.of(lesion_id))
