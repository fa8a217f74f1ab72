"""K9 (amended) and K15: what the latest plasma draw dated on or after progression says, in the order of K9.

1. ``PLASMA_RESISTANCE_FOUND``: a result of the draw is evidence for a resistance finding (SNV, indel,
   fusion).
2. ``PLASMA_CNV_TO_CONFIRM``: the only candidate is a copy-number gain of MET, ERBB2 or EGFR called in plasma
   (an X22 finding, category ``to-confirm``): to confirm in tissue, never "no resistance alteration".
3. ``PLASMA_NEGATIVE_FOR_RESISTANCE``: the line's driver is detected (on an amivantamab-based line too, T58).
4. ``PLASMA_NON_INFORMATIVE``: neither.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.domain.facts import VariantFact
from service.domain.resistance import ResistanceContext, ResistanceFinding, shows_alteration
from service.domain.resistance_kb import FindingCategory, ResistanceKnowledge, SampleKind
from service.domain.rules import Flag
from service.domain.variants import sample_kind

LIQUID_ONLY = (SampleKind.LIQUID,)
# K9: categories 2-4 reflex to tissue (A3); only 1 and 3 say anything about "nothing actionable".
REFLEX_TO_TISSUE = frozenset(
    {Flag.PLASMA_CNV_TO_CONFIRM, Flag.PLASMA_NEGATIVE_FOR_RESISTANCE, Flag.PLASMA_NON_INFORMATIVE}
)


def latest_plasma_draw(tested: Sequence[VariantFact]) -> list[VariantFact]:
    """The results of the latest plasma draw among those dated on or after progression."""
    plasma = [v for v in tested if sample_kind(v) is SampleKind.LIQUID]
    latest = max((v.observed_on for v in plasma if v.observed_on), default=None)
    return [v for v in plasma if v.observed_on == latest]


def plasma_category(
    knowledge: ResistanceKnowledge,
    context: ResistanceContext,
    draw: Sequence[VariantFact],
    findings: Sequence[ResistanceFinding],
) -> Flag | None:
    """The K9 category of the draw (None without a draw)."""
    if not draw:
        return None
    sources = {v.source for v in draw}
    shown = [f for f in findings if sources & set(f.evidence)]
    if any(f.category is not FindingCategory.TO_CONFIRM for f in shown):
        return Flag.PLASMA_RESISTANCE_FOUND
    if shown:
        return Flag.PLASMA_CNV_TO_CONFIRM
    drivers = knowledge.drivers_for(context.therapy_class)
    seen = any(shows_alteration(d.alteration, LIQUID_ONLY, draw, knowledge) for d in drivers)
    return Flag.PLASMA_NEGATIVE_FOR_RESISTANCE if seen else Flag.PLASMA_NON_INFORMATIVE
