"""CLINICAL-RULES.md 0.2 resistance rules: X-table amendments (X3-X6, X10, X11, X13, X15, X16), X21-X28,
K9 (amended) and K15, A10/A12 and the ranking of section 6 step 5."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_X27_...)
from __future__ import annotations

from dataclasses import replace

import msgspec
import pytest

from service.domain.facts import VariantFact
from service.domain.resistance import ResistanceContext
from service.domain.resistance_workup import ResistanceAssessment, assess_resistance
from service.domain.rules import Flag, Rule
from service.domain.suggestions import CareSuggestion
from service.domain.transformation import rb1_lost_with_tp53
from tests.unit.domain.fact_builders import DAY_0, RESISTANCE, TISSUE, day, histology, variant

GEFITINIB, OSIMERTINIB = "egfr-tki-1st-generation", "egfr-tki-3rd-generation"
AMIVANTAMAB, EX20INS_TKI = "egfr-met-bispecific-antibody", "egfr-ex20ins-tki"
CRIZOTINIB, ALECTINIB, LORLATINIB = (
    "alk-tki-1st-generation",
    "alk-tki-2nd-generation",
    "alk-tki-3rd-generation",
)
ENTRECTINIB, KRAS_G12C, HER2 = "ros1-ntrk-tki", "kras-g12c-inhibitor", "her2-directed"
L858R, L858R_TISSUE = variant("EGFR", "p.L858R"), variant("EGFR", "p.L858R", kind=TISSUE)
EX20INS = variant("EGFR", "p.A767_V769dup", kind=TISSUE, on=-40)
FLAURA2 = frozenset({"osimertinib", "carboplatin", "pemetrexed"})


def assess(
    therapy: str, *facts: VariantFact, progressed_on: frozenset[str] = frozenset(), **context: object
) -> ResistanceAssessment:
    line = ResistanceContext(therapy, DAY_0, progression_on=day(240), progressed_on=progressed_on)
    return assess_resistance(RESISTANCE, replace(line, **context), facts)  # type: ignore[arg-type]


def plan(result: ResistanceAssessment) -> list[tuple[str, tuple[str, ...]]]:
    return [(a.code.value, a.drugs) for a in result.actions]


TRIAL = ("clinical-trial-referral", ())
A12 = [
    ("switch-therapy", ("amivantamab", "carboplatin", "pemetrexed")),
    ("switch-therapy", ("carboplatin", "pemetrexed")),
]


def test_X27_nothing_actionable_after_osimertinib_gives_A12() -> None:
    """X27 / T63: tissue tested, driver only: amivantamab-chemotherapy, platinum-pemetrexed, trial (A12)."""
    result = assess(OSIMERTINIB, L858R, L858R_TISSUE)
    assert plan(result) == [*A12, TRIAL] and Rule.X27 in result.rules
    assert result.actions[0].tier == "I-A" and result.actions[0].jurisdiction == "approved-fda-ema"
    assert result.actions[2].rules == (Rule.X27, Rule.A12)


def test_X27_after_flaura2_only_docetaxel_and_trial_remain() -> None:
    """X27 / T63 variant / R11: regimens with a drug progressed on are dropped; docetaxel is the fallback."""
    assert plan(assess(OSIMERTINIB, L858R, L858R_TISSUE, progressed_on=FLAURA2)) == [
        ("switch-therapy", ("docetaxel",)),
        TRIAL,
    ]


def test_X27_after_mariposa_regimen_keeps_platinum_pemetrexed() -> None:
    """X27 / R11: only the regimen holding amivantamab is dropped."""
    result = assess(OSIMERTINIB, L858R, L858R_TISSUE, progressed_on=frozenset({"amivantamab"}))
    assert plan(result) == [A12[1], TRIAL]


def test_X28_amivantamab_line_plasma_driver_is_informative_and_goes_to_tissue() -> None:
    """X28 / T58 / K9 category 3: the EGFR driver in plasma on amivantamab-lazertinib; tissue, no A12 yet."""
    result = assess(AMIVANTAMAB, variant("EGFR", "p.E746_A750del"))
    assert result.flags == (Flag.PLASMA_NEGATIVE_FOR_RESISTANCE,) and plan(result) == [
        ("tissue-rebiopsy", ())
    ]


def test_X28_after_tissue_chemotherapy_not_yet_given() -> None:
    """X28: platinum-pemetrexed if not given, docetaxel if it was; amivantamab never re-suggested."""
    assert plan(assess(AMIVANTAMAB, L858R_TISSUE)) == [A12[1], TRIAL]
    given = frozenset({"amivantamab", "carboplatin", "pemetrexed"})
    assert plan(assess(AMIVANTAMAB, L858R_TISSUE, progressed_on=given))[0] == (
        "switch-therapy",
        ("docetaxel",),
    )


def test_X24_alk_after_first_line_lorlatinib() -> None:
    """X24 / T65: platinum-pemetrexed and trial; no earlier ALK TKI."""
    result = assess(
        LORLATINIB, variant("TP53", "p.R273H", kind=TISSUE), progressed_on=frozenset({"lorlatinib"})
    )
    assert (
        plan(result) == [("switch-therapy", ("carboplatin", "pemetrexed")), TRIAL]
        and Rule.X24 in result.rules
    )


def test_X23_ros1_after_first_ros1_tki_without_g2032r() -> None:
    """X23: another ROS1 mutation, or nothing, after entrectinib: repotrectinib; taletrectinib."""
    expected = [("switch-therapy", ("repotrectinib",)), ("switch-therapy", ("taletrectinib",))]
    found = assess(ENTRECTINIB, variant("ROS1", "p.L2026M"))
    assert found.mechanisms == ("ROS1-KINASE-MUTATION",) and plan(found) == expected
    nothing = assess(ENTRECTINIB, variant("TP53", "p.R273H", kind=TISSUE))
    assert plan(nothing) == [*expected, TRIAL]


def test_X15_g2032r_supersedes_the_other_ros1_mutations() -> None:
    """X15 / T64: G2032R is reported as itself, not also as an X23 kinase mutation."""
    result = assess(ENTRECTINIB, variant("ROS1", "p.G2032R"))
    assert result.mechanisms == ("ROS1-G2032R",) and result.flags == (Flag.PLASMA_RESISTANCE_FOUND,)
    assert plan(result) == [("switch-therapy", ("repotrectinib",)), ("switch-therapy", ("taletrectinib",))]


@pytest.mark.parametrize(
    ("therapy", "driver", "expected"),
    [
        (CRIZOTINIB, variant("ALK", "EML4::ALK", kind=TISSUE, on=-40), ("alectinib",)),
        (ALECTINIB, variant("ALK", "EML4::ALK", kind=TISSUE, on=-40), ("lorlatinib",)),
        (HER2, variant("ERBB2", "p.Y772_A775dup", kind=TISSUE, on=-40), ("trastuzumab deruxtecan",)),
        (KRAS_G12C, variant("KRAS", "p.G12C", kind=TISSUE, on=-40), ("carboplatin", "pemetrexed")),
        (GEFITINIB, EX20INS, ("amivantamab", "carboplatin", "pemetrexed")),
        (EX20INS_TKI, EX20INS, ("docetaxel",)),
    ],
)
def test_X12_X13_X16_X25_X26_standard_options_follow_the_driver(
    therapy: str, driver: VariantFact, expected: tuple[str, ...]
) -> None:
    """X12, X13 (amended), X16 (amended), X25, X26: the first standard option for the line and driver."""
    result = assess(therapy, driver, variant("TP53", "p.R273H", kind=TISSUE))
    assert result.actions[0].drugs == expected


def test_X25_classic_egfr_tkis_are_never_suggested_for_ex20ins() -> None:
    """X25: after an ex20ins TKI, docetaxel or sunvozertinib (China); no gefitinib to osimertinib."""
    result = assess(
        EX20INS_TKI,
        EX20INS,
        variant("TP53", "p.R273H", kind=TISSUE),
        progressed_on=frozenset({"mobocertinib"}),
    )
    drugs = {d for a in result.actions for d in a.drugs}
    assert drugs == {"docetaxel", "sunvozertinib"} and result.actions[1].jurisdiction == "approved-china"


def test_X3_X4_X5_are_A10_and_never_suppress_A12() -> None:
    """X3-X5 (amended), C8: tier IV - MDT/trial consideration only, listed after the standard options."""
    for protein in ("p.[T790M];[C797S]", "p.C797S", "p.L718Q"):
        result = assess(OSIMERTINIB, variant("EGFR", protein, kind=TISSUE))
        assert plan(result)[:3] == [*A12, TRIAL], protein
        last = result.actions[-1]
        assert last.code is CareSuggestion.MDT_TRIAL_CONSIDERATION and last.label == "tier-iv-not-standard"
        assert Rule.A10 in last.rules and last.tier == "IV"


def test_X6_met_amp_after_first_generation_without_t790m_is_the_sachi_switch() -> None:
    """X6 (amended): T790M-negative, MET GCN >= 5 after gefitinib: osimertinib + savolitinib (one regimen)."""
    result = assess(GEFITINIB, variant("MET", kind=TISSUE, copies="6"))
    assert result.mechanisms == ("MET-AMP",)
    assert plan(result) == [
        ("switch-therapy", ("osimertinib", "savolitinib")),
        ("add-targeted-agent", ("tepotinib",)),
    ]
    assert result.actions[0].jurisdiction == "approved-china"


def test_X6_with_t790m_the_bypass_is_A10_on_osimertinib() -> None:
    """X1 (amended), X6, C6 / T54: switch to osimertinib; the MET-TKI only as A10 on osimertinib."""
    result = assess(GEFITINIB, variant("EGFR", "p.T790M"), variant("MET", kind=TISSUE, copies="12"))
    assert result.mechanisms == ("EGFR-T790M", "MET-AMP-HIGH")
    assert plan(result) == [
        ("switch-therapy", ("osimertinib",)),
        ("mdt-trial-consideration", ("osimertinib", "savolitinib")),
    ]


def test_X6_met_high_after_osimertinib_adds_a_met_tki() -> None:
    """X6 (amended) / T38: MET-high after osimertinib keeps it: add savolitinib (China) or tepotinib."""
    result = assess(OSIMERTINIB, variant("MET", kind=TISSUE, copies="11"))
    assert plan(result) == [("add-targeted-agent", ("savolitinib",)), ("add-targeted-agent", ("tepotinib",))]
    assert [a.jurisdiction for a in result.actions] == ["approved-china", "not-approved-investigational"]


def test_X21_met_non_high_after_osimertinib_is_A10_beside_A12() -> None:
    """X21 / T38 variant: A12 and trial first, then A10 osimertinib + savolitinib; no add-on."""
    result = assess(OSIMERTINIB, variant("MET", kind=TISSUE, copies="6"))
    assert plan(result) == [*A12, TRIAL, ("mdt-trial-consideration", ("osimertinib", "savolitinib"))]


def test_K15_plasma_copy_number_gain_is_a_finding_to_confirm() -> None:
    """K15 / K9 category 2 / T57: MET-AMP-PLASMA, tissue rebiopsy only, never negative, no A8/A12."""
    result = assess(OSIMERTINIB, L858R, variant("MET", copies="3.1"))
    assert result.mechanisms == ("MET-AMP-PLASMA",) and result.flags == (Flag.PLASMA_CNV_TO_CONFIRM,)
    assert plan(result) == [("tissue-rebiopsy", ())] and {Rule.K9, Rule.K15, Rule.X22} <= set(result.rules)


def test_K15_once_tissue_is_tested_the_standard_options_come() -> None:
    """K15: tissue FISH then decides; without MET amplification in tissue, X27 applies (no rebiopsy left)."""
    result = assess(OSIMERTINIB, L858R, variant("MET", copies="3.1"), L858R_TISSUE)
    assert plan(result) == [*A12, TRIAL]


@pytest.mark.parametrize(
    ("facts", "flag"),
    [
        ((variant("EGFR", "p.T790M"), variant("MET", copies="4")), Flag.PLASMA_RESISTANCE_FOUND),
        ((L858R, variant("ERBB2", copies="3")), Flag.PLASMA_CNV_TO_CONFIRM),
        ((L858R, variant("EGFR", copies="6")), Flag.PLASMA_CNV_TO_CONFIRM),
        ((L858R,), Flag.PLASMA_NEGATIVE_FOR_RESISTANCE),
        ((variant("TP53", "p.R273H"),), Flag.PLASMA_NON_INFORMATIVE),
    ],
)
def test_K9_plasma_categories_in_order(facts: tuple[VariantFact, ...], flag: Flag) -> None:
    """K9 (amended): resistance found > copy number to confirm > driver only > non-informative."""
    assert assess(GEFITINIB, *facts).flags == (flag,)


def test_K9_A12_after_category_3_alone_only_when_tissue_is_not_feasible() -> None:
    """K9: category 3 plus tissue recorded not feasible allows A12 and no rebiopsy; category 4 never."""
    assert plan(assess(OSIMERTINIB, L858R, tissue_not_feasible=True)) == [*A12, TRIAL]
    assert plan(assess(OSIMERTINIB, variant("TP53", "p.R273H"), tissue_not_feasible=True)) == []


def test_X10_rb1_tp53_suspects_transformation() -> None:
    """X10 (amended) a: RB1 loss of function with TP53 gives TRANSFORMATION_SUSPECTED and A3 tissue only."""
    result = assess(OSIMERTINIB, L858R, variant("RB1", "p.R320*"), variant("TP53", "p.R273H"))
    assert Flag.TRANSFORMATION_SUSPECTED in result.flags and Rule.X10 in result.rules
    assert plan(result) == [("tissue-rebiopsy", ())] and result.actions[0].rules == (Rule.X10, Rule.A3)


def test_X10_ne_marker_rising_suspects_transformation_without_plasma() -> None:
    """X10 (amended) b: NE_MARKER_RISING (K16) asks for tissue even before any molecular result."""
    result = assess(OSIMERTINIB, ne_marker_rising=True)
    assert result.flags == (Flag.TRANSFORMATION_SUSPECTED,) and plan(result) == [("tissue-rebiopsy", ())]
    assert assess(KRAS_G12C, ne_marker_rising=True).flags == ()  # X10 is an EGFR rule


def test_X10_suspicion_is_answered_by_a_biopsy() -> None:
    """X10 / C4: a tissue result or a histology since progression answers the question; A7 needs histology."""
    assert Flag.TRANSFORMATION_SUSPECTED not in assess(OSIMERTINIB, L858R_TISSUE, ne_marker_rising=True).flags
    context = ResistanceContext(OSIMERTINIB, DAY_0, progression_on=day(240), ne_marker_rising=True)
    adeno = assess_resistance(RESISTANCE, context, (), [histology("adenocarcinoma")])
    assert adeno.flags == () and plan(adeno) == [("liquid-biopsy-ctdna", ())]


@pytest.mark.parametrize(
    ("rb1", "expected"),
    [
        (variant("RB1", "p.Arg320Ter"), True),
        (variant("RB1", "p.K715fs"), True),
        (variant("RB1", copies="1"), True),
        (msgspec.structs.replace(variant("RB1"), coding_hgvs="c.1215+1G>A"), True),
        (variant("RB1", "p.R661W"), False),
        (variant("RB1", "p.R320*", present=False), False),
    ],
)
def test_X10_rb1_loss_of_function_kinds(rb1: VariantFact, expected: bool) -> None:
    """X10 a: truncating, frameshift, copy number 0-1 and splice-site changes are RB1 loss of function."""
    assert rb1_lost_with_tp53([rb1, variant("TP53", "p.R273H")]) is expected
    assert not rb1_lost_with_tp53([rb1])


def test_X10_X11_confirmed_histology_regimens() -> None:
    """X10 / T55: carboplatin + etoposide; X11 (amended, any EGFR TKI): carboplatin + paclitaxel."""
    context = ResistanceContext(GEFITINIB, DAY_0, progression_on=day(240))
    sclc = assess_resistance(RESISTANCE, context, (), [histology("small-cell", small_cell=True)])
    assert plan(sclc) == [("histology-directed-chemotherapy", ("carboplatin", "etoposide"))]
    squamous = assess_resistance(RESISTANCE, context, (), [histology("squamous-cell")])
    assert plan(squamous) == [("histology-directed-chemotherapy", ("carboplatin", "paclitaxel")), TRIAL]


def test_X16_h95_is_A10_beside_the_standard_options() -> None:
    """X16 (amended): an isolated H95 mutation is A10 only; the chemotherapy options stay (C8)."""
    result = assess(KRAS_G12C, variant("KRAS", "p.H95D"), progressed_on=frozenset({"sotorasib"}))
    assert plan(result) == [
        ("switch-therapy", ("carboplatin", "pemetrexed")),
        TRIAL,
        ("mdt-trial-consideration", ()),
    ]


def test_X9_fusion_counts_as_actionable_for_X27() -> None:
    """X27: only X9 non-fusion findings count as nothing actionable; a bypass fusion is a trial question."""
    result = assess(OSIMERTINIB, variant("CCDC6::RET"))
    assert plan(result) == [TRIAL]


def test_section_6_step_5_rank_order() -> None:
    """Transformation > actionable on-target > actionable bypass > standard options > tier IV (A10)."""
    context = ResistanceContext(GEFITINIB, DAY_0, progression_on=day(240))
    facts = [variant("EGFR", "p.T790M"), variant("MET", kind=TISSUE, copies="12")]
    result = assess_resistance(RESISTANCE, context, facts, [histology("small-cell", small_cell=True)])
    assert [a.code for a in result.actions] == [
        CareSuggestion.HISTOLOGY_DIRECTED_CHEMOTHERAPY,
        CareSuggestion.SWITCH_THERAPY,
        CareSuggestion.MDT_TRIAL_CONSIDERATION,
    ]


def test_no_standard_options_for_a_class_without_an_entry() -> None:
    """A8 default covers targeted classes only: an unknown class gets no regimen."""
    assert plan(assess("immune-checkpoint-inhibitor", variant("TP53", "p.R273H", kind=TISSUE))) == []


def test_standard_options_without_trial_referral() -> None:
    """An entry may leave out the trial referral (`trial_referral: false`)."""
    entries = tuple(replace(o, trial_referral=False) for o in RESISTANCE.standard_options)
    knowledge = replace(RESISTANCE, standard_options=entries)
    context = ResistanceContext(OSIMERTINIB, DAY_0, progression_on=day(240))
    assert plan(assess_resistance(knowledge, context, (L858R, L858R_TISSUE))) == A12
