"""A variant fact read for matching: gene, alleles of protein changes, sample kind and the sample it is from.

Protein patterns (CLINICAL-RULES.md section 5, written as in ``mappings/resistance.yaml``): a one-letter
change (``T790M``), a codon with any new residue (``D1228X``), ``any`` change in the gene, or a named class
(``class:ex19del``: a deletion within EGFR exon 19, or a lab's text such as "exon 19 deletion").
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from service.domain.facts import SpecimenKind, VariantFact, VariantPresence
from service.domain.hgvs import ProteinChange, parse_alleles, parse_change
from service.domain.resistance_kb import ANY_CHANGE, CLASS_PREFIX, SampleKind, VariantClass

FUSION = re.compile(r"([A-Za-z0-9-]+)::([A-Za-z0-9-]+)")  # HGNC gene-fusion notation, e.g. EML4::ALK
FUSION_WORD = "fusion"

SampleKey = tuple[str, dt.date | None, SampleKind]


@dataclass(frozen=True, slots=True)
class ObservedVariant:
    fact: VariantFact
    gene: str
    alleles: tuple[tuple[ProteinChange, ...], ...]
    sample: SampleKind

    @property
    def present(self) -> bool:
        return self.fact.presence is VariantPresence.PRESENT

    @property
    def changes(self) -> tuple[ProteinChange, ...]:
        return tuple(change for allele in self.alleles for change in allele)

    @property
    def sample_key(self) -> SampleKey:
        """Results of one sample: the same specimen (or none named), date and kind."""
        return (self.fact.specimen or "", self.fact.observed_on, self.sample)

    @property
    def texts(self) -> tuple[str, ...]:
        fact = self.fact
        return tuple(t for t in (fact.protein_hgvs, fact.coding_hgvs, fact.genomic_hgvs, fact.gene) if t)


def observe(fact: VariantFact) -> ObservedVariant:
    gene = (fact.gene or "").upper()
    return ObservedVariant(fact, gene, parse_alleles(fact.protein_hgvs), sample_kind(fact))


def sample_kind(fact: VariantFact) -> SampleKind:
    if fact.specimen_kind.is_liquid_biopsy:
        return SampleKind.LIQUID
    return SampleKind.TISSUE if fact.specimen_kind is SpecimenKind.TISSUE else SampleKind.UNKNOWN


def changes_matching(
    variant: ObservedVariant, patterns: tuple[str, ...], classes: tuple[VariantClass, ...]
) -> tuple[ProteinChange | str, ...]:
    """The changes (or the class name, for a class matched by text) of a variant that fit any pattern."""
    found: list[ProteinChange | str] = []
    for pattern in patterns:
        found.extend(_matching_one(variant, pattern, classes))
    return tuple(dict.fromkeys(found))


def _matching_one(
    variant: ObservedVariant, pattern: str, classes: tuple[VariantClass, ...]
) -> tuple[ProteinChange | str, ...]:
    if pattern == ANY_CHANGE:
        return variant.changes
    if pattern.startswith(CLASS_PREFIX):
        named = next((c for c in classes if c.name == pattern.removeprefix(CLASS_PREFIX)), None)
        return _in_class(variant, named) if named else ()
    wanted = parse_change(pattern)
    return tuple(c for c in variant.changes if wanted and c.matches(wanted))


def _in_class(variant: ObservedVariant, named: VariantClass) -> tuple[ProteinChange | str, ...]:
    if variant.gene != named.gene.upper():
        return ()
    inside = tuple(
        c
        for c in variant.changes
        if c.kind in named.changes and named.first_codon <= c.position <= c.end_position <= named.last_codon
    )
    if inside:
        return inside
    aliases = tuple(alias.lower() for alias in named.aliases)
    said = any(alias in text.lower() for text in variant.texts for alias in aliases)
    return (named.name,) if said else ()


def fusion_partners(variant: ObservedVariant) -> frozenset[str]:
    """Genes of a fusion: ``EML4::ALK`` in the gene or an HGVS field, or a gene whose text says "fusion"."""
    partners = {gene.upper() for text in variant.texts for pair in FUSION.findall(text) for gene in pair}
    if any(FUSION_WORD in text.lower() for text in variant.texts) and variant.gene:
        partners.add(variant.gene)
    return frozenset(partners)
