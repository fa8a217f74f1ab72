"""The standard options when nothing actionable was found (A8, A12; X12, X13, X16, X23-X28 in
``mappings/resistance.yaml`` ``standard_options``), chosen for the line's backbone and the patient's driver.

R11: a regimen holding a drug the patient progressed on is dropped; when every regimen is dropped the fallback
regimens remain (X27 after a FLAURA2 line, X28 after amivantamab-chemotherapy: docetaxel-based chemotherapy).
Trial referral is always listed with them. The driver is the one shown in any of the patient's variant
results; when none is shown, the first driver listed for the backbone's class (EGFR-sensitising for
osimertinib).
"""

from __future__ import annotations

from collections.abc import Sequence

from service.domain.facts import VariantFact
from service.domain.resistance import ResistanceContext, shows_alteration
from service.domain.resistance_kb import ResistanceKnowledge, SampleKind, StandardOptions
from service.domain.rules import Rule
from service.domain.suggestions import CareSuggestion, SuggestedAction

ANY_DRIVER = "any"
ANY_SAMPLE = (SampleKind.TISSUE, SampleKind.LIQUID, SampleKind.UNKNOWN)


def standard_options(
    knowledge: ResistanceKnowledge, context: ResistanceContext, variants: Sequence[VariantFact]
) -> tuple[SuggestedAction, ...]:
    """The regimens of the first applicable entry (minus R11 exclusions), then trial referral."""
    entry = applicable_entry(knowledge, context.therapy_class, variants)
    if entry is None:
        return ()
    excluded = context.progressed_on
    kept = [r for r in entry.regimens if not set(r.drugs) & excluded]
    kept = kept or [r for r in entry.fallback if not set(r.drugs) & excluded]
    return (*kept, *_trial(entry))


def applicable_entry(
    knowledge: ResistanceKnowledge, therapy_class: str, variants: Sequence[VariantFact]
) -> StandardOptions | None:
    shown = _drivers_shown(knowledge, therapy_class, variants) | {ANY_DRIVER}
    return next(
        (
            entry
            for entry in knowledge.standard_options
            if therapy_class in entry.therapy_classes and set(entry.drivers) & shown
        ),
        None,
    )


def _drivers_shown(
    knowledge: ResistanceKnowledge, therapy_class: str, variants: Sequence[VariantFact]
) -> set[str]:
    drivers = knowledge.drivers_for(therapy_class)
    shown = {d.id for d in drivers if shows_alteration(d.alteration, ANY_SAMPLE, variants, knowledge)}
    return shown or {d.id for d in drivers[:1]}


def _trial(entry: StandardOptions) -> tuple[SuggestedAction, ...]:
    if not entry.trial_referral:
        return ()
    a12 = any(Rule.A12 in regimen.rules for regimen in entry.regimens)
    rules = (entry.rule, Rule.A12 if a12 else Rule.A8)
    return (SuggestedAction(CareSuggestion.CLINICAL_TRIAL_REFERRAL, (), None, tuple(dict.fromkeys(rules))),)
