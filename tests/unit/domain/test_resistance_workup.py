"""K9 plasma limits and the A3/A8 molecular work-up of section 6 step 5."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_X1_...), as issue 5 asks
from __future__ import annotations

import pytest

from service.domain.facts import VariantFact
from service.domain.resistance import ResistanceContext
from service.domain.resistance_workup import ResistanceAssessment, assess_resistance
from service.domain.rules import Flag, Rule
from service.domain.suggestions import CareSuggestion
from tests.unit.domain.fact_builders import DAY_0, RESISTANCE, TISSUE, day, histology, variant

GEFITINIB, OSIMERTINIB = "egfr-tki-1st-generation", "egfr-tki-3rd-generation"
PROGRESSION = 240
L858R = variant("EGFR", "NP_005219.2:p.Leu858Arg", vaf="0.07")
T790M = variant("EGFR", "NP_005219.2:p.Thr790Met")
L858R_TISSUE = variant("EGFR", "p.L858R", kind=TISSUE, on=-40)
A12 = ("switch-therapy", "switch-therapy", "clinical-trial-referral")


def assess(
    therapy: str, *facts: VariantFact, progression: int | None = PROGRESSION, oligoprogression: bool = False
) -> ResistanceAssessment:
    on = day(progression) if progression is not None else None
    context = ResistanceContext(therapy, DAY_0, oligoprogression=oligoprogression, progression_on=on)
    return assess_resistance(RESISTANCE, context, facts)


def codes(result: ResistanceAssessment) -> list[str]:
    return [a.code.value for a in result.actions]


def test_seed_t790m_progression_example() -> None:
    """seed-t790m-progression: plasma T790M 3 % on gefitinib gives EGFR-T790M and a switch to osimertinib."""
    result = assess(GEFITINIB, L858R_TISSUE, L858R, T790M)
    assert result.mechanisms == ("EGFR-T790M",) and result.flags == (Flag.PLASMA_RESISTANCE_FOUND,)
    assert codes(result) == ["switch-therapy"] and result.actions[0].drugs == ("osimertinib",)
    assert result.rules == (Rule.X1, Rule.K9) and result.evidence[0] == T790M.source
    assert result.knowledge_version == RESISTANCE.version and result.therapy_class == GEFITINIB


def test_K9_plasma_negative_for_resistance_reflexes_to_tissue() -> None:
    """K9: plasma after progression shows the driver, no resistance: negative for resistance, to tissue."""
    result = assess(GEFITINIB, L858R_TISSUE, L858R, variant("EGFR", "p.T790M", present=False))
    assert result.flags == (Flag.PLASMA_NEGATIVE_FOR_RESISTANCE,) and Rule.K9 in result.rules
    assert codes(result) == ["tissue-rebiopsy"] and result.actions[0].rules == (Rule.K9, Rule.A3)
    assert L858R.source in result.evidence


def test_K9_plasma_non_informative_reflexes_to_tissue() -> None:
    """K9: plasma after progression shows neither driver nor resistance: PLASMA_NON_INFORMATIVE, tissue."""
    result = assess(OSIMERTINIB, variant("TP53", "p.R273H"))
    assert result.flags == (Flag.PLASMA_NON_INFORMATIVE,) and codes(result) == ["tissue-rebiopsy"]


def test_K9_only_the_latest_plasma_draw_after_progression_counts() -> None:
    """K9: the latest draw after progression decides; draws before progression are ignored."""
    earlier_t790m = variant("EGFR", "p.T790M", on=PROGRESSION + 1)
    later = variant("EGFR", "p.L858R", on=PROGRESSION + 30)
    result = assess(GEFITINIB, earlier_t790m, later)
    assert result.mechanisms == ("EGFR-T790M",) and result.flags == (Flag.PLASMA_NEGATIVE_FOR_RESISTANCE,)
    assert codes(result) == ["switch-therapy", "tissue-rebiopsy"]
    assert assess(GEFITINIB, variant("EGFR", "p.L858R", on=100)).flags == ()


def test_K9_tissue_already_tested_needs_no_reflex_and_goes_to_A8() -> None:
    """K9 with tissue tested since progression and nothing actionable: no rebiopsy, A8 platinum-based
    chemotherapy for the histology and trial referral."""
    result = assess(GEFITINIB, L858R, variant("EGFR", "p.L858R", kind=TISSUE))
    assert result.flags == (Flag.PLASMA_NEGATIVE_FOR_RESISTANCE,)
    assert codes(result) == ["switch-therapy", "clinical-trial-referral"]
    assert result.actions[0].drugs == ("carboplatin", "pemetrexed") and result.actions[1].rules == (Rule.A8,)


def test_A3_no_molecular_result_since_progression() -> None:
    """A3: no molecular result dated on or after progression suggests a liquid biopsy first."""
    result = assess(OSIMERTINIB, variant("EGFR", "p.L858R", on=100))
    assert codes(result) == ["liquid-biopsy-ctdna"] and result.actions[0].rules == (Rule.A3,)


def test_A3_oligoprogression_example_T44() -> None:
    """T44: oligoprogression with no molecular result since: local therapy, continue TKI, plasma NGS."""
    result = assess(OSIMERTINIB, oligoprogression=True)
    assert codes(result) == ["local-ablative-therapy", "continue-current-therapy", "liquid-biopsy-ctdna"]
    assert result.rules == (Rule.X20,)


def test_no_workup_without_a_progression_date() -> None:
    """Without a progression date the matcher reports mechanisms but suggests no re-testing."""
    result = assess(GEFITINIB, progression=None)
    assert result.actions == () and result.flags == ()


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ([variant("EGFR", "p.[T790M;C797S]")], [*A12]),
        ([variant("KRAS", "p.G12D")], [*A12]),
        ([variant("EGFR", "p.C797S")], [*A12, "mdt-trial-consideration"]),
        ([variant("MET", kind=TISSUE, copies="12")], ["add-targeted-agent", "add-targeted-agent"]),
    ],
)
def test_A8_only_when_nothing_actionable(facts: list[VariantFact], expected: list[str]) -> None:
    """A8/A12 (X27): the standard options once plasma shows only non-actionable alterations (category 1);
    tier-IV findings (A10) never suppress them (C8); none after a matched agent."""
    assert codes(assess(OSIMERTINIB, *facts)) == expected


def test_A8_not_after_a_transformation() -> None:
    """A8: small-cell transformation is answered by histology-directed chemotherapy, not a trial referral."""
    context = ResistanceContext(OSIMERTINIB, DAY_0, progression_on=day(PROGRESSION))
    tissue = variant("TP53", "p.R273H", kind=TISSUE)
    result = assess_resistance(RESISTANCE, context, [tissue], [histology("small-cell", small_cell=True)])
    assert codes(result) == ["histology-directed-chemotherapy"]


def test_repeated_suggestions_merge_their_rules_and_notes() -> None:
    """Two findings that both suggest a trial give one suggestion naming both rules."""
    result = assess(OSIMERTINIB, variant("EGFR", "p.[T790M;C797S]"), variant("KRAS", "p.G12D"))
    action = result.actions[2]
    assert action.code is CareSuggestion.CLINICAL_TRIAL_REFERRAL
    assert action.rules == (Rule.X27, Rule.A12, Rule.X2, Rule.A8, Rule.X9) and action.note is not None
