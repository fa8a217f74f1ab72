"""Suggested actions and standard options of ``mappings/resistance.yaml`` (CLINICAL-RULES.md 0.2 section 6:
the A-IDs; the tier, evidence label and jurisdiction label of each switch, add-on, histology or A10
suggestion, C9; the standard options of A8/A12), validated at start-up, handed to the domain as values."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from service.domain.resistance_kb import StandardOptions
from service.domain.rules import Rule
from service.domain.suggestions import CareSuggestion, SuggestedAction
from service.knowledge.loader import MappingModel

X_RULES = tuple(Rule(f"X{n}") for n in range(1, 29))
A_RULES = tuple(Rule(f"A{n}") for n in range(14))
TIER = r"^(standard-of-care|(I|II|III)(-[A-C])?(/(I|II|III)(-[A-C])?|/IV|/X)?|IV(/X)?|X(/IV)?)$"
# C9: these suggestions state their evidence tier, evidence label and jurisdiction label (texts.yaml
# evidence-label.* and jurisdiction.*, Z6).
LABELLED = frozenset(
    {
        CareSuggestion.SWITCH_THERAPY,
        CareSuggestion.ADD_TARGETED_AGENT,
        CareSuggestion.HISTOLOGY_DIRECTED_CHEMOTHERAPY,
        CareSuggestion.MDT_TRIAL_CONSIDERATION,
    }
)
EvidenceLabel = Literal[
    "randomised-phase-3",
    "single-arm-phase-2",
    "retrospective",
    "tier-iv-not-standard",
    "not-standard-of-care",
    "standard-of-care",
]
Jurisdiction = Literal[
    "approved-china",
    "approved-fda-ema",
    "approved-fda",
    "not-approved-investigational",
    "standard-approved",
]


class ActionModel(MappingModel):
    code: CareSuggestion
    drugs: tuple[str, ...] = ()
    a_rule: Rule
    note: str | None = None
    tier: str | None = Field(default=None, pattern=TIER)
    label: EvidenceLabel | None = None
    jurisdiction: Jurisdiction | None = None

    @model_validator(mode="after")
    def _a_rule_and_inn(self) -> ActionModel:
        if self.a_rule not in A_RULES:
            raise ValueError("a_rule must be one of A0-A13")
        if any(drug != drug.lower() for drug in self.drugs):
            raise ValueError("drugs are lower-case INNs, as in drugs.yaml")
        if self.code in LABELLED and None in (self.tier, self.label, self.jurisdiction):
            raise ValueError(f"a {self.code} action states its tier, label and jurisdiction (C9)")
        return self

    def to_domain(self, rule: Rule) -> SuggestedAction:
        return SuggestedAction(
            self.code,
            self.drugs,
            self.note,
            (rule, self.a_rule),
            tier=self.tier,
            label=self.label,
            jurisdiction=self.jurisdiction,
        )


class StandardOptionsModel(MappingModel):
    id: Rule
    drivers: tuple[str, ...] = Field(min_length=1)
    therapy_classes: tuple[str, ...] = Field(min_length=1)
    regimens: tuple[ActionModel, ...] = Field(min_length=1)
    fallback: tuple[ActionModel, ...] = ()
    trial_referral: bool = True
    citations: tuple[int, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _an_x_or_a8_rule(self) -> StandardOptionsModel:
        if self.id not in (*X_RULES, Rule.A8):
            raise ValueError("id must be one of X1-X28 or A8")
        return self

    def to_domain(self) -> StandardOptions:
        return StandardOptions(
            rule=self.id,
            drivers=self.drivers,
            therapy_classes=self.therapy_classes,
            regimens=tuple(r.to_domain(self.id) for r in self.regimens),
            fallback=tuple(r.to_domain(self.id) for r in self.fallback),
            trial_referral=self.trial_referral,
        )
