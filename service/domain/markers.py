"""CEA kinetics against the lab's upper limit and their concordance with imaging (CLINICAL-RULES.md K1-K4).

Readings taken where the text leaves room:
- K2: the reference is the sample just before the rise; the confirmation is the latest sample, taken at least
  ``confirm_min_days`` after the rising one ("about 2-4 weeks later"; later samples confirm as well) and still
  >= (1 + rise) x the reference. Of several rises the latest confirmed one is reported.
- K2 CEA_DOUBLED: the confirming sample is >= 2 x the reference (the doubling has held).
- K3: any rise (confirmed or not) whose rising sample is within ``early_surge_days`` of the therapy start.
- K4: the interval is the imaging comparator (nadir) date to the latest sample; MARKER_CONCORDANT needs the
  confirmed rise to happen in it, MARKER_DISCORDANT needs CEA at the latest sample <= +10 % of the last value
  on or before the comparator date. BORDERLINE_PD counts as imaging PD for both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise

from service.domain.facts import MarkerResult
from service.domain.rules import Flag, Rule

CEA = "cea"  # the internal concept of LOINC 2039-6 in loinc.yaml


@dataclass(frozen=True, slots=True)
class CeaThresholds:
    default_uln: Decimal  # K1
    rise_rel: Decimal  # K2 CEA_REL_RISE
    doubling_factor: Decimal  # K2 CEA_DOUBLED
    confirm_min_days: int  # K2
    early_surge_days: int  # K3
    stable_band: Decimal  # K4


class ImagingVerdict(StrEnum):
    PD = "PD"
    BORDERLINE_PD = "BORDERLINE_PD"
    NOT_PD = "NOT_PD"


@dataclass(frozen=True, slots=True)
class ImagingInterval:
    """What imaging says over the interval the markers are compared on (K4): verdict and comparator date."""

    verdict: ImagingVerdict
    since: dt.date


@dataclass(frozen=True, slots=True)
class CeaAssessment:
    flags: tuple[Flag, ...]
    rules: tuple[Rule, ...]
    evidence: tuple[str, ...]
    latest: MarkerResult | None
    upper_limit: Decimal | None  # of the latest sample, the default when the lab gave none (K1)
    reference: MarkerResult | None  # K2: the sample before the rise
    rise: MarkerResult | None  # K2: the rising sample
    confirmation: MarkerResult | None  # K2: the confirming sample (None while unconfirmed)
    interval_start: MarkerResult | None  # K4: the last sample on or before the imaging comparator


def assess_cea(
    results: Sequence[MarkerResult],
    thresholds: CeaThresholds,
    *,
    therapy_started_on: dt.date | None = None,
    imaging: ImagingInterval | None = None,
) -> CeaAssessment:
    """K1-K4 over the CEA results up to the assessment date."""
    series = sorted((r for r in results if r.marker == CEA), key=lambda r: r.observed_on)
    if not series:
        return CeaAssessment((), (), (), None, None, None, None, None, None)
    latest = series[-1]
    rise = _latest_rise(series, thresholds)
    confirmed = rise is not None and _confirms(rise, latest, thresholds)
    start = _interval_start(series, imaging)
    fired = {
        Flag.CEA_RISE_SIGNIFICANT: confirmed,
        Flag.CEA_DOUBLED: confirmed and _doubled(rise, latest, thresholds),
        Flag.CEA_EARLY_SURGE_CAUTION: _early(rise, therapy_started_on, thresholds),
        Flag.MARKER_CONCORDANT: confirmed and _concordant(rise, imaging),
        Flag.MARKER_DISCORDANT: not confirmed and _discordant(start, latest, imaging, thresholds),
    }
    flags = tuple(flag for flag, hit in fired.items() if hit)
    used = [r for r in (*(rise or ()), latest if confirmed else None, start) if r is not None]
    return CeaAssessment(
        flags=flags,
        rules=(Rule.K1, *dict.fromkeys(_RULE_OF[f] for f in flags)),
        evidence=tuple(dict.fromkeys(r.source for r in used or [latest])),
        latest=latest,
        upper_limit=upper_limit(latest, thresholds),
        reference=rise[0] if rise else None,
        rise=rise[1] if rise else None,
        confirmation=latest if confirmed else None,
        interval_start=start,
    )


_RULE_OF = {
    Flag.CEA_RISE_SIGNIFICANT: Rule.K2,
    Flag.CEA_DOUBLED: Rule.K2,
    Flag.CEA_EARLY_SURGE_CAUTION: Rule.K3,
    Flag.MARKER_CONCORDANT: Rule.K4,
    Flag.MARKER_DISCORDANT: Rule.K4,
}
Rise = tuple[MarkerResult, MarkerResult]


def upper_limit(result: MarkerResult, thresholds: CeaThresholds) -> Decimal:
    """K1: the lab's reference-range high, else the default (5 ng/mL)."""
    return result.upper_limit if result.upper_limit is not None else thresholds.default_uln


def _latest_rise(series: list[MarkerResult], thresholds: CeaThresholds) -> Rise | None:
    """K2: the latest sample above the ULN and >= (1 + rise) x the sample before it."""
    rises = [(ref, now) for ref, now in pairwise(series) if _risen(ref, now, thresholds)]
    confirmed = [r for r in rises if _confirms(r, series[-1], thresholds)]
    candidates = confirmed or rises
    return candidates[-1] if candidates else None


def _risen(reference: MarkerResult, now: MarkerResult, thresholds: CeaThresholds) -> bool:
    above = now.value > upper_limit(now, thresholds)
    return above and now.value >= (1 + thresholds.rise_rel) * reference.value


def _confirms(rise: Rise, latest: MarkerResult, thresholds: CeaThresholds) -> bool:
    reference, rising = rise
    waited = (latest.observed_on - rising.observed_on).days >= thresholds.confirm_min_days
    return waited and latest.value >= (1 + thresholds.rise_rel) * reference.value


def _doubled(rise: Rise | None, latest: MarkerResult, thresholds: CeaThresholds) -> bool:
    return rise is not None and latest.value >= thresholds.doubling_factor * rise[0].value


def _early(rise: Rise | None, started: dt.date | None, thresholds: CeaThresholds) -> bool:
    """K3: the rise falls within the first weeks of a new systemic therapy."""
    if rise is None or started is None:
        return False
    return 0 <= (rise[1].observed_on - started).days <= thresholds.early_surge_days


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
        and rise[1].observed_on > imaging.since
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
