"""The resistance assessment of one time point: the mechanisms found (resistance.py), the plasma categories of
K9/K15 (plasma_categories.py), the transformation triggers of X10 (transformation.py), the standard options
when nothing actionable was found (standard_options.py) and the molecular work-up of section 6 step 5 (A3).

``actions`` come in the rank order of section 6 step 5: confirmed transformation, actionable on-target,
actionable bypass (X6), local therapy (X20), the standard options (X27, X24, X28...; A12/A8 with trial
referral), then what is not actionable at tier I-III (A10, trial referrals), then the work-up (A3).
The final assembly of the suggestion set (precedence, C1-C9) is not made here.

Readings taken where the text leaves room:
- A3 `liquid-biopsy-ctdna` when no molecular result is dated on or after progression (and no transformation is
  suspected); `tissue-rebiopsy` when the plasma draw is K9 category 2-4, or a transformation is suspected,
  and no tissue result is dated on or after progression.
- "Tested" for A8/A12: a tissue result on or after progression, a plasma category 1 (its findings are then
  the answer; tier-IV findings never suppress A8/A12, C8), or a category 3 with tissue recorded as not
  feasible. Never after category 2 or 4 alone; not while a K15 plasma copy-number gain is unconfirmed in
  tissue; not while a transformation is suspected (the histology decides the chemotherapy).
- No A3 after a confirmed transformation: the biopsy that showed the histology answered the work-up.
- A K15 finding's `tissue-rebiopsy` is dropped once tissue has been tested since progression.
- Without a progression date there is no work-up: the integrator decides when progression is supported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from service.domain.facts import VariantFact
from service.domain.plasma_categories import REFLEX_TO_TISSUE, latest_plasma_draw, plasma_category
from service.domain.resistance import (
    ResistanceContext,
    ResistanceFinding,
    find_mechanisms,
    ranks_first,
)
from service.domain.resistance_kb import FindingCategory, ResistanceKnowledge, SampleKind
from service.domain.resistance_matching import Histology
from service.domain.rules import Flag, Rule
from service.domain.standard_options import applicable_entry, standard_options
from service.domain.suggestions import CareSuggestion, SuggestedAction
from service.domain.transformation import transformation_suspected
from service.domain.variants import sample_kind


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
    flags: tuple[Flag, ...] = ()
    rules: tuple[Rule, ...] = ()
    standard: tuple[SuggestedAction, ...] = ()
    actions: tuple[SuggestedAction, ...] = ()
    evidence: tuple[str, ...] = ()
    tissue_tested: bool = False


@dataclass(frozen=True, slots=True)
class _Tested:
    """The molecular results dated on or after progression."""

    results: tuple[VariantFact, ...]
    draw: tuple[VariantFact, ...]
    plasma: Flag | None
    tissue: bool
    suspected: bool
    confirmed: bool = False  # a transformation confirmed by histology since the line started


def assess_resistance(
    knowledge: ResistanceKnowledge,
    context: ResistanceContext,
    variants: Sequence[VariantFact] = (),
    histologies: Sequence[Histology] = (),
) -> ResistanceAssessment:
    """X1-X28, K9, K15, X10's triggers and the A3/A8/A12 work-up for the line's backbone class."""
    findings = find_mechanisms(knowledge, context, variants, histologies)
    workup = _workup(knowledge, context, variants, histologies, findings)
    first = [a for f in findings if ranks_first(f) for a in f.actions]
    later = [a for f in findings if not ranks_first(f) for a in _still_open(f, workup.tissue_tested)]
    actions = [*first, *workup.standard, *later, *workup.actions]
    rules = [f.rule for f in findings] + list(workup.rules)
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


def _still_open(finding: ResistanceFinding, tissue_tested: bool) -> tuple[SuggestedAction, ...]:
    """K15: once tissue has been tested, the plasma copy-number call no longer asks for a rebiopsy."""
    resolved = finding.category is FindingCategory.TO_CONFIRM and tissue_tested
    return () if resolved else finding.actions


def _workup(
    knowledge: ResistanceKnowledge,
    context: ResistanceContext,
    variants: Sequence[VariantFact],
    histologies: Sequence[Histology],
    findings: tuple[ResistanceFinding, ...],
) -> _Workup:
    since = context.progression_on
    if since is None:
        return _Workup()
    tested = _tested(knowledge, context, variants, histologies, findings)
    flags = [Flag.TRANSFORMATION_SUSPECTED] if tested.suspected else []
    flags += [tested.plasma] if tested.plasma else []
    standard = (
        standard_options(knowledge, context, variants)
        if _nothing_actionable(context, tested, findings)
        else ()
    )
    return _Workup(
        flags=tuple(flags),
        rules=_workup_rules(knowledge, context, variants, tested, bool(standard)),
        standard=standard,
        actions=_retesting(context, tested),
        evidence=tuple(v.source for v in tested.draw) if tested.plasma else (),
        tissue_tested=tested.tissue,
    )


def _tested(
    knowledge: ResistanceKnowledge,
    context: ResistanceContext,
    variants: Sequence[VariantFact],
    histologies: Sequence[Histology],
    findings: tuple[ResistanceFinding, ...],
) -> _Tested:
    since = context.progression_on
    results = tuple(v for v in variants if v.observed_on is not None and since and v.observed_on >= since)
    draw = tuple(latest_plasma_draw(results))
    tissue = any(sample_kind(v) is SampleKind.TISSUE for v in results)
    histology_since = any(_dated_on_or_after(h, context) for h in histologies)
    confirmed = any(f.category is FindingCategory.TRANSFORMATION for f in findings)
    open_question = not (confirmed or tissue or histology_since)
    suspected = open_question and transformation_suspected(knowledge, context, variants)
    plasma = plasma_category(knowledge, context, draw, findings)
    return _Tested(results, draw, plasma, tissue, suspected, confirmed)


def _dated_on_or_after(fact: Histology, context: ResistanceContext) -> bool:
    day = getattr(fact, "observed_on", None) or getattr(fact, "onset_on", None)
    since = context.progression_on
    return day is not None and since is not None and day >= since


def _nothing_actionable(
    context: ResistanceContext, tested: _Tested, findings: tuple[ResistanceFinding, ...]
) -> bool:
    """A8/A12: tested (section 6 step 5, K9) and no finding at tier I-III answers the question."""
    if tested.suspected or any(_answers_the_question(f) for f in findings):
        return False
    unconfirmed = any(f.category is FindingCategory.TO_CONFIRM for f in findings)
    if unconfirmed and not tested.tissue:
        return False
    informative = tested.plasma is Flag.PLASMA_NEGATIVE_FOR_RESISTANCE and context.tissue_not_feasible
    return tested.tissue or tested.plasma is Flag.PLASMA_RESISTANCE_FOUND or informative


def _answers_the_question(finding: ResistanceFinding) -> bool:
    """A8 is for "nothing actionable": a targeted agent (A4, A5) or a new histology (A7) answers it."""
    return finding.actionable or finding.category is FindingCategory.TRANSFORMATION


def _retesting(context: ResistanceContext, tested: _Tested) -> tuple[SuggestedAction, ...]:
    """A3: plasma first when nothing was tested; tissue for K9 categories 2-4 or suspected transformation;
    nothing once a biopsy has confirmed a transformation (its histology answered the work-up)."""
    if tested.confirmed:
        return ()
    if not tested.results and not tested.suspected:
        return (_action(CareSuggestion.LIQUID_BIOPSY_CTDNA, Rule.A3),)
    if tested.tissue or context.tissue_not_feasible:
        return ()
    if tested.suspected:
        return (_action(CareSuggestion.TISSUE_REBIOPSY, Rule.X10, Rule.A3),)
    if tested.plasma in REFLEX_TO_TISSUE:
        return (_action(CareSuggestion.TISSUE_REBIOPSY, Rule.K9, Rule.A3),)
    return ()


def _workup_rules(
    knowledge: ResistanceKnowledge,
    context: ResistanceContext,
    variants: Sequence[VariantFact],
    tested: _Tested,
    standard: bool,
) -> tuple[Rule, ...]:
    rules = [Rule.X10] if tested.suspected else []
    rules += [Rule.K9] if tested.plasma else []
    rules += [Rule.K15] if tested.plasma is Flag.PLASMA_CNV_TO_CONFIRM else []
    entry = applicable_entry(knowledge, context.therapy_class, variants) if standard else None
    rules += [entry.rule] if entry else []
    return tuple(rules)


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
    return replace(first, note=" ".join(dict.fromkeys(notes)) or None, rules=rules)
