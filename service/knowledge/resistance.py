"""Model of ``mappings/resistance.yaml`` (CLINICAL-RULES.md section 5): validated at start-up, handed to the
domain as plain values by :meth:`ResistanceKnowledgeBase.to_domain` (the domain never sees pydantic)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from service.domain.resistance_kb import (
    Alteration,
    AlterationKind,
    Companion,
    Driver,
    FindingCategory,
    Phase,
    ResistanceKnowledge,
    ResistanceRule,
    SampleKind,
    VariantClass,
)
from service.domain.rules import Flag, Rule
from service.knowledge.loader import MappingModel
from service.knowledge.resistance_actions import TIER, X_RULES, ActionModel, StandardOptionsModel

Gene = Field(pattern=r"^[A-Z0-9-]+$")
ANY_DRIVER = "any"


class CompanionModel(MappingModel):
    protein: tuple[str, ...] = Field(min_length=1)
    phase: Phase

    def to_domain(self) -> Companion:
        return Companion(self.protein, self.phase)


class AlterationModel(MappingModel):
    kind: AlterationKind
    genes: tuple[str, ...] = ()
    protein: tuple[str, ...] = ()
    copy_number_min: Decimal | None = Field(default=None, gt=0)
    ratio_min: Decimal | None = Field(default=None, gt=0)
    companion: CompanionModel | None = None
    compound: bool = False
    histologies: tuple[str, ...] = ()
    pattern: Flag | None = None

    @model_validator(mode="after")
    def _complete_for_its_kind(self) -> AlterationModel:
        needs = {
            AlterationKind.MUTATION: bool(self.genes and self.protein),
            AlterationKind.AMPLIFICATION: bool(self.genes and self.copy_number_min),
            AlterationKind.FUSION: bool(self.genes),
            AlterationKind.HISTOLOGY: bool(self.histologies),
            AlterationKind.PATTERN: self.pattern is not None,
        }
        if not needs[self.kind]:
            raise ValueError(f"a {self.kind} alteration lacks what it is matched on")
        if any(gene != gene.upper() for gene in self.genes):
            raise ValueError("genes are HGNC symbols in upper case")
        return self

    def to_domain(self) -> Alteration:
        companion = self.companion.to_domain() if self.companion else None
        return Alteration(
            kind=self.kind,
            genes=self.genes,
            protein=self.protein,
            copy_number_min=self.copy_number_min,
            ratio_min=self.ratio_min,
            companion=companion,
            compound=self.compound,
            histologies=self.histologies,
            pattern=self.pattern.value if self.pattern else None,
        )


class VariantClassModel(MappingModel):
    name: str
    gene: str = Gene
    first_codon: int = Field(gt=0)
    last_codon: int = Field(gt=0)
    changes: tuple[Literal["del", "delins", "ins", "dup", "sub", "skip"], ...] = Field(min_length=1)
    aliases: tuple[str, ...] = ()

    def to_domain(self) -> VariantClass:
        return VariantClass(
            self.name, self.gene, self.first_codon, self.last_codon, self.changes, self.aliases
        )


class DriverModel(MappingModel):
    id: str
    therapy_classes: tuple[str, ...] = Field(min_length=1)
    alteration: AlterationModel

    def to_domain(self) -> Driver:
        return Driver(self.id, self.therapy_classes, self.alteration.to_domain())


class RuleModel(MappingModel):
    id: Rule
    driver: str
    therapy_classes: tuple[str, ...] = Field(min_length=1)
    alteration: AlterationModel
    samples: tuple[SampleKind, ...] = Field(min_length=1)
    category: FindingCategory
    mechanism: str = Field(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
    supersedes: tuple[str, ...] = ()
    actions: tuple[ActionModel, ...] = Field(min_length=1)
    evidence: str = Field(min_length=1)
    tier: str = Field(pattern=TIER)
    oncokb: str | None = None
    citations: tuple[int, ...] = Field(min_length=1)
    note: str | None = None
    when_found: tuple[str, ...] = ()
    unless_found: tuple[str, ...] = ()
    counts_as_actionable: bool = False

    @model_validator(mode="after")
    def _an_x_rule(self) -> RuleModel:
        if self.id not in X_RULES:
            raise ValueError("id must be one of X1-X28")
        return self

    def to_domain(self) -> ResistanceRule:
        return ResistanceRule(
            rule=self.id,
            driver=self.driver,
            therapy_classes=self.therapy_classes,
            alteration=self.alteration.to_domain(),
            samples=self.samples,
            category=self.category,
            mechanism=self.mechanism,
            supersedes=self.supersedes,
            actions=tuple(action.to_domain(self.id) for action in self.actions),
            evidence=self.evidence,
            tier=self.tier,
            oncokb=self.oncokb,
            citations=self.citations,
            note=self.note,
            when_found=self.when_found,
            unless_found=self.unless_found,
            counts_as_actionable=self.counts_as_actionable,
        )


class ResistanceKnowledgeBase(MappingModel):
    version: str = Field(pattern=r"^\d{4}\.\d{2}\.\d+$")
    variant_classes: tuple[VariantClassModel, ...]
    drivers: tuple[DriverModel, ...] = Field(min_length=1)
    rules: tuple[RuleModel, ...] = Field(min_length=1)
    standard_options: tuple[StandardOptionsModel, ...] = ()

    @model_validator(mode="after")
    def _references_resolve(self) -> ResistanceKnowledgeBase:
        drivers = {d.id for d in self.drivers} | {ANY_DRIVER}
        classes = {f"class:{c.name}" for c in self.variant_classes}
        for index, rule in enumerate(self.rules):
            if rule.driver not in drivers:
                raise ValueError(f"rules[{index}]: driver {rule.driver!r} is not in drivers")
        for index, options in enumerate(self.standard_options):
            if unknown := set(options.drivers) - drivers:
                raise ValueError(f"standard_options[{index}]: drivers {sorted(unknown)} are not in drivers")
        entries = [(f"rules[{i}]", r.alteration) for i, r in enumerate(self.rules)]
        entries += [(f"drivers[{i}]", d.alteration) for i, d in enumerate(self.drivers)]
        for where, alteration in entries:
            unknown = {p for p in alteration.protein if p.startswith("class:")} - classes
            if unknown:
                raise ValueError(f"{where}: unknown variant class {sorted(unknown)}")
        return self

    def to_domain(self) -> ResistanceKnowledge:
        return ResistanceKnowledge(
            version=self.version,
            variant_classes=tuple(c.to_domain() for c in self.variant_classes),
            drivers=tuple(d.to_domain() for d in self.drivers),
            rules=tuple(r.to_domain() for r in self.rules),
            standard_options=tuple(o.to_domain() for o in self.standard_options),
        )
