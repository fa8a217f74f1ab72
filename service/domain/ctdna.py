"""ctDNA kinetics (CLINICAL-RULES.md K5-K8) and MRD (K10) from plasma variant facts and vendor calls.

Readings taken where the text leaves room:
- A draw is every liquid-biopsy result of one date. A tracked variant (K6) not reported in a draw counts as
  undetected there (VAF 0): panels list what they detect. Means are over the same tracked set in every draw,
  so they are compared as sums (exact, no division).
- K6: a variant leaves the tracked set when its gene (or gene and change, JAK2 V617F) is a CHIP gene and no
  tissue result shows it, when it is reported germline, or when any plasma VAF lies in a germline band.
- K7: baseline is the latest draw on or before the therapy start; MOLECULAR_RESPONSE is judged at the first
  draw after it, if that is within ``first_draw_max_days``. CTDNA_CLEARANCE: the latest on-therapy draw
  detects no tracked variant and an earlier draw did.
- K8 (investigational): in the latest draw, a variant in a resistance gene not seen in any earlier result;
  a driver-gene tracked variant undetected in the previous draw and detected now; or a tracked sum
  >= (1 + rise) x the lowest earlier sum, when that lowest sum is above 0.
- K10: MRD_PERSISTENT_NEGATIVE needs the latest calls to be a run of negatives containing two >= 56 days
  apart, and no imaging PD; MRD_NOT_VALIDATED_FOR_DECISIONS accompanies every MRD result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import msgspec

from service.domain.facts import MolecularCall, MrdResult, SpecimenKind, VariantFact, VariantPresence
from service.domain.hgvs import parse_alleles
from service.domain.rules import Flag, Rule

GERMLINE = "germline"


@dataclass(frozen=True, slots=True)
class CtdnaThresholds:
    chip_genes: frozenset[str]  # K6
    chip_variants: frozenset[str]  # K6, "JAK2 V617F"
    germline_vaf_bands: tuple[tuple[Decimal, Decimal], ...]  # K6, inclusive
    molecular_response_fall: Decimal  # K7
    first_draw_max_days: int  # K7
    progression_rise: Decimal  # K8 CTDNA_REL_RISE
    mrd_negative_interval_days: int  # K10


class Draw(msgspec.Struct, frozen=True, gc=False):
    on: dt.date
    tracked_vaf_sum: Decimal
    tracked_mean: Decimal  # for display only; decisions compare sums
    detected: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CtdnaAssessment:
    flags: tuple[Flag, ...]
    rules: tuple[Rule, ...]
    evidence: tuple[str, ...]
    tracked: tuple[str, ...]  # variant keys, e.g. "EGFR L858R"
    draws: tuple[Draw, ...]
    baseline: Draw | None
    first_on_treatment: Draw | None
    new_resistance_variants: tuple[str, ...]
    investigational: tuple[Flag, ...]  # K8: MOLECULAR_PROGRESSION has no standard definition


def variant_key(fact: VariantFact) -> str:
    """Gene and normalised protein change ("EGFR T790M"), else the coding HGVS, else the gene."""
    return _key(fact.gene, fact.protein_hgvs, fact.coding_hgvs)


@lru_cache(maxsize=1024)  # a pure function of three texts; K5-K8 ask for each variant's key several times
def _key(gene: str | None, protein_hgvs: str | None, coding_hgvs: str | None) -> str:
    changes = "+".join(c.name for allele in parse_alleles(protein_hgvs) for c in allele)
    return " ".join(p for p in ((gene or "").upper(), changes or coding_hgvs or "") if p)


def assess_ctdna(
    variants: Sequence[VariantFact],
    thresholds: CtdnaThresholds,
    *,
    therapy_started_on: dt.date | None,
    resistance_genes: frozenset[str] = frozenset(),
    driver_genes: frozenset[str] = frozenset(),
) -> CtdnaAssessment:
    """K5-K8 over the plasma draws up to the assessment date."""
    plasma = [v for v in variants if v.specimen_kind.is_liquid_biopsy and v.observed_on is not None]
    tracked = _tracked(plasma, variants, thresholds)
    draws = _draws(plasma, tracked)
    baseline, first = _baseline_and_first(draws, therapy_started_on, thresholds)
    on_therapy = [d for d in draws if therapy_started_on is None or d.on > therapy_started_on]
    new = _new_resistance(draws, variants, resistance_genes)
    fired = {
        Flag.MOLECULAR_RESPONSE: _responded(baseline, first, thresholds),
        Flag.CTDNA_CLEARANCE: _cleared(draws, on_therapy),
        Flag.MOLECULAR_PROGRESSION: bool(new) or _progressed(draws, tracked, driver_genes, thresholds),
    }
    flags = tuple(f for f, hit in fired.items() if hit)
    rules: tuple[Rule, ...] = (Rule.K5, Rule.K6) if draws else ()
    rules += tuple(dict.fromkeys(_RULE_OF[f] for f in flags))
    evidence = tuple(s for d in draws[-1:] for s in d.sources) if flags else ()
    investigational = tuple(f for f in flags if f is Flag.MOLECULAR_PROGRESSION)
    return CtdnaAssessment(
        flags, rules, evidence, tracked, tuple(draws), baseline, first, new, investigational
    )


_RULE_OF = {
    Flag.MOLECULAR_RESPONSE: Rule.K7,
    Flag.CTDNA_CLEARANCE: Rule.K7,
    Flag.MOLECULAR_PROGRESSION: Rule.K8,
}


def _tracked(
    plasma: list[VariantFact], everything: Sequence[VariantFact], thresholds: CtdnaThresholds
) -> tuple[str, ...]:
    """K6: somatic, tumour-derived variants seen in plasma."""
    in_tissue = {variant_key(v) for v in everything if v.specimen_kind is SpecimenKind.TISSUE and _present(v)}
    seen = {variant_key(v): v for v in plasma if _present(v) and variant_key(v)}
    excluded = {variant_key(v) for v in plasma if _germline_like(v, thresholds)}
    chip = {key for key, v in seen.items() if _chip(v, key, thresholds) and key not in in_tissue}
    return tuple(sorted(set(seen) - excluded - chip))


def _present(fact: VariantFact) -> bool:
    return fact.presence is VariantPresence.PRESENT


def _chip(fact: VariantFact, key: str, thresholds: CtdnaThresholds) -> bool:
    return (fact.gene or "").upper() in thresholds.chip_genes or key in thresholds.chip_variants


def _germline_like(fact: VariantFact, thresholds: CtdnaThresholds) -> bool:
    vaf = fact.allele_fraction
    in_band = vaf is not None and any(low <= vaf <= high for low, high in thresholds.germline_vaf_bands)
    return _present(fact) and (fact.genomic_source == GERMLINE or in_band)


def _draws(plasma: list[VariantFact], tracked: tuple[str, ...]) -> list[Draw]:
    by_day: dict[dt.date, list[VariantFact]] = {}
    for v in plasma:
        if v.observed_on is not None:
            by_day.setdefault(v.observed_on, []).append(v)
    return [_draw(day, by_day[day], tracked) for day in sorted(by_day)]


_ZERO = Decimal(0)  # made once: every draw reads it for each variant it tracks


def _draw(day: dt.date, facts: list[VariantFact], tracked: tuple[str, ...]) -> Draw:
    found = {variant_key(v): v.allele_fraction or _ZERO for v in facts if _present(v)}
    total = sum([found.get(key, _ZERO) for key in tracked], _ZERO)
    mean = total / len(tracked) if tracked else _ZERO
    detected = tuple(key for key in tracked if key in found)
    return Draw(day, total, mean, detected, tuple(v.source for v in facts))


def _baseline_and_first(
    draws: list[Draw], started: dt.date | None, thresholds: CtdnaThresholds
) -> tuple[Draw | None, Draw | None]:
    if started is None:
        return None, None
    before = [d for d in draws if d.on <= started]
    after = [d for d in draws if d.on > started]
    first = after[0] if after and (after[0].on - started).days <= thresholds.first_draw_max_days else None
    return (before[-1] if before else None), first


def _responded(baseline: Draw | None, first: Draw | None, thresholds: CtdnaThresholds) -> bool:
    """K7: the tracked mean falls by >= 50 % from baseline at the first on-treatment draw."""
    if baseline is None or first is None or baseline.tracked_vaf_sum == 0:
        return False
    return first.tracked_vaf_sum <= (1 - thresholds.molecular_response_fall) * baseline.tracked_vaf_sum


def _cleared(draws: list[Draw], on_therapy: list[Draw]) -> bool:
    """K7, K9: the latest on-therapy draw detects nothing tracked, and an earlier draw did."""
    if not on_therapy or on_therapy[-1] is not draws[-1]:
        return False
    return not draws[-1].detected and any(d.detected for d in draws[:-1])


def _new_resistance(
    draws: list[Draw], everything: Sequence[VariantFact], resistance_genes: frozenset[str]
) -> tuple[str, ...]:
    """K8: a variant in a gene of section 5 in the latest draw, not seen in any earlier result."""
    if not draws:
        return ()
    latest = draws[-1].on
    earlier = [v for v in everything if v.observed_on is not None and v.observed_on < latest]
    seen = {variant_key(v) for v in earlier if _present(v)}
    now = [
        v for v in everything if v.observed_on == latest and v.specimen_kind.is_liquid_biopsy and _present(v)
    ]
    new = [variant_key(v) for v in now if (v.gene or "").upper() in resistance_genes]
    return tuple(k for k in dict.fromkeys(new) if k not in seen) if earlier else ()


def _progressed(
    draws: list[Draw], tracked: tuple[str, ...], driver_genes: frozenset[str], thresholds: CtdnaThresholds
) -> bool:
    """K8: a driver back from undetectable, or the tracked sum >= 2 x its earlier nadir."""
    if len(draws) < 2:
        return False
    previous, latest = draws[-2], draws[-1]
    drivers = [k for k in tracked if k.split(" ", 1)[0] in driver_genes]
    back = any(k in latest.detected and k not in previous.detected for k in drivers)
    nadir = min(d.tracked_vaf_sum for d in draws[:-1])
    return back or (nadir > 0 and latest.tracked_vaf_sum >= (1 + thresholds.progression_rise) * nadir)


@dataclass(frozen=True, slots=True)
class MrdAssessment:
    flags: tuple[Flag, ...]
    rules: tuple[Rule, ...]
    evidence: tuple[str, ...]


def assess_mrd(
    results: Sequence[MrdResult], thresholds: CtdnaThresholds, *, imaging_pd: bool
) -> MrdAssessment:
    """K10: supporting information only; never without MRD_NOT_VALIDATED_FOR_DECISIONS."""
    if not results:
        return MrdAssessment((), (), ())
    ordered = sorted(results, key=lambda r: r.observed_on)
    run = _trailing_negatives(ordered)
    span = (run[-1].observed_on - run[0].observed_on).days if run else 0
    persistent = not imaging_pd and len(run) >= 2 and span >= thresholds.mrd_negative_interval_days
    flags = (Flag.MRD_NOT_VALIDATED_FOR_DECISIONS,) + ((Flag.MRD_PERSISTENT_NEGATIVE,) if persistent else ())
    return MrdAssessment(flags, (Rule.K10,), tuple(r.source for r in (run if persistent else ordered[-1:])))


def _trailing_negatives(ordered: list[MrdResult]) -> list[MrdResult]:
    run: list[MrdResult] = []
    for result in reversed(ordered):
        if result.call is not MolecularCall.NEGATIVE:
            break
        run.insert(0, result)
    return run
