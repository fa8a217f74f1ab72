"""X10 (amended): when a histological transformation is suspected, before any histology confirms it.

``TRANSFORMATION_SUSPECTED`` is a biopsy trigger (A3 `tissue-rebiopsy` with the histology question), never a
reason for A7, which waits for the histology (C4). Triggers implemented:
(a) RB1 loss of function (truncating: nonsense or frameshift; a deletion; a splice-site change in the coding
    HGVS; copy number 0-1) together with any TP53 alteration, in plasma or tissue [33][34];
(b) K16 ``NE_MARKER_RISING`` (NSE or ProGRP above the ULN and rising, confirmed).
Trigger (c), PD with new liver or brain lesions while the EGFR driver VAF falls, is not implemented: it needs
the sites of the new lesions and the driver's VAF series together, which the resistance context does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from service.domain.facts import VariantFact
from service.domain.hgvs import ProteinChange
from service.domain.resistance import ResistanceContext
from service.domain.resistance_kb import ResistanceKnowledge
from service.domain.rules import Rule
from service.domain.variants import ObservedVariant, observe

SPLICE_SITE = re.compile(r"c\.\d+[+-][12][ACGT]?")  # the canonical +1/+2 and -1/-2 intronic positions
LOST_COPY_NUMBER = Decimal(1)
TRUNCATING = frozenset({"fs", "del"})


def transformation_suspected(
    knowledge: ResistanceKnowledge, context: ResistanceContext, variants: Sequence[VariantFact]
) -> bool:
    """X10 (a) or (b) on a line X10 applies to (EGFR TKIs and amivantamab-based lines)."""
    if not any(rule.rule is Rule.X10 for rule in knowledge.rules_for(context.therapy_class)):
        return False
    return context.ne_marker_rising or rb1_lost_with_tp53(variants)


def rb1_lost_with_tp53(variants: Sequence[VariantFact]) -> bool:
    """X10 (a): RB1 loss of function and a TP53 alteration in the patient's results."""
    observed = [observe(v) for v in variants]
    present = [v for v in observed if v.present]
    rb1_lost = any(_loss_of_function(v) for v in present if v.gene == "RB1")
    return rb1_lost and any(v.gene == "TP53" for v in present)


def _loss_of_function(variant: ObservedVariant) -> bool:
    number = variant.fact.copy_number
    if number is not None and number <= LOST_COPY_NUMBER:
        return True
    coding = variant.fact.coding_hgvs or ""
    return bool(SPLICE_SITE.search(coding)) or any(_truncating(c) for c in variant.changes)


def _truncating(change: ProteinChange) -> bool:
    return change.kind in TRUNCATING or change.alt.startswith("*")
