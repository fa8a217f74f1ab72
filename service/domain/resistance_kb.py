"""The resistance knowledge base as plain values (CLINICAL-RULES.md section 5; loaded from
``mappings/resistance.yaml`` by ``service/knowledge/resistance.py``, which validates it).

An entry says: on this therapy class, this alteration in these sample kinds means this mechanism, and these
are the suggested actions with their evidence. One X-ID may have several entries (X6 high and low MET level).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """Section 6 step 5: transformation > on-target > bypass; local therapy (pattern) after them; a plasma
    copy-number gain is a finding to confirm in tissue (K15, X22), never "no resistance alteration"."""

    TRANSFORMATION = "transformation"
    ON_TARGET = "on-target"
    BYPASS = "bypass"
    PATTERN = "pattern"
    TO_CONFIRM = "to-confirm"


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
    when_found: tuple[str, ...] = ()  # mechanisms that must also be found (X6 with T790M: C6)
    unless_found: tuple[str, ...] = ()  # mechanisms that rule the entry out (X6 T790M-negative)
    counts_as_actionable: bool = False  # X27: an X9 fusion answers "nothing actionable" without A4/A5

    @property
    def actionable(self) -> bool:
        """A4/A5: the rule names a targeted agent to switch to or add (A10 never does, C8)."""
        return self.counts_as_actionable or any(action.targeted for action in self.actions)


@dataclass(frozen=True, slots=True)
class StandardOptions:
    """What to offer when nothing actionable was found (A8, A12; X12, X13, X23-X28, X16): each regimen one
    suggestion; a regimen with a drug the patient progressed on is dropped (R11), and the fallback regimens
    are offered only when every regimen was dropped (X27 after FLAURA2: docetaxel-based chemotherapy)."""

    rule: Rule
    drivers: tuple[str, ...]  # driver ids, or `any`
    therapy_classes: tuple[str, ...]
    regimens: tuple[SuggestedAction, ...]
    fallback: tuple[SuggestedAction, ...]
    trial_referral: bool


@dataclass(frozen=True, slots=True)
class ResistanceKnowledge:
    version: str
    variant_classes: tuple[VariantClass, ...]
    drivers: tuple[Driver, ...]
    rules: tuple[ResistanceRule, ...]
    standard_options: tuple[StandardOptions, ...] = ()
    # Every gene a rule names (K8: a new variant in any of them is molecular progression), gathered once.
    resistance_genes: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        genes = frozenset(gene for r in self.rules for gene in r.alteration.genes)
        object.__setattr__(self, "resistance_genes", genes)

    def rules_for(self, therapy_class: str) -> tuple[ResistanceRule, ...]:
        return tuple(r for r in self.rules if therapy_class in r.therapy_classes)

    def drivers_for(self, therapy_class: str) -> tuple[Driver, ...]:
        return tuple(d for d in self.drivers if therapy_class in d.therapy_classes)

    def variant_class(self, name: str) -> VariantClass | None:
        return next((c for c in self.variant_classes if c.name == name), None)
