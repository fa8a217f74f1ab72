"""The resistance assessment of one time point: the mechanisms found (resistance.py), the plasma limits of K9
and the molecular work-up of section 6 step 5 (A3 re-testing, A8 when nothing actionable was found).

Readings taken where the text leaves room:
- K9 looks at the latest plasma draw on or after the progression date: it is "positive" when a result of that
  draw is evidence for a mechanism; otherwise it shows the driver (PLASMA_NEGATIVE_FOR_RESISTANCE) or not
  (PLASMA_NON_INFORMATIVE). Both reflex to tissue unless tissue has been tested since progression.
- A3 `liquid-biopsy-ctdna` when no molecular result is dated on or after progression; A8
  `clinical-trial-referral` once tissue, or a plasma draw showing a mechanism, has been tested since
  progression and no finding names a targeted agent or a histology (transformation).
- Without a progression date there is no work-up: the integrator decides when progression is supported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.facts import VariantFact
from service.domain.resistance import (
    Histology,
    ResistanceContext,
    ResistanceFinding,
    find_mechanisms,
    shows_alteration,
)
from service.domain.resistance_kb import FindingCategory, ResistanceKnowledge, SampleKind
from service.domain.rules import Flag, Rule
from service.domain.suggestions import CareSuggestion, SuggestedAction
from service.domain.variants import sample_kind

LIQUID_ONLY = (SampleKind.LIQUID,)


@dataclass(frozen=True, slots=True)
class ResistanceAssessment:
    """Findings in rank order; ``actions`` are their suggestions in the same order, then the work-up."""

    therapy_class: str
    knowledge_version: str
    findings: tuple[ResistanceFinding, ...]
    flags: tuple[Flag, ...]
    rules: tuple[Rule, ...]
    actions: tuple[SuggestedAction, ...]
    evidence: tuple[str, ...]

    @property
    def mechanisms(self) -> tuple[str, ...]:
        return tuple(f.mechanism for f in self.findings)


@dataclass(frozen=True, slots=True)
class _Workup:
    flags: tuple[Flag, ...]
    actions: tuple[SuggestedAction, ...]
    evidence: tuple[str, ...]


def assess_resistance(
    knowledge: ResistanceKnowledge,
    context: ResistanceContext,
    variants: Sequence[VariantFact] = (),
    histologies: Sequence[Histology] = (),
) -> ResistanceAssessment:
    """X1-X20, K9 and the A3/A8 work-up for the current therapy class."""
    findings = find_mechanisms(knowledge, context, variants, histologies)
    workup = _workup(knowledge, context, variants, findings)
    rules = [f.rule for f in findings] + [Rule.K9 for _ in workup.flags[:1]]
    actions = [a for f in findings for a in f.actions] + list(workup.actions)
    evidence = [s for f in findings for s in f.evidence] + list(workup.evidence)
    return ResistanceAssessment(
        therapy_class=context.therapy_class,
        knowledge_version=knowledge.version,
        findings=findings,
        flags=workup.flags,
        rules=tuple(dict.fromkeys(rules)),
        actions=_merged(actions),
        evidence=tuple(dict.fromkeys(evidence)),
    )


def _workup(
    knowledge: ResistanceKnowledge,
    context: ResistanceContext,
    variants: Sequence[VariantFact],
    findings: tuple[ResistanceFinding, ...],
) -> _Workup:
    since = context.progression_on
    if since is None:
        return _Workup((), (), ())
    tested = [v for v in variants if v.observed_on is not None and v.observed_on >= since]
    if not tested:
        return _Workup((), (_action(CareSuggestion.LIQUID_BIOPSY_CTDNA, Rule.A3),), ())
    shown = {source for f in findings for source in f.evidence}
    draw = _latest_plasma_draw(tested)
    flag = _plasma_flag(knowledge, context, draw, shown) if draw else None
    tissue = [v for v in tested if sample_kind(v) is SampleKind.TISSUE]
    actions = []
    if flag is not None and not tissue:
        actions.append(_action(CareSuggestion.TISSUE_REBIOPSY, Rule.K9, Rule.A3))
    plasma_positive = any(v.source in shown for v in draw)
    if (tissue or plasma_positive) and not any(_answers_the_question(f) for f in findings):
        actions.append(_action(CareSuggestion.CLINICAL_TRIAL_REFERRAL, Rule.A8))
    flags = (flag,) if flag else ()
    return _Workup(flags, tuple(actions), tuple(v.source for v in draw) if flag else ())


def _latest_plasma_draw(tested: list[VariantFact]) -> list[VariantFact]:
    plasma = [v for v in tested if sample_kind(v) is SampleKind.LIQUID]
    latest = max((v.observed_on for v in plasma if v.observed_on), default=None)
    return [v for v in plasma if v.observed_on == latest]


def _plasma_flag(
    knowledge: ResistanceKnowledge, context: ResistanceContext, draw: list[VariantFact], shown: set[str]
) -> Flag | None:
    """K9: a plasma draw after progression without a mechanism, with or without the known driver."""
    if any(v.source in shown for v in draw):
        return None
    drivers = knowledge.drivers_for(context.therapy_class)
    seen = any(shows_alteration(d.alteration, LIQUID_ONLY, draw, knowledge) for d in drivers)
    return Flag.PLASMA_NEGATIVE_FOR_RESISTANCE if seen else Flag.PLASMA_NON_INFORMATIVE


def _answers_the_question(finding: ResistanceFinding) -> bool:
    """A8 is for "nothing actionable": a targeted agent (A4, A5) or a new histology (A7) answers it."""
    return finding.actionable or finding.category is FindingCategory.TRANSFORMATION


def _action(code: CareSuggestion, *rules: Rule) -> SuggestedAction:
    return SuggestedAction(code, (), None, rules)


def _merged(actions: list[SuggestedAction]) -> tuple[SuggestedAction, ...]:
    """One suggestion per code and drug list, first place kept, rules and notes of the repeats added."""
    merged: dict[tuple[CareSuggestion, tuple[str, ...]], SuggestedAction] = {}
    for action in actions:
        key = (action.code, action.drugs)
        first = merged.get(key)
        merged[key] = action if first is None else _combine(first, action)
    return tuple(merged.values())


def _combine(first: SuggestedAction, again: SuggestedAction) -> SuggestedAction:
    notes = [n for n in (first.note, again.note) if n]
    rules = tuple(dict.fromkeys(first.rules + again.rules))
    return SuggestedAction(first.code, first.drugs, " ".join(dict.fromkeys(notes)) or None, rules)
