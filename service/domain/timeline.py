"""A patient's stored facts → the inputs the evaluation reads: the imaging timeline of the current line
of therapy, and the other facts up to the assessment date (FHIR-CONTRACT section 2, ``$evaluate``).

The current line comes from ``therapy_lines.py`` (R1-R11). Its baseline (R10) is the last imaging time point
on or before the line start (RECIST 1.1: baseline imaging precedes treatment, M4); earlier scans are left out.

Choices, each a reading of the rules where the facts leave room:
- Without any line the first time point is the baseline and its date stands in for the start.
- A lesion is identified by its identifier, else its BodyStructure reference, else the observation
  itself (then it is seen once). Its organ is its first site code; nodes are flagged separately (M4).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from service.domain import facts as f
from service.domain.model import (
    ImagingTimeline,
    Lesion,
    Measurement,
    Modality,
    TimePoint,
)
from service.domain.rules import Flag


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """One patient's facts by kind, each sorted by date."""

    lesions: tuple[f.LesionObservation, ...] = ()
    therapies: tuple[f.TherapyFact, ...] = ()
    conditions: tuple[f.CancerCondition, ...] = ()
    histologies: tuple[f.HistologyFact, ...] = ()
    variants: tuple[f.VariantFact, ...] = ()
    markers: tuple[f.MarkerResult, ...] = ()
    performance: tuple[f.PerformanceStatus, ...] = ()
    mrd: tuple[f.MrdResult, ...] = ()

    @classmethod
    def of(cls, facts: Iterable[object]) -> PatientFacts:
        by_kind: dict[type, list[object]] = {kind: [] for kind in _KINDS}
        for fact in facts:
            found = by_kind.get(type(fact))
            if found is not None:  # a fact of no known kind has no field to go to
                found.append(fact)
        sorted_lists = (sorted(found, key=_SORT_KEYS[kind]) for kind, found in by_kind.items())
        return cls(*map(tuple, sorted_lists))  # type: ignore[arg-type]  # one tuple per field, in order

    def up_to(self, as_of: dt.date) -> PatientFacts:
        """Only what is dated on or before ``as_of`` (undated facts are kept)."""
        kept = [tuple(x for x in getattr(self, name) if (_day(x) or as_of) <= as_of) for name in _FIELDS]
        return PatientFacts(*kept)

    @property
    def latest_date(self) -> dt.date | None:
        """The newest fact's date: each kind's last dated fact, as each is sorted by date (undated first)."""
        days = []
        for name in _FIELDS:
            for fact in reversed(getattr(self, name)):
                day = _day(fact)
                if day is not None:
                    days.append(day)
                    break
        return max(days, default=None)


_KINDS = (
    f.LesionObservation,
    f.TherapyFact,
    f.CancerCondition,
    f.HistologyFact,
    f.VariantFact,
    f.MarkerResult,
    f.PerformanceStatus,
    f.MrdResult,
)
_FIELDS = ("lesions", "therapies", "conditions", "histologies", "variants", "markers", "performance", "mrd")


def _day(fact: object) -> dt.date | None:
    for name in _DAY_NAMES:
        value = getattr(fact, name, None)
        if isinstance(value, dt.date):
            return value
    return None


def _sort_key(names: tuple[str, ...]) -> Callable[[object], dt.date]:
    """``_day(fact) or dt.date.min`` for a fact of a kind with the fields ``names``, read without looking
    for the date fields the kind lacks (each a failed attribute lookup)."""

    def key(fact: object) -> dt.date:
        for name in names:
            value = getattr(fact, name)
            if isinstance(value, dt.date):
                return value
        return dt.date.min

    return key


_DAY_NAMES = ("observed_on", "started_on", "authored_on", "onset_on")
_SORT_KEYS: dict[type, Callable[[object], dt.date]] = {
    kind: _sort_key(tuple(n for n in _DAY_NAMES if n in kind.__struct_fields__)) for kind in _KINDS
}


BASELINE_MAX_DAYS = 28  # R10 (M4: baseline imaging no more than 4 weeks before treatment)
BASELINE_AFTER_START_DAYS = 7  # R10: a scan up to a week after the start may stand in


@dataclass(frozen=True, slots=True)
class LineTimeline:
    """The imaging timeline of one line (R10) and the flags its baseline raised."""

    timeline: ImagingTimeline | None
    flags: tuple[Flag, ...] = ()


def imaging_timeline(
    observations: Sequence[f.LesionObservation], start: dt.date | None
) -> ImagingTimeline | None:
    """The imaging timeline from the baseline for this line on; None without any lesion observation, or when
    the line has no baseline (R10: its responses are then not evaluable)."""
    return line_timeline(observations, start).timeline


def line_timeline(observations: Sequence[f.LesionObservation], start: dt.date | None) -> LineTimeline:
    """R10: the baseline is the latest time point on or before the line start (flagged when more than 28 days
    before it), else the first one no more than 7 days after it (flagged); nadir, previous response and best
    response restart there. Without a line the first time point is the baseline."""
    groups: dict[str, list[tuple[str, f.LesionObservation]]] = {}
    by_lesion: dict[str, list[f.LesionObservation]] = {}
    for obs in observations:
        lesion_id = _lesion_id(obs)
        groups.setdefault(obs.timepoint_key, []).append((lesion_id, obs))
        by_lesion.setdefault(lesion_id, []).append(obs)
    points = sorted((_time_point(key, group) for key, group in groups.items()), key=lambda tp: tp.date)
    if not points:
        return LineTimeline(None)
    baseline, flags = _baseline_index(points, start)
    if baseline is None:
        return LineTimeline(None, flags)
    kept = points[baseline:]
    seen = {m.lesion_id for tp in kept for m in tp.measurements}
    lesions = tuple(_lesion(lid, by_lesion[lid]) for lid in sorted(seen))
    return LineTimeline(ImagingTimeline(lesions, tuple(kept), start or kept[0].date), flags)


def _baseline_index(points: list[TimePoint], start: dt.date | None) -> tuple[int | None, tuple[Flag, ...]]:
    if start is None:
        return 0, ()
    before = [i for i, tp in enumerate(points) if tp.date <= start]
    if before:
        late = (start - points[before[-1]].date).days > BASELINE_MAX_DAYS
        return before[-1], (Flag.BASELINE_OUTSIDE_WINDOW,) if late else ()
    if (points[0].date - start).days <= BASELINE_AFTER_START_DAYS:
        return 0, (Flag.BASELINE_AFTER_START,)
    return None, ()


def _time_point(key: str, group: list[tuple[str, f.LesionObservation]]) -> TimePoint:
    """One study's measurements, dated by its earliest observation (the first of equals), in one pass."""
    first = group[0][1]
    measurements = []
    for lesion_id, obs in group:
        if obs.observed_on < first.observed_on:
            first = obs
        measurements.append(
            Measurement(
                lesion_id=lesion_id,
                diameter_mm=obs.longest_diameter_mm,
                short_axis_mm=obs.short_axis_mm,
                status=obs.status,
                modality=None if obs.modality is None else _MODALITIES.get(obs.modality, Modality.OTHER),
                reader=obs.reader,
                scanner=obs.scanner,
            )
        )
    study = key if first.timepoint_basis is f.TimepointBasis.IMAGING_STUDY else None
    return TimePoint(first.observed_on, tuple(measurements), study, _modality(first.modality))


def _lesion(lesion_id: str, observations: list[f.LesionObservation]) -> Lesion:
    """The lesion as all its observations describe it, in one pass: the role of the earliest one that gives
    a role (the first of equals), the first site code as its organ, every site code and site text."""
    role, role_on = None, None
    codes: dict[tuple[str, str], None] = {}
    texts: dict[str, None] = {}
    nodal = False
    for o in observations:
        if o.role is not None and (role_on is None or o.observed_on < role_on):
            role, role_on = o.role, o.observed_on
        for s in o.sites:
            codes[(s.system, s.code)] = None
        if o.site_text:
            texts[o.site_text] = None
        nodal = nodal or o.nodal
    return Lesion(
        lesion_id=lesion_id,
        organ=next(iter(codes))[1] if codes else "unknown",
        is_nodal=nodal,
        role=role,
        site_codes=tuple(codes),
        site_text=" ; ".join(texts),  # P5-P7 read the words of every observation of the lesion
    )


def _lesion_id(obs: f.LesionObservation) -> str:
    return obs.lesion_id or obs.body_structure or obs.source


_MODALITIES = {m.value: m for m in Modality}


def _modality(code: str | None) -> Modality | None:
    return None if code is None else _MODALITIES.get(code, Modality.OTHER)
