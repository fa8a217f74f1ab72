"""The resistance knowledge base as plain values (CLINICAL-RULES.md section 5; loaded from
``mappings/resistance.yaml`` by ``service/knowledge/resistance.py``, which validates it).

An entry says: on this therapy class, this alteration in these sample kinds means this mechanism, and these
are the suggested actions with their evidence. One X-ID may have several entries (X6 high and low MET level).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from service.domain.rules import Rule
from service.domain.suggestions import SuggestedAction

ANY_CHANGE = "any"  # `protein: [any]`: any protein change in the gene
CLASS_PREFIX = "class:"  # `protein: ["class:ex19del"]`: a named variant class


class AlterationKind(StrEnum):
    MUTATION = "mutation"
    AMPLIFICATION = "amplification"
    FUSION = "fusion"
    HISTOLOGY = "histology"
    PATTERN = "pattern"


class Phase(StrEnum):
    """Where a companion change sits relative to the matched one (X2-X4: C797S and T790M)."""

    CIS = "cis"
    TRANS = "trans"
    UNKNOWN = "unknown"
    ABSENT = "absent"


class SampleKind(StrEnum):
    TISSUE = "tissue"
    LIQUID = "liquid"
    UNKNOWN = "unknown"


class FindingCategory(StrEnum):
    """Section 6 step 5: transformation > on-target > bypass; local therapy (pattern) after them."""

    TRANSFORMATION = "transformation"
    ON_TARGET = "on-target"
    BYPASS = "bypass"
    PATTERN = "pattern"


@dataclass(frozen=True, slots=True)
class Companion:
    protein: tuple[str, ...]
    phase: Phase


@dataclass(frozen=True, slots=True)
class Alteration:
    kind: AlterationKind
    genes: tuple[str, ...] = ()
    protein: tuple[str, ...] = ()
    copy_number_min: Decimal | None = None
    ratio_min: Decimal | None = None  # FISH gene/centromere ratio (MET/CEP7, ERBB2/CEP17)
    companion: Companion | None = None
    compound: bool = False
    histologies: tuple[str, ...] = ()
    pattern: str | None = None


@dataclass(frozen=True, slots=True)
class VariantClass:
    """A named group of protein changes, e.g. EGFR exon 19 deletions (codons 729-761, del or delins)."""

    name: str
    gene: str
    first_codon: int
    last_codon: int
    changes: tuple[str, ...]
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Driver:
    id: str
    therapy_classes: tuple[str, ...]
    alteration: Alteration


@dataclass(frozen=True, slots=True)
class ResistanceRule:
    rule: Rule
    driver: str
    therapy_classes: tuple[str, ...]
    alteration: Alteration
    samples: tuple[SampleKind, ...]
    category: FindingCategory
    mechanism: str
    supersedes: tuple[str, ...]
    actions: tuple[SuggestedAction, ...]
    evidence: str
    tier: str
    oncokb: str | None
    citations: tuple[int, ...]
    note: str | None

    @property
    def actionable(self) -> bool:
        """A4/A5: the rule names a targeted agent to switch to or add."""
        return any(action.targeted for action in self.actions)


@dataclass(frozen=True, slots=True)
class ResistanceKnowledge:
    version: str
    variant_classes: tuple[VariantClass, ...]
    drivers: tuple[Driver, ...]
    rules: tuple[ResistanceRule, ...]

    def rules_for(self, therapy_class: str) -> tuple[ResistanceRule, ...]:
        return tuple(r for r in self.rules if therapy_class in r.therapy_classes)

    def drivers_for(self, therapy_class: str) -> tuple[Driver, ...]:
        return tuple(d for d in self.drivers if therapy_class in d.therapy_classes)

    def variant_class(self, name: str) -> VariantClass | None:
        return next((c for c in self.variant_classes if c.name == name), None)

    @property
    def resistance_genes(self) -> frozenset[str]:
        """Every gene a rule names (K8: a new variant in any of them is molecular progression)."""
        return frozenset(gene for r in self.rules for gene in r.alteration.genes)
