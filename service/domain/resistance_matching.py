"""Which facts show an alteration of the knowledge base (CLINICAL-RULES.md section 5): a histology, the
oligoprogression pattern (X20), an amplification (X6, X7), a fusion, or a protein change with its companion
in cis or trans (X2-X4) and the compound condition (X14). :mod:`service.domain.resistance` turns the rules
whose alteration shows into findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from service.domain.facts import CancerCondition, HistologyFact
from service.domain.hgvs import ProteinChange
from service.domain.resistance_kb import (
    Alteration,
    AlterationKind,
    Companion,
    Phase,
    ResistanceKnowledge,
    SampleKind,
)
from service.domain.variants import ObservedVariant, changes_matching, fusion_partners

Histology = HistologyFact | CancerCondition


@dataclass(frozen=True, slots=True)
class Hit:
    """One fact that shows an alteration: what matched ("EGFR T790M"), its sample, its source."""

    label: str
    sample: SampleKind
    source: str


def matches(
    alteration: Alteration,
    samples: tuple[SampleKind, ...],
    knowledge: ResistanceKnowledge,
    variants: tuple[ObservedVariant, ...],
    histologies: tuple[Histology, ...] = (),
    *,
    oligoprogression: bool = False,
) -> list[Hit]:
    """The facts that show one alteration of a rule, in the samples it accepts; the X20 pattern shows when
    P2 oligoprogression holds."""
    kind = alteration.kind
    if kind is AlterationKind.HISTOLOGY:
        wanted = alteration.histologies
        return [
            Hit(h.histology or "", SampleKind.TISSUE, h.source) for h in histologies if h.histology in wanted
        ]
    if kind is AlterationKind.PATTERN:
        label = alteration.pattern or ""
        return [Hit(label, SampleKind.UNKNOWN, "")] if oligoprogression else []
    eligible = [v for v in variants if v.present and v.sample in samples]
    if kind is AlterationKind.AMPLIFICATION:
        return [hit for v in eligible if (hit := _amplified(alteration, v))]
    if kind is AlterationKind.FUSION:
        genes = set(alteration.genes)
        return [
            Hit(f"{'::'.join(sorted(p))} fusion", v.sample, v.fact.source)
            for v in eligible
            if (p := fusion_partners(v)) & genes
        ]
    return _mutations(alteration, knowledge, eligible, variants)


def _amplified(alteration: Alteration, variant: ObservedVariant) -> Hit | None:
    """X6, X7: copy number, or the FISH gene/centromere ratio, at or above the entry's threshold (Decimal,
    inclusive; "FISH GCN >= 5 or MET/CEP7 >= 2")."""
    if variant.gene not in alteration.genes:
        return None
    number, ratio = variant.fact.copy_number, variant.fact.copy_ratio
    if _at_least(number, alteration.copy_number_min):
        return Hit(f"{variant.gene} copy number {number}", variant.sample, variant.fact.source)
    if _at_least(ratio, alteration.ratio_min):
        return Hit(f"{variant.gene}/centromere ratio {ratio}", variant.sample, variant.fact.source)
    return None


def _at_least(value: Decimal | None, minimum: Decimal | None) -> bool:
    return value is not None and minimum is not None and value >= minimum


def _mutations(
    alteration: Alteration,
    knowledge: ResistanceKnowledge,
    eligible: list[ObservedVariant],
    everything: tuple[ObservedVariant, ...],
) -> list[Hit]:
    classes = knowledge.variant_classes
    hits = []
    for variant in (v for v in eligible if v.gene in alteration.genes):
        for change in changes_matching(variant, alteration.protein, classes):
            companion = alteration.companion
            if (
                companion is None
                or _phase(variant, change, companion, everything, knowledge) is companion.phase
            ):
                hits.append(Hit(f"{variant.gene} {_name(change)}", variant.sample, variant.fact.source))
    return _compound(hits, eligible) if alteration.compound else hits


def _compound(hits: list[Hit], eligible: list[ObservedVariant]) -> list[Hit]:
    """X14: two or more distinct changes of the gene in one sample."""
    sample_of = {v.fact.source: v.sample_key for v in eligible}
    by_sample: dict[object, list[Hit]] = {}
    for hit in hits:
        by_sample.setdefault(sample_of[hit.source], []).append(hit)
    return [hit for group in by_sample.values() if len({h.label for h in group}) >= 2 for hit in group]


def _phase(
    variant: ObservedVariant,
    change: ProteinChange | str,
    companion: Companion,
    everything: tuple[ObservedVariant, ...],
    knowledge: ResistanceKnowledge,
) -> Phase:
    """X2-X4: cis when one allele holds both, trans when the fact puts them on two alleles, unknown when
    another result of the same sample shows the companion, absent otherwise."""
    partners = set(changes_matching(variant, companion.protein, knowledge.variant_classes)) - {change}
    if any(change in allele and partners & set(allele) for allele in variant.alleles):
        return Phase.CIS
    if partners:
        return Phase.TRANS
    same_sample = (
        w
        for w in everything
        if w is not variant and w.present and w.gene == variant.gene and w.sample_key == variant.sample_key
    )
    shown = any(changes_matching(w, companion.protein, knowledge.variant_classes) for w in same_sample)
    return Phase.UNKNOWN if shown else Phase.ABSENT


def _name(change: ProteinChange | str) -> str:
    return change.name if isinstance(change, ProteinChange) else change
