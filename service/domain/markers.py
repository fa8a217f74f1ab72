"""CEA kinetics against the lab's upper limit, their concordance with imaging, and a marker rise without
radiological progression (CLINICAL-RULES.md 0.2 K1-K4, K13).

Readings taken where the text leaves room:
- K2 reference: the lowest value on the current line before the rising sample, else the line's baseline
  (the latest value on or before the line start). Without a line start every earlier value is on therapy.
  A value dated on the start day is the baseline (drawn before the first dose).
- K2 confirmation: any later sample ``confirm_min_days``-``confirm_max_days`` after the rising one that is
  still >= (1 + rise) x the same reference. CEA_DOUBLED: a sample >= 2 x the reference confirmed the same way.
- K2/K3/K13 "first rising value": of the latest confirmed rise (else the latest rise), the earliest sample
  of the unbroken run of rising samples that share its reference.
- K13: the imaging time point being assessed (``ImagingInterval.assessed_on``) is the latest imaging; dated
  before the first rising value it is "no imaging since the rise".
- K4: the interval is the imaging comparator (nadir) date to the latest sample; MARKER_CONCORDANT needs the
  confirmed rise to start in it, MARKER_DISCORDANT needs CEA at the latest sample <= +10 % of the last value
  on or before the comparator date. BORDERLINE_PD counts as imaging PD for K4 and K13.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from service.domain.facts import MarkerResult
from service.domain.rules import Flag, Rule

CEA = "cea"  # the internal concept of LOINC 2039-6 in loinc.yaml


@dataclass(frozen=True, slots=True)
class CeaThresholds:
    default_uln: Decimal  # K1
    rise_rel: Decimal  # K2 CEA_REL_RISE
    doubling_factor: Decimal  # K2 CEA_DOUBLED
    confirm_min_days: int  # K2 CEA_CONFIRM_MIN_DAYS
    confirm_max_days: int  # K2 CEA_CONFIRM_MAX_DAYS
    early_surge_days: int  # K3 CEA_SURGE_WINDOW_DAYS
    stable_band: Decimal  # K4


class ImagingVerdict(StrEnum):
    PD = "PD"
    BORDERLINE_PD = "BORDERLINE_PD"
    NOT_PD = "NOT_PD"


@dataclass(frozen=True, slots=True)
class ImagingInterval:
    """What imaging says over the interval the markers are compared on (K4): verdict, comparator date, and
    the date of the time point assessed (K13: the latest imaging)."""

    verdict: ImagingVerdict
    since: dt.date
    assessed_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Rise:
    """K2: the first rising value of a run, its reference, and the sample confirming it (if any)."""

    reference: MarkerResult
    first: MarkerResult
    confirmation: MarkerResult | None
    doubled: bool


@dataclass(frozen=True, slots=True)
class CeaAssessment:
    flags: tuple[Flag, ...]
    rules: tuple[Rule, ...]
    evidence: tuple[str, ...]
    latest: MarkerResult | None
    upper_limit: Decimal | None  # of the latest sample, the default when the lab gave none (K1)
    reference: MarkerResult | None  # K2: the line's lowest value (else baseline) before the rise
    rise: MarkerResult | None  # K2: the first rising value (K3, K13 date it)
    confirmation: MarkerResult | None  # K2: the confirming sample (None while unconfirmed)
    interval_start: MarkerResult | None  # K4: the last sample on or before the imaging comparator
    corroborates: bool = False  # section 6 step 3: a confirmed rise outside the K3 surge window


def assess_cea(
    results: Sequence[MarkerResult],
    thresholds: CeaThresholds,
    *,
    therapy_started_on: dt.date | None = None,
    imaging: ImagingInterval | None = None,
) -> CeaAssessment:
    """K1-K4 and K13 over the CEA results up to the assessment date."""
    series = sorted((r for r in results if r.marker == CEA), key=lambda r: r.observed_on)
    if not series:
        return CeaAssessment((), (), (), None, None, None, None, None, None)
    latest = series[-1]
    rise = _latest_rise(series, thresholds, therapy_started_on)
    confirmed = rise is not None and rise.confirmation is not None
    early = _early(rise, therapy_started_on, thresholds)
    start = _interval_start(series, imaging)
    fired = {
        Flag.CEA_RISE_SIGNIFICANT: confirmed,
        Flag.CEA_DOUBLED: confirmed and rise is not None and rise.doubled,
        Flag.CEA_EARLY_SURGE_CAUTION: early,
        Flag.MARKER_CONCORDANT: confirmed and _concordant(rise, imaging),
        Flag.MARKER_DISCORDANT: not confirmed and _discordant(start, latest, imaging, thresholds),
        Flag.MARKER_RISE_WITHOUT_PROGRESSION: confirmed and not early and _without_progression(rise, imaging),
    }
    flags = tuple(flag for flag, hit in fired.items() if hit)
    parts = (rise.reference, rise.first, rise.confirmation) if rise else ()
    used = [r for r in (*parts, start) if r is not None]
    return CeaAssessment(
        flags=flags,
        rules=(Rule.K1, *dict.fromkeys(_RULE_OF[f] for f in flags)),
        evidence=tuple(dict.fromkeys(r.source for r in used or [latest])),
        latest=latest,
        upper_limit=upper_limit(latest, thresholds),
        reference=rise.reference if rise else None,
        rise=rise.first if rise else None,
        confirmation=rise.confirmation if rise else None,
        interval_start=start,
        corroborates=confirmed and not early,
    )


_RULE_OF = {
    Flag.CEA_RISE_SIGNIFICANT: Rule.K2,
    Flag.CEA_DOUBLED: Rule.K2,
    Flag.CEA_EARLY_SURGE_CAUTION: Rule.K3,
    Flag.MARKER_CONCORDANT: Rule.K4,
    Flag.MARKER_DISCORDANT: Rule.K4,
    Flag.MARKER_RISE_WITHOUT_PROGRESSION: Rule.K13,
}


def upper_limit(result: MarkerResult, thresholds: CeaThresholds) -> Decimal:
    """K1: the lab's reference-range high, else the default (5 ng/mL)."""
    return result.upper_limit if result.upper_limit is not None else thresholds.default_uln


def _latest_rise(
    series: list[MarkerResult], thresholds: CeaThresholds, started: dt.date | None
) -> Rise | None:
    """K2: the latest confirmed rise (else the latest unconfirmed one), dated by the first rising value."""
    rising = _rising(series, thresholds, started)
    rise_factor = 1 + thresholds.rise_rel
    confirmed = [i for i, ref in rising.items() if _confirming(series, i, ref, rise_factor, thresholds)]
    index = (confirmed or list(rising))[-1] if rising else None
    if index is None:
        return None
    reference = rising[index]
    first = _first_of_run(index, reference, rising)
    doubling = thresholds.doubling_factor
    doubled = any(
        _confirming(series, i, ref, doubling, thresholds)
        for i, ref in rising.items()
        if ref is reference and i >= first and series[i].value >= doubling * ref.value
    )
    confirmation = _confirming(series, index, reference, rise_factor, thresholds)
    return Rise(reference, series[first], confirmation, doubled)


def _rising(
    series: list[MarkerResult], thresholds: CeaThresholds, started: dt.date | None
) -> dict[int, MarkerResult]:
    """K2: each sample > ULN and >= (1 + rise) x its reference, with that reference: the lowest value on the
    current line before it, else the line's baseline (the latest value on or before the line start); values
    before the baseline belong to an earlier line (R10). One pass, carrying the lowest value so far."""
    rising: dict[int, MarkerResult] = {}
    lowest: MarkerResult | None = None
    factor = 1 + thresholds.rise_rel
    for index, now in enumerate(series):
        on_line = started is None or now.observed_on > started  # a baseline value is not a rise on the line
        reference = lowest if lowest is not None else series[index - 1] if index else None
        above = now.value > upper_limit(now, thresholds)
        if on_line and reference is not None and above and now.value >= factor * reference.value:
            rising[index] = reference
        if on_line and (lowest is None or now.value < lowest.value):
            lowest = now
    return rising


def _confirming(
    series: list[MarkerResult],
    index: int,
    reference: MarkerResult,
    factor: Decimal,
    thresholds: CeaThresholds,
) -> MarkerResult | None:
    """K2: the first later sample 14-42 days after ``series[index]`` still >= factor x the reference."""
    rising = series[index]
    for position in range(index + 1, len(series)):  # no copy of the series' tail for each rise
        later = series[position]
        waited = (later.observed_on - rising.observed_on).days
        if waited > thresholds.confirm_max_days:
            return None  # the series is by date: every later sample is later still
        if waited >= thresholds.confirm_min_days and later.value >= factor * reference.value:
            return later
    return None


def _first_of_run(index: int, reference: MarkerResult, rising: dict[int, MarkerResult]) -> int:
    """The first rising value: step back while the sample before is also rising against the same reference."""
    while rising.get(index - 1) is reference:
        index -= 1
    return index


def _early(rise: Rise | None, started: dt.date | None, thresholds: CeaThresholds) -> bool:
    """K3 (amended): the first rising value is within the surge window after the line start."""
    if rise is None or started is None:
        return False
    return (rise.first.observed_on - started).days <= thresholds.early_surge_days


def _without_progression(rise: Rise | None, imaging: ImagingInterval | None) -> bool:
    """K13: the latest imaging on or after the first rising value is not PD, or none was done since."""
    if rise is None or imaging is None or imaging.assessed_on is None:
        return False
    return imaging.assessed_on < rise.first.observed_on or not _imaging_pd(imaging)


def _interval_start(series: list[MarkerResult], imaging: ImagingInterval | None) -> MarkerResult | None:
    before = [r for r in series if imaging is not None and r.observed_on <= imaging.since]
    return before[-1] if before else None


def _imaging_pd(imaging: ImagingInterval | None) -> bool:
    return imaging is not None and imaging.verdict is not ImagingVerdict.NOT_PD


def _concordant(rise: Rise | None, imaging: ImagingInterval | None) -> bool:
    return (
        _imaging_pd(imaging)
        and rise is not None
        and imaging is not None
        and rise.first.observed_on > imaging.since
    )


def _discordant(
    start: MarkerResult | None,
    latest: MarkerResult,
    imaging: ImagingInterval | None,
    thresholds: CeaThresholds,
) -> bool:
    """K4: imaging PD while CEA is stable (<= +10 %) or falling over the same interval."""
    if not _imaging_pd(imaging) or start is None or start is latest:
        return False
    return latest.value <= (1 + thresholds.stable_band) * start.value
