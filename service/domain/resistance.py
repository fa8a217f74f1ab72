"""Resistance mechanisms: variant and histology facts matched against the knowledge base for the current
therapy class (CLINICAL-RULES.md section 5), ranked as section 6 step 5 asks.

Readings taken where the text leaves room:
- Only facts dated on or after the start of the current therapy count (they describe resistance to it);
  undated variant facts count, undated histology does not (a transformation needs a time).
- The driver of an entry is context for the report, not a condition: a variant that matches on the right
  therapy class is reported even when the driver fact is not in the data.
- Ranking: transformation, actionable on-target, actionable bypass, local therapy for oligoprogression (X20,
  "listed as an alternative" below a matched switch), then non-actionable alterations; ties keep file order.

Which facts show a rule's alteration is :mod:`service.domain.resistance_matching`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from service.domain.facts import HistologyFact, VariantFact
from service.domain.resistance_kb import (
    Alteration,
    FindingCategory,
    ResistanceKnowledge,
    ResistanceRule,
    SampleKind,
)
from service.domain.resistance_matching import Histology, Hit, matches
from service.domain.rules import Rule
from service.domain.suggestions import SuggestedAction
from service.domain.variants import observe

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ResistanceContext:
    """The current line: its backbone class (drugs.yaml, R8), start date, whether P2 oligoprogression holds,
    the drugs the patient progressed on (R11), K16's NE_MARKER_RISING (X10 b) and whether tissue is recorded
    as not feasible (K9; no inbound shape yet, so the service never sets it)."""

    therapy_class: str
    therapy_started_on: dt.date | None = None
    oligoprogression: bool = False
    progression_on: dt.date | None = None  # the imaging PD date, when progression is supported (K9, A3, A8)
    progressed_on: frozenset[str] = frozenset()
    ne_marker_rising: bool = False
    tissue_not_feasible: bool = False


@dataclass(frozen=True, slots=True)
class ResistanceFinding:
    """One mechanism found: the rule, what to do, how strong the evidence is, and the facts that show it."""

    rule: Rule
    mechanism: str
    category: FindingCategory
    actionable: bool
    actions: tuple[SuggestedAction, ...]
    tier: str
    evidence_basis: str
    citations: tuple[int, ...]
    note: str | None
    supersedes: tuple[str, ...]
    alterations: tuple[str, ...]  # what matched, e.g. "EGFR T790M", "MET copy number 11"
    samples: tuple[SampleKind, ...]
    evidence: tuple[str, ...]  # source references of the facts


def find_mechanisms(
    knowledge: ResistanceKnowledge,
    context: ResistanceContext,
    variants: Sequence[VariantFact] = (),
    histologies: Sequence[Histology] = (),
) -> tuple[ResistanceFinding, ...]:
    """X1-X28 for the current therapy class, most important first (section 6 step 5)."""
    observed = tuple(observe(v) for v in variants if _on_therapy(v.observed_on, context, undated=True))
    dated = tuple(h for h in histologies if _on_therapy(_histology_date(h), context, undated=False))
    matched = []
    oligo = context.oligoprogression
    for rule in knowledge.rules_for(context.therapy_class):
        hits = matches(rule.alteration, rule.samples, knowledge, observed, dated, oligoprogression=oligo)
        if hits:
            matched.append((rule, _finding(rule, hits)))
    found = {f.mechanism for _, f in matched}
    findings = [f for rule, f in matched if _conditions_hold(rule, found)]
    kept = [f for f in findings if not _superseded(f, findings)]
    return tuple(sorted(kept, key=_rank))


def _conditions_hold(rule: ResistanceRule, found: set[str]) -> bool:
    """X6 after a 1st/2nd-generation TKI: the SACHI switch without T790M, A10 on osimertinib with it (C6)."""
    return set(rule.when_found) <= found and not set(rule.unless_found) & found


def shows_alteration(
    alteration: Alteration,
    samples: tuple[SampleKind, ...],
    variants: Sequence[VariantFact],
    knowledge: ResistanceKnowledge,
) -> tuple[str, ...]:
    """The sources of the variant facts that show an alteration (K9: is the driver in this plasma?)."""
    observed = tuple(observe(v) for v in variants)
    hits = matches(alteration, samples, knowledge, observed)
    return _unique(h.source for h in hits)


def _on_therapy(day: dt.date | None, context: ResistanceContext, *, undated: bool) -> bool:
    if day is None or context.therapy_started_on is None:
        return undated or context.therapy_started_on is None
    return day >= context.therapy_started_on


def _histology_date(fact: Histology) -> dt.date | None:
    return fact.observed_on if isinstance(fact, HistologyFact) else fact.onset_on


def _superseded(finding: ResistanceFinding, findings: list[ResistanceFinding]) -> bool:
    """X6: MET-AMP-HIGH replaces MET-AMP when both are found (tissue high, plasma or another block lower)."""
    return any(finding.mechanism in other.supersedes for other in findings)


def _rank(finding: ResistanceFinding) -> int:
    """Transformation, actionable on-target, actionable bypass, local therapy (X20), then what is not
    actionable at tier I-III (A10, trial referrals, K15 findings to confirm)."""
    if finding.category is FindingCategory.TRANSFORMATION:
        return 0
    if finding.category is FindingCategory.PATTERN:
        return 3
    if not finding.actionable:
        return 4
    return 1 if finding.category is FindingCategory.ON_TARGET else 2


def ranks_first(finding: ResistanceFinding) -> bool:
    """Above the standard options of A8/A12 (section 6 step 5): ranks 0-3 of :func:`_rank`."""
    return _rank(finding) < 4


def _finding(rule: ResistanceRule, hits: list[Hit]) -> ResistanceFinding:
    return ResistanceFinding(
        rule=rule.rule,
        mechanism=rule.mechanism,
        category=rule.category,
        actionable=rule.actionable,
        actions=rule.actions,
        tier=rule.tier,
        evidence_basis=rule.evidence,
        citations=rule.citations,
        note=rule.note,
        supersedes=rule.supersedes,
        alterations=_unique(h.label for h in hits),
        samples=_unique(h.sample for h in hits),
        evidence=_unique(h.source for h in hits if h.source),
    )


def _unique(values: Iterable[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(values))
