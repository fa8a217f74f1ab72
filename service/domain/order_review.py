"""A drug order read against an Assessment (the CDS Hooks ``order-select`` / ``order-sign`` check): is the
drug one the patient already progressed on (R11), or one a resistance finding argues against?

A finding argues against a drug when the drug's class is one of the classes its knowledge-base rule was
written for (the mechanism confers resistance to them: T790M to 1st/2nd-generation EGFR TKIs, X1; a secondary
KRAS mutation to G12C inhibitors, X16) and none of the finding's own suggestions gives that drug (X6 adds a
MET TKI to osimertinib: ordering osimertinib then is what the finding proposes). The alternatives offered are
the targeted suggestions of the finding, else those of the assessment, that do not hold the ordered drug.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from service.domain.assessment import Assessment
from service.domain.resistance import ResistanceFinding
from service.domain.resistance_kb import ResistanceKnowledge
from service.domain.rules import Rule
from service.domain.suggestions import SuggestedAction


class ConcernReason(StrEnum):
    RESISTANCE = "resistance"  # a finding argues against the drug
    PROGRESSED_ON = "progressed-on"  # R11


@dataclass(frozen=True, slots=True)
class OrderConcern:
    drug: str
    reason: ConcernReason
    rules: tuple[Rule, ...]
    finding: ResistanceFinding | None
    alternatives: tuple[SuggestedAction, ...]


def review_order(
    drug: str, drug_class: str, assessment: Assessment, knowledge: ResistanceKnowledge
) -> OrderConcern | None:
    """The concern about ordering ``drug`` (lower-case INN) now, or None when there is nothing to say."""
    for finding in assessment.findings:
        if _argues_against(finding, drug, drug_class, knowledge):
            alternatives = _without(drug, finding.actions) or _without(drug, assessment.suggestions)
            return OrderConcern(drug, ConcernReason.RESISTANCE, (finding.rule,), finding, alternatives)
    if drug in assessment.therapy.progressed_on:
        alternatives = _without(drug, assessment.suggestions)
        return OrderConcern(drug, ConcernReason.PROGRESSED_ON, (Rule.R11,), None, alternatives)
    return None


def _argues_against(
    finding: ResistanceFinding, drug: str, drug_class: str, knowledge: ResistanceKnowledge
) -> bool:
    classes = {
        therapy_class
        for rule in knowledge.rules
        if rule.rule == finding.rule and rule.mechanism == finding.mechanism
        for therapy_class in rule.therapy_classes
    }
    proposed = any(drug in action.drugs for action in finding.actions)
    return drug_class in classes and not proposed


def _without(drug: str, actions: Iterable[SuggestedAction]) -> tuple[SuggestedAction, ...]:
    return tuple(action for action in actions if action.targeted and drug not in action.drugs)
