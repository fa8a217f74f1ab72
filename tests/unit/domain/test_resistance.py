"""Resistance rules X1-X20 matched against variant and histology facts (CLINICAL-RULES.md section 5)."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_X1_...), as issue 5 asks
from __future__ import annotations

import pytest

from service.domain.facts import VariantFact
from service.domain.resistance import ResistanceContext, find_mechanisms, shows_alteration
from service.domain.resistance_kb import SampleKind
from service.domain.rules import Rule
from service.domain.suggestions import CareSuggestion
from tests.unit.domain.fact_builders import (
    DAY_0,
    RESISTANCE,
    TISSUE,
    UNKNOWN,
    condition,
    day,
    histology,
    variant,
)

GEFITINIB, AFATINIB, OSIMERTINIB = (
    "egfr-tki-1st-generation",
    "egfr-tki-2nd-generation",
    "egfr-tki-3rd-generation",
)
CRIZOTINIB, ALECTINIB, LORLATINIB = (
    "alk-tki-1st-generation",
    "alk-tki-2nd-generation",
    "alk-tki-3rd-generation",
)


def mechanisms(therapy: str, *variants: VariantFact, oligo: bool = False) -> list[tuple[Rule, str]]:
    context = ResistanceContext(therapy, DAY_0, oligoprogression=oligo)
    return [(f.rule, f.mechanism) for f in find_mechanisms(RESISTANCE, context, variants)]


@pytest.mark.parametrize(
    "protein", ["T790M", "p.T790M", "p.Thr790Met", "NP_005219.2:p.(Thr790Met)", "p.(Thr790Met)"]
)
@pytest.mark.parametrize("therapy", [GEFITINIB, AFATINIB])
def test_X1_t790m_on_first_generation_egfr_tki(therapy: str, protein: str) -> None:
    """X1: T790M on a 1st/2nd-generation EGFR TKI, however written, suggests a switch to osimertinib."""
    (finding,) = find_mechanisms(RESISTANCE, ResistanceContext(therapy, DAY_0), [variant("EGFR", protein)])
    assert (finding.rule, finding.mechanism, finding.tier) == (Rule.X1, "EGFR-T790M", "I-A")
    (action,) = finding.actions
    assert (action.code, action.drugs, action.rules) == (
        CareSuggestion.SWITCH_THERAPY,
        ("osimertinib",),
        (Rule.X1, Rule.A4),
    )
    assert finding.citations and finding.evidence == (f"Observation/EGFR-{protein}-240-plasma",)


def test_X1_not_on_osimertinib() -> None:
    """X1: T790M is not a resistance finding for a patient already on osimertinib."""
    assert mechanisms(OSIMERTINIB, variant("EGFR", "p.T790M")) == []


def test_X1_example_T36_driver_alone_is_not_resistance() -> None:
    """T36: the sensitising driver (L858R, ex19del) is not a mechanism; T790M at 1.2 % is X1."""
    driver, t790m = variant("EGFR", "p.E746_A750del"), variant("EGFR", "p.T790M", vaf="0.012")
    assert mechanisms(GEFITINIB, driver) == []
    assert mechanisms(GEFITINIB, driver, t790m) == [(Rule.X1, "EGFR-T790M")]


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ([variant("EGFR", "p.[Thr790Met;Cys797Ser]")], (Rule.X2, "EGFR-C797S-CIS")),
        ([variant("EGFR", "p.[Thr790Met];[Cys797Ser]")], (Rule.X3, "EGFR-C797S-TRANS")),
        ([variant("EGFR", "p.C797S"), variant("EGFR", "p.T790M")], (Rule.X3, "EGFR-C797S-PHASE-UNKNOWN")),
        ([variant("EGFR", "p.C797S")], (Rule.X4, "EGFR-C797S")),
        ([variant("EGFR", "p.C797S"), variant("EGFR", "p.T790M", present=False)], (Rule.X4, "EGFR-C797S")),
        ([variant("EGFR", "p.C797S"), variant("EGFR", "p.T790M", kind=TISSUE)], (Rule.X4, "EGFR-C797S")),
    ],
)
def test_X2_X3_X4_c797s_phase(facts: list[VariantFact], expected: tuple[Rule, str]) -> None:
    """X2-X4: C797S in cis, in trans, with unreported phase, or without T790M in the same sample."""
    assert mechanisms(OSIMERTINIB, *facts) == [expected]


def test_X2_cis_suggests_no_egfr_tki() -> None:
    """X2: no EGFR TKI works in cis, so the suggestion is a trial (chemotherapy in the note), not a switch."""
    (finding,) = find_mechanisms(
        RESISTANCE, ResistanceContext(OSIMERTINIB, DAY_0), [variant("EGFR", "p.[T790M;C797S]")]
    )
    assert not finding.actionable
    assert [a.code for a in finding.actions] == [CareSuggestion.CLINICAL_TRIAL_REFERRAL]


@pytest.mark.parametrize("protein", ["p.Leu718Gln", "p.L718V", "p.G724S"])
def test_X5_l718_g724_on_osimertinib(protein: str) -> None:
    """X5: L718Q/V and G724S on osimertinib suggest afatinib."""
    assert mechanisms(OSIMERTINIB, variant("EGFR", protein)) == [(Rule.X5, "EGFR-L718-G724")]


@pytest.mark.parametrize(
    ("copies", "expected"),
    [
        ("11", [(Rule.X6, "MET-AMP-HIGH")]),
        ("10", [(Rule.X6, "MET-AMP-HIGH")]),
        ("9.9", [(Rule.X21, "MET-AMP")]),
        ("6", [(Rule.X21, "MET-AMP")]),
        ("5", [(Rule.X21, "MET-AMP")]),
        ("4.9", []),
        (None, []),
    ],
)
def test_X6_met_amplification_levels(copies: str | None, expected: list[tuple[Rule, str]]) -> None:
    """X6 / X21 / T38: after osimertinib tissue MET copy number >= 10 is high level (X6), 5-<10 is X21."""
    assert mechanisms(OSIMERTINIB, variant("MET", kind=TISSUE, copies=copies)) == expected


@pytest.mark.parametrize(
    ("copies", "ratio", "expected"),
    [
        (None, "2.2", [(Rule.X21, "MET-AMP")]),  # T38: MET/CEP7 2.2 alone meets INSIGHT
        (None, "2", [(Rule.X21, "MET-AMP")]),  # inclusive
        (None, "1.9", []),
        ("4", "2.5", [(Rule.X21, "MET-AMP")]),  # either threshold is enough
        ("11", "1.5", [(Rule.X6, "MET-AMP-HIGH")]),  # high level needs the copy number (GCN >= 10)
        (None, "12", [(Rule.X21, "MET-AMP")]),  # a ratio alone is never high level
    ],
)
def test_X6_met_cep7_ratio(copies: str | None, ratio: str, expected: list[tuple[Rule, str]]) -> None:
    """X6: "FISH GCN >= 5 or MET/CEP7 >= 2"; the ratio is read from tissue like the copy number."""
    found = mechanisms(OSIMERTINIB, variant("MET", kind=TISSUE, copies=copies, ratio=ratio))
    assert found == expected


def test_X6_ratio_finding_names_the_ratio_and_plasma_ratio_is_not_enough() -> None:
    """The finding's alteration says which measure met the threshold; a plasma ratio counts no more than a
    plasma copy number (K9)."""
    (finding,) = find_mechanisms(
        RESISTANCE, ResistanceContext(OSIMERTINIB, DAY_0), [variant("MET", kind=TISSUE, ratio="2.2")]
    )
    assert finding.alterations == ("MET/centromere ratio 2.2",)
    assert mechanisms(OSIMERTINIB, variant("MET", ratio="3")) == []


def test_X7_erbb2_cep17_ratio() -> None:
    """X7: ERBB2/CEP17 >= 2.0 in tissue is HER2 amplification."""
    assert mechanisms(OSIMERTINIB, variant("ERBB2", kind=TISSUE, ratio="2.0")) == [(Rule.X7, "ERBB2-AMP")]
    assert mechanisms(OSIMERTINIB, variant("ERBB2", kind=TISSUE, ratio="1.8")) == []


def test_X6_high_level_supersedes_the_lower_level() -> None:
    """X6: tissue blocks at copy number 11 and 6 give one MET-AMP-HIGH finding."""
    facts = (variant("MET", kind=TISSUE, copies="11", source="a"), variant("MET", kind=TISSUE, copies="6"))
    assert mechanisms(OSIMERTINIB, *facts) == [(Rule.X6, "MET-AMP-HIGH")]


def test_X6_plasma_copy_number_is_not_enough() -> None:
    """X6 / K15: a plasma copy number is only a finding to confirm (X22); unknown specimens still count."""
    assert mechanisms(OSIMERTINIB, variant("MET", copies="12")) == [(Rule.X22, "MET-AMP-PLASMA")]
    assert mechanisms(OSIMERTINIB, variant("MET", kind=UNKNOWN, copies="12")) == [(Rule.X6, "MET-AMP-HIGH")]


def test_X21_met_non_high_after_osimertinib_is_A10_only() -> None:
    """T38 variant / X21: MET-AMP after osimertinib is MDT/trial consideration, never an add-on."""
    (finding,) = find_mechanisms(
        RESISTANCE, ResistanceContext(OSIMERTINIB, DAY_0), [variant("MET", kind=TISSUE, copies="6")]
    )
    (action,) = finding.actions
    assert action.code is CareSuggestion.MDT_TRIAL_CONSIDERATION
    assert action.drugs == ("osimertinib", "savolitinib") and action.label == "not-standard-of-care"
    assert action.note is not None and "weak data" in action.note and not finding.actionable
    assert finding.alterations == ("MET copy number 6",) and finding.samples == (SampleKind.TISSUE,)


@pytest.mark.parametrize(
    ("facts", "therapy", "expected"),
    [
        ([variant("ERBB2", kind=TISSUE, copies="6")], GEFITINIB, [(Rule.X7, "ERBB2-AMP")]),
        ([variant("ERBB2", kind=TISSUE, copies="5")], GEFITINIB, []),
        ([variant("BRAF", "p.Val600Glu")], OSIMERTINIB, [(Rule.X8, "BRAF-V600E")]),
        ([variant("BRAF", "p.V600E")], GEFITINIB, []),
        ([variant("KRAS", "p.G12D")], OSIMERTINIB, [(Rule.X9, "MAPK-PI3K-BYPASS")]),
        ([variant("PIK3CA", "p.E545K")], OSIMERTINIB, [(Rule.X9, "MAPK-PI3K-BYPASS")]),
        ([variant("CCDC6::RET")], OSIMERTINIB, [(Rule.X9, "BYPASS-FUSION")]),
        ([variant("RET", "RET fusion")], OSIMERTINIB, [(Rule.X9, "BYPASS-FUSION")]),
        ([variant("RET", "p.M918T")], OSIMERTINIB, []),
    ],
)
def test_X7_X8_X9_bypass_alterations(
    facts: list[VariantFact], therapy: str, expected: list[tuple[Rule, str]]
) -> None:
    """X7-X9: ERBB2 amplification, BRAF V600E, RAS/PIK3CA mutations and fusions on an EGFR TKI."""
    assert mechanisms(therapy, *facts) == expected


def test_X10_sclc_transformation_example_T40() -> None:
    """T40 / X10: small-cell histology on osimertinib suggests platinum-etoposide and ranks first."""
    context = ResistanceContext(OSIMERTINIB, DAY_0)
    facts = [variant("MET", kind=TISSUE, copies="11"), variant("EGFR", "p.C797S")]
    findings = find_mechanisms(RESISTANCE, context, facts, [histology("small-cell", small_cell=True)])
    assert [f.mechanism for f in findings] == ["SCLC-TRANSFORMATION", "MET-AMP-HIGH", "EGFR-C797S"]
    (action,) = findings[0].actions
    assert action.code is CareSuggestion.HISTOLOGY_DIRECTED_CHEMOTHERAPY and "etoposide" in action.drugs
    assert action.note is not None and "0/17" in action.note


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ([histology("small-cell", on=-30)], []),
        ([histology("small-cell", on=None)], []),
        ([histology("adenocarcinoma")], []),
        ([condition("small-cell", onset=200)], ["SCLC-TRANSFORMATION"]),
        ([condition("small-cell", onset=-60)], []),
        ([histology("squamous-cell")], ["SQUAMOUS-TRANSFORMATION"]),
    ],
)
def test_X10_X11_transformation_needs_a_new_histology_on_therapy(facts: list, expected: list[str]) -> None:
    """X10/X11: only histology dated on or after the therapy start is a transformation."""
    context = ResistanceContext(OSIMERTINIB, DAY_0)
    assert [f.mechanism for f in find_mechanisms(RESISTANCE, context, (), facts)] == expected


@pytest.mark.parametrize(
    ("therapy", "facts", "expected"),
    [
        (CRIZOTINIB, [variant("ALK", "p.L1196M")], [(Rule.X12, "ALK-KINASE-MUTATION")]),
        (CRIZOTINIB, [variant("ALK", "p.G1269A")], [(Rule.X12, "ALK-KINASE-MUTATION")]),
        (ALECTINIB, [variant("ALK", "p.Gly1202Arg")], [(Rule.X13, "ALK-G1202R")]),
        (ALECTINIB, [variant("ALK", "p.I1171N")], [(Rule.X13, "ALK-I1171X")]),
        (ALECTINIB, [variant("ALK", "p.L1196M")], []),
        (LORLATINIB, [variant("ALK", "p.G1202R"), variant("ALK", "p.L1196M")], [(Rule.X14, "ALK-COMPOUND")]),
        (LORLATINIB, [variant("ALK", "p.[G1202R;L1196M]")], [(Rule.X14, "ALK-COMPOUND")]),
        (LORLATINIB, [variant("ALK", "p.G1202R")], []),
        (LORLATINIB, [variant("ALK", "p.G1202R"), variant("ALK", "p.L1196M", on=300)], []),
        (CRIZOTINIB, [variant("ROS1", "p.Gly2032Arg")], [(Rule.X15, "ROS1-G2032R")]),
        ("met-tki", [variant("MET", "p.D1228N")], [(Rule.X17, "MET-D1228-Y1230")]),
        ("met-tki", [variant("MET", "p.Tyr1230Cys")], [(Rule.X17, "MET-D1228-Y1230")]),
        ("met-tki", [variant("MET", kind=TISSUE, copies="7")], [(Rule.X17, "MET-AMP")]),
        ("met-tki", [variant("KRAS", "p.G12V")], [(Rule.X17, "MAPK-BYPASS")]),
        ("kras-g12c-inhibitor", [variant("KRAS", "p.Y96C")], [(Rule.X16, "KRAS-SECONDARY-MUTATION")]),
        ("kras-g12c-inhibitor", [variant("KRAS", "p.G12C")], []),
        ("ret-tki", [variant("RET", "p.G810R")], [(Rule.X18, "RET-G810X")]),
        ("braf-mek-inhibitor", [variant("NRAS", "p.Q61K")], [(Rule.X19, "MAPK-REACTIVATION")]),
    ],
)
def test_X12_to_X19_other_drivers(
    therapy: str, facts: list[VariantFact], expected: list[tuple[Rule, str]]
) -> None:
    """X12-X19: ALK, ROS1, KRAS G12C, MET exon 14, RET and BRAF resistance on their own therapy classes."""
    assert mechanisms(therapy, *facts) == expected


def test_X15_points_away_from_lorlatinib() -> None:
    """X15: G2032R suggests repotrectinib or taletrectinib and says lorlatinib is not active."""
    context = ResistanceContext(CRIZOTINIB, DAY_0)
    (finding,) = find_mechanisms(RESISTANCE, context, [variant("ROS1", "p.G2032R")])
    assert [a.drugs for a in finding.actions] == [("repotrectinib",), ("taletrectinib",)]
    assert "lorlatinib are not active" in finding.evidence_basis


def test_X20_oligoprogression_ranks_below_a_matched_switch() -> None:
    """X20 / section 6 step 5: local therapy comes after a matched switch, before a trial-only finding."""
    facts = (variant("EGFR", "p.T790M"), variant("ERBB2", kind=TISSUE, copies="8"))
    assert mechanisms(GEFITINIB, *facts, oligo=True) == [
        (Rule.X1, "EGFR-T790M"),
        (Rule.X20, "OLIGOPROGRESSION"),
        (Rule.X7, "ERBB2-AMP"),
    ]
    assert mechanisms("immune-checkpoint-inhibitor", oligo=True) == []


def test_ranking_tier_iv_on_target_after_actionable_bypass() -> None:
    """Section 6 step 5: a tier-IV on-target finding (X5, A10) ranks below an actionable bypass (X8)."""
    facts = (variant("BRAF", "p.V600E"), variant("EGFR", "p.L718Q"))
    assert [rule for rule, _ in mechanisms(OSIMERTINIB, *facts)] == [Rule.X8, Rule.X5]


def test_facts_before_therapy_start_and_absent_results_do_not_count() -> None:
    """Resistance to this line: variants dated before its start, or reported absent, are not findings."""
    assert mechanisms(GEFITINIB, variant("EGFR", "p.T790M", on=-10)) == []
    assert mechanisms(GEFITINIB, variant("EGFR", "p.T790M", present=False)) == []
    undated = ResistanceContext(GEFITINIB)
    assert find_mechanisms(RESISTANCE, undated, [variant("EGFR", "p.T790M", on=-10)])


def test_the_same_mechanism_in_two_samples_is_one_finding() -> None:
    """A mechanism seen in plasma and tissue is one finding carrying both facts as evidence."""
    facts = [variant("EGFR", "p.T790M"), variant("EGFR", "p.Thr790Met", kind=TISSUE)]
    (finding,) = find_mechanisms(RESISTANCE, ResistanceContext(GEFITINIB, DAY_0), facts)
    assert len(finding.evidence) == 2 and finding.samples == (SampleKind.LIQUID, SampleKind.TISSUE)


@pytest.mark.parametrize(
    ("protein", "shown"),
    [
        ("p.Glu746_Ala750del", True),
        ("p.L747_P753delinsS", True),
        ("p.E709_T710delinsD", False),
        ("exon 19 deletion", True),
        ("p.Leu858Arg", True),
        ("p.G719A", True),
        ("p.T790M", False),
    ],
)
def test_driver_classes(protein: str, shown: bool) -> None:
    """Exon 19 deletions are a class (codons 729-761, or the lab's words); L858R and G719X are drivers."""
    driver = RESISTANCE.drivers_for(GEFITINIB)[0]
    found = shows_alteration(driver.alteration, (SampleKind.LIQUID,), [variant("EGFR", protein)], RESISTANCE)
    assert bool(found) is shown


def test_variant_class_needs_its_gene_and_a_known_name() -> None:
    """A `class:` pattern matches only its own gene, and one naming no class of the KB matches nothing."""
    from dataclasses import replace

    driver = RESISTANCE.drivers_for(GEFITINIB)[0]
    odd = replace(driver.alteration, protein=("class:nonexistent",))
    assert shows_alteration(odd, (SampleKind.LIQUID,), [variant("EGFR", "p.E746_A750del")], RESISTANCE) == ()
    assert RESISTANCE.variant_class("ex19del") is not None and RESISTANCE.variant_class("nope") is None
    wider = replace(driver.alteration, genes=("EGFR", "KRAS"))
    kras = [variant("KRAS", "p.E746_A750del")]
    assert shows_alteration(wider, (SampleKind.LIQUID,), kras, RESISTANCE) == ()


def test_progression_date_is_only_context() -> None:
    """Findings do not depend on the progression date (that drives the K9 work-up)."""
    context = ResistanceContext(GEFITINIB, DAY_0, progression_on=day(200))
    assert find_mechanisms(RESISTANCE, context, [variant("EGFR", "p.T790M", on=100)])
