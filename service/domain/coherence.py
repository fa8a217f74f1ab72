"""Coherence of the suggestion set (CLINICAL-RULES.md 0.2 section 6 step 6 and section 6.2, C1-C9).

Every source of suggestions (A0-A13 from the status and the flags, the resistance actions of section 5, A6
from the pattern) hands its candidates to :func:`coherent`, the one place that applies the precedence and
exclusion rules to the whole set, so that no rule elsewhere can produce a contradiction. What a rule removes
is kept with the rule that removed it: the Provenance lists it (step 6: "never silently").

The rules run in this order, each over what the previous ones kept: A6 needs oligoprogression (P2, P6, P7);
off treatment nothing is continued (R6); C3, C4, C5, C6, C7, C2, C1. Nothing removes A3 (work-up) or
`clinical-trial-referral`, and an A10 removes nothing (C8). The set comes back in the rank order of table
6.2; one suggestion per code and drug list (one activity per regimen, C9).

Readings taken where the text leaves room:
- C3 removes A2's continue part ("continue ICI beyond iUPD"); its confirmation imaging stays, as A9's row of
  table 6.2 removes only `continue-current-therapy`.
- C4: a histology-directed chemotherapy without confirmed histology becomes the A3 `tissue-rebiopsy` that
  asks the histology question.
- C5: the service does not know which site the rebiopsy came from, so a confirmed transformation removes A6
  altogether, with every switch or add-on (they all follow the pre-transformation histology).
- C6: an add-on on a backbone failing on an on-target mechanism moves onto the matched switch as an A10
  naming both drugs (T54); without a matched switch there is no backbone to carry it and it is dropped.
- C7 exempts every A10: the re-challenges of X4/X14 and the continued backbone of an A10 combination
  (osimertinib + MET-TKI after osimertinib, X21) are MDT matters, never standard suggestions.
- R6 needs a recorded line: without any medication record nothing says the patient is off treatment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from service.domain.rules import Flag, Rule
from service.domain.suggestions import CareSuggestion, SuggestedAction

S = CareSuggestion
CONTINUE = S.CONTINUE_CURRENT_THERAPY
NEVER_REMOVED = frozenset({S.LIQUID_BIOPSY_CTDNA, S.TISSUE_REBIOPSY, S.CLINICAL_TRIAL_REFERRAL})
_A_RULES = frozenset(r for r in Rule if r.value[0] == "A")
_LOCAL_PATTERNS = frozenset({Flag.OLIGOPROGRESSION, Flag.CNS_OLIGOPROGRESSION})
_NOT_LOCAL = frozenset({Flag.LEPTOMENINGEAL_PROGRESSION, Flag.SYSTEMIC_PROGRESSION})
_NEW_LINE = frozenset({S.SWITCH_THERAPY, S.HISTOLOGY_DIRECTED_CHEMOTHERAPY})
_ENDS_CONTINUE = _NEW_LINE | {S.URGENT_CLINICAL_REVIEW}
_MATCHED = frozenset({S.SWITCH_THERAPY, S.ADD_TARGETED_AGENT})


@dataclass(frozen=True, slots=True)
class CoherenceContext:
    """What the rules need besides the candidates: the flags, the therapy context (R6, R11) and what the
    resistance work-up found (a confirmed transformation, an on-target mechanism and its matched switch)."""

    flags: frozenset[Flag] = frozenset()
    off_treatment: bool = False  # R6: the last line has ended
    progressed_on: frozenset[str] = frozenset()  # R11
    transformation_confirmed: bool = False  # X10/X11 histology (C4, C5)
    on_target: bool = False  # the backbone fails on an on-target mechanism (C6)
    matched_switch: tuple[str, ...] = ()  # the drugs of that mechanism's switch (X1: osimertinib)


@dataclass(frozen=True, slots=True)
class DroppedSuggestion:
    """A candidate the coherence rules removed, and the rule that removed it (section 6 step 6)."""

    action: SuggestedAction
    rule: Rule


@dataclass(frozen=True, slots=True)
class CoherentSuggestions:
    kept: tuple[SuggestedAction, ...] = ()
    dropped: tuple[DroppedSuggestion, ...] = ()

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules that shaped the set: those of the kept suggestions, then those that dropped one."""
        used = [r for a in self.kept for r in a.rules] + [d.rule for d in self.dropped]
        return tuple(dict.fromkeys(used))


@dataclass
class _Set:
    kept: list[SuggestedAction]
    dropped: list[DroppedSuggestion]

    def drop(self, rule: Rule, removed: Callable[[SuggestedAction], bool]) -> None:
        gone = [a for a in self.kept if removed(a) and a.code not in NEVER_REMOVED]
        self.kept = [a for a in self.kept if a not in gone]
        self.dropped += [DroppedSuggestion(a, rule) for a in gone]

    def has(self, codes: Iterable[CareSuggestion]) -> bool:
        return any(a.code in frozenset(codes) for a in self.kept)

    def ensure(self, action: SuggestedAction) -> None:
        if not self.has((action.code,)):
            self.kept.append(action)


def coherent(candidates: Iterable[SuggestedAction], context: CoherenceContext) -> CoherentSuggestions:
    """The candidates made coherent (C1-C9) and ranked (table 6.2), with what was dropped and why."""
    found = _Set(merged(candidates), [])
    for rule in _RULES:
        rule(found, context)
    kept = sorted(merged(found.kept), key=rank)
    return CoherentSuggestions(tuple(kept), tuple(dict.fromkeys(found.dropped)))


def rank(action: SuggestedAction) -> int:
    """Table 6.2, highest first: A9, A7, A4, A5, A6, A8/A12/A10, A3 and re-imaging, A0; then A13."""
    if action.code is CONTINUE:
        return _continue_rank(action)
    if action.code is S.SWITCH_THERAPY and {Rule.A8, Rule.A12} & set(action.rules):
        return 6  # a standard option (A8, A12) ranks with the trial referral, not with a matched switch
    return _RANK[action.code]


_RANK = {
    S.URGENT_CLINICAL_REVIEW: 1,
    S.HISTOLOGY_DIRECTED_CHEMOTHERAPY: 2,
    S.SWITCH_THERAPY: 3,
    S.ADD_TARGETED_AGENT: 4,
    S.LOCAL_ABLATIVE_THERAPY: 5,
    S.CLINICAL_TRIAL_REFERRAL: 6,
    S.MDT_TRIAL_CONSIDERATION: 6,
    S.LIQUID_BIOPSY_CTDNA: 7,
    S.TISSUE_REBIOPSY: 7,
    S.REMEASURE_OR_REPEAT_IMAGING: 7,
    S.CONFIRM_PROGRESSION_IMAGING: 7,
    S.CLINICAL_REVIEW: 9,  # A13 is not in table 6.2: not urgent, it removes nothing and comes last
}


def _continue_rank(action: SuggestedAction) -> int:
    """A continue ranks with the suggestion it belongs to: A6 (5), A1/A2/A11 re-imaging (7), else A0 (8)."""
    if Rule.A6 in action.rules:
        return 5
    return 7 if {Rule.A1, Rule.A2, Rule.A11} & set(action.rules) else 8


def merged(actions: Iterable[SuggestedAction]) -> list[SuggestedAction]:
    """One suggestion per code and drug list, in first-seen place, with the rules of every copy (C9: two
    regimens stay two suggestions)."""
    by_key: dict[tuple[CareSuggestion, tuple[str, ...]], SuggestedAction] = {}
    for action in actions:
        first = by_key.setdefault((action.code, action.drugs), action)
        by_key[(action.code, action.drugs)] = replace(first, rules=_union(first.rules, action.rules))
    return list(by_key.values())


def _union(*rules: Iterable[Rule]) -> tuple[Rule, ...]:
    return tuple(dict.fromkeys(r for group in rules for r in group))


def _only_from(action: SuggestedAction, *sources: Rule) -> bool:
    """The action's A-rules are all among ``sources`` (a continue merged from A0 and A6 is more than A6's)."""
    return {r for r in action.rules if r in _A_RULES} <= set(sources)


def _local_therapy_needs_oligoprogression(found: _Set, context: CoherenceContext) -> None:
    """P2, P6, P7: A6 only with (CNS) oligoprogression, never with leptomeningeal or systemic progression."""
    if context.flags & _LOCAL_PATTERNS and not context.flags & _NOT_LOCAL:
        return
    rule = Rule.P6 if Flag.LEPTOMENINGEAL_PROGRESSION in context.flags else Rule.P2
    found.drop(rule, lambda a: a.code is S.LOCAL_ABLATIVE_THERAPY or _a6_continue(a))


def _a6_continue(action: SuggestedAction) -> bool:
    return action.code is CONTINUE and _only_from(action, Rule.A6)


def _off_treatment(found: _Set, context: CoherenceContext) -> None:
    """R6: off treatment, `continue-current-therapy` is never suggested."""
    if context.off_treatment:
        found.drop(Rule.R6, lambda a: a.code is CONTINUE)


def _c3_no_a2_when_not_clinically_stable(found: _Set, context: CoherenceContext) -> None:
    if Flag.NOT_CLINICALLY_STABLE in context.flags:
        found.drop(Rule.C3, lambda a: a.code is CONTINUE and _only_from(a, Rule.A2))
        found.ensure(SuggestedAction(S.URGENT_CLINICAL_REVIEW, (), None, (Rule.A9, Rule.C3)))


def _c4_histology_needs_confirmation(found: _Set, context: CoherenceContext) -> None:
    if context.transformation_confirmed or not found.has((S.HISTOLOGY_DIRECTED_CHEMOTHERAPY,)):
        return
    found.drop(Rule.C4, lambda a: a.code is S.HISTOLOGY_DIRECTED_CHEMOTHERAPY)
    found.ensure(SuggestedAction(S.TISSUE_REBIOPSY, (), None, (Rule.A3, Rule.C4)))


def _c5_transformation_overrides(found: _Set, context: CoherenceContext) -> None:
    if context.transformation_confirmed:
        found.drop(Rule.C5, lambda a: a.code in _MATCHED or a.code is S.LOCAL_ABLATIVE_THERAPY)


def _c6_add_on_on_the_given_backbone(found: _Set, context: CoherenceContext) -> None:
    """An add-on never goes on a backbone failing on an on-target mechanism: with a matched switch it is
    an A10 on the switch's drug (osimertinib + savolitinib, T54)."""
    add_ons = [a for a in found.kept if a.code is S.ADD_TARGETED_AGENT] if context.on_target else []
    found.drop(Rule.C6, lambda a: a in add_ons)
    if context.matched_switch:
        found.kept += [_on_matched_backbone(a, context.matched_switch) for a in add_ons]


def _on_matched_backbone(add_on: SuggestedAction, backbone: tuple[str, ...]) -> SuggestedAction:
    rules = _union((r for r in add_on.rules if r is not Rule.A5), (Rule.A10, Rule.C6))
    drugs = tuple(dict.fromkeys((*backbone, *add_on.drugs)))
    return replace(add_on, code=S.MDT_TRIAL_CONSIDERATION, drugs=drugs, note=None, rules=rules)


def _c7_no_drug_progressed_on(found: _Set, context: CoherenceContext) -> None:
    """R11: a regimen with a drug the patient progressed on is dropped whole; A10 is the only exception."""
    found.drop(
        Rule.C7,
        lambda a: a.code is not S.MDT_TRIAL_CONSIDERATION and bool(context.progressed_on & set(a.drugs)),
    )


def _c2_local_therapy_as_adjunct(found: _Set, context: CoherenceContext) -> None:
    """With A4 or A7, A6 is local therapy only, an adjunct to the new line: its continue part goes."""
    if not found.has(_NEW_LINE):
        return
    found.drop(Rule.C2, _a6_continue)
    found.kept = [_adjunct(a) if a.code is S.LOCAL_ABLATIVE_THERAPY else a for a in found.kept]


def _adjunct(action: SuggestedAction) -> SuggestedAction:
    return replace(action, rules=_union(action.rules, (Rule.C2,)))


def _c1_no_continue_with_a_new_line(found: _Set, context: CoherenceContext) -> None:
    """Continue never beside urgent review, a switch or histology-directed chemotherapy (or a confirmed
    transformation, which makes the current therapy the wrong one, table 6.2 rank 2)."""
    if found.has(_ENDS_CONTINUE) or context.transformation_confirmed:
        found.drop(Rule.C1, lambda a: a.code is CONTINUE)


_RULES: tuple[Callable[[_Set, CoherenceContext], None], ...] = (
    _local_therapy_needs_oligoprogression,
    _off_treatment,
    _c3_no_a2_when_not_clinically_stable,
    _c4_histology_needs_confirmation,
    _c5_transformation_overrides,
    _c6_add_on_on_the_given_backbone,
    _c7_no_drug_progressed_on,
    _c2_local_therapy_as_adjunct,
    _c1_no_continue_with_a_new_line,
)
