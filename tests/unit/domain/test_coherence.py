"""Coherence of the suggestion set (CLINICAL-RULES.md 0.2 section 6.2, C1-C9) and the new actions A10-A13:
each test is named after the rule it checks, with the worked example where there is one."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_C1_...), as issue 14 asks

from __future__ import annotations

import pytest

from service.domain.assessment import ProgressionStatus as S
from service.domain.assessment_parts import MarkerReading, suggestions_for
from service.domain.coherence import (
    CoherenceContext,
    CoherentSuggestions,
    DroppedSuggestion,
    coherent,
    rank,
)
from service.domain.facts import SpecimenKind
from service.domain.resistance import ResistanceFinding
from service.domain.resistance_kb import FindingCategory
from service.domain.resistance_workup import ResistanceAssessment
from service.domain.rules import Flag as F  # noqa: N817  # a one-letter alias keeps the tables readable
from service.domain.rules import Rule as R  # noqa: N817
from service.domain.suggestions import CareSuggestion as C
from service.domain.suggestions import SuggestedAction
from service.domain.therapy_lines import TherapyContext
from tests.unit.domain.fact_builders import PLASMA, TISSUE, day, variant


def act(code: C, *rules: R, drugs: tuple[str, ...] = ()) -> SuggestedAction:
    return SuggestedAction(code, drugs, None, rules)


CONTINUE_A0 = act(C.CONTINUE_CURRENT_THERAPY, R.A0)
CONTINUE_A6 = act(C.CONTINUE_CURRENT_THERAPY, R.A6)
LOCAL = act(C.LOCAL_ABLATIVE_THERAPY, R.A6, R.X20)
URGENT = act(C.URGENT_CLINICAL_REVIEW, R.A9)
LIQUID = act(C.LIQUID_BIOPSY_CTDNA, R.A3)
TRIAL = act(C.CLINICAL_TRIAL_REFERRAL, R.A8)
OSIMERTINIB = act(C.SWITCH_THERAPY, R.X1, R.A4, drugs=("osimertinib",))
SAVOLITINIB = act(C.ADD_TARGETED_AGENT, R.X6, R.A5, drugs=("savolitinib",))
SCLC_CHEMO = act(C.HISTOLOGY_DIRECTED_CHEMOTHERAPY, R.X10, R.A7, drugs=("carboplatin", "etoposide"))
AMI_CHEMO = act(C.SWITCH_THERAPY, R.X27, R.A12, drugs=("amivantamab", "carboplatin", "pemetrexed"))
PLATINUM = act(C.SWITCH_THERAPY, R.X27, R.A12, drugs=("carboplatin", "pemetrexed"))
GEFITINIB_A10 = act(C.MDT_TRIAL_CONSIDERATION, R.X4, R.A10, drugs=("gefitinib",))
OLIGO = frozenset({F.OLIGOPROGRESSION})


def codes(result: CoherentSuggestions) -> list[C]:
    return [a.code for a in result.kept]


def dropped(result: CoherentSuggestions) -> list[tuple[C, R]]:
    return [(d.action.code, d.rule) for d in result.dropped]


@pytest.mark.parametrize("higher", [URGENT, OSIMERTINIB, AMI_CHEMO])
def test_C1_continue_never_beside_urgent_review_or_a_switch(higher: SuggestedAction) -> None:
    """Urgent review or a switch (matched or standard) removes continue-current-therapy, recorded as C1."""
    result = coherent([CONTINUE_A0, higher], CoherenceContext())
    assert result.kept == (higher,)
    assert result.dropped == (DroppedSuggestion(CONTINUE_A0, R.C1),)
    assert R.C1 in result.rules


def test_C1_T53_deterioration_to_ecog_2_is_urgent_review_alone() -> None:
    """T53: ECOG 1 (best) -> 2 on imaging SD: A9, and the A0 continue is not in the set."""
    flags = [F.PS_DETERIORATION, F.SYMPTOMATIC_DETERIORATION]
    result = suggestions_for(S.NO_PROGRESSION, flags, None, TherapyContext(), MarkerReading(ecog=2))
    assert codes(result) == [C.URGENT_CLINICAL_REVIEW]
    assert dropped(result) == [(C.CONTINUE_CURRENT_THERAPY, R.C1)]


@pytest.mark.parametrize(("ecog", "urgent"), [(1, False), (2, True), (None, False)])
def test_A9_a_deterioration_is_urgent_from_ecog_2(ecog: int | None, urgent: bool) -> None:
    """K12 (c): a rise 0 -> 1 on a non-IO line is reported and triggers nothing else."""
    result = suggestions_for(
        S.NO_PROGRESSION, [F.PS_DETERIORATION], None, TherapyContext(), MarkerReading(ecog=ecog)
    )
    assert (C.URGENT_CLINICAL_REVIEW in codes(result)) is urgent


def test_C2_local_therapy_is_only_an_adjunct_to_a_switch() -> None:
    """With A4 present, A6 keeps local therapy (marked C2) and loses its continue part."""
    result = coherent([LOCAL, CONTINUE_A6, OSIMERTINIB], CoherenceContext(flags=OLIGO))
    assert codes(result) == [C.SWITCH_THERAPY, C.LOCAL_ABLATIVE_THERAPY]
    assert result.kept[1].rules == (R.A6, R.X20, R.C2)
    assert dropped(result) == [(C.CONTINUE_CURRENT_THERAPY, R.C2)]


def test_C2_a_continue_merged_from_a0_is_not_only_a6s() -> None:
    """Only a continue that belongs to A6 alone goes with A6; C1 then judges the rest."""
    result = coherent([CONTINUE_A0, CONTINUE_A6, LOCAL, URGENT], CoherenceContext(flags=OLIGO))
    assert codes(result) == [C.URGENT_CLINICAL_REVIEW, C.LOCAL_ABLATIVE_THERAPY]
    assert dropped(result) == [(C.CONTINUE_CURRENT_THERAPY, R.C1)]


def test_C3_no_a2_when_not_clinically_stable() -> None:
    """iUPD, not clinically stable: A2's continue goes (C3), A9 comes instead; confirmation imaging stays."""
    a2 = [act(C.CONTINUE_CURRENT_THERAPY, R.A2), act(C.CONFIRM_PROGRESSION_IMAGING, R.A2)]
    result = coherent(a2, CoherenceContext(flags=frozenset({F.NOT_CLINICALLY_STABLE})))
    assert codes(result) == [C.URGENT_CLINICAL_REVIEW, C.CONFIRM_PROGRESSION_IMAGING]
    assert result.kept[0].rules == (R.A9, R.C3)
    assert dropped(result) == [(C.CONTINUE_CURRENT_THERAPY, R.C3)]


@pytest.mark.parametrize("rebiopsy", [[], [act(C.TISSUE_REBIOPSY, R.A3, R.X10)]])
def test_C4_histology_directed_chemotherapy_needs_confirmed_histology(
    rebiopsy: list[SuggestedAction],
) -> None:
    """A suspicion gives A3 tissue-rebiopsy only (once), never the chemotherapy."""
    context = CoherenceContext(flags=frozenset({F.TRANSFORMATION_SUSPECTED}))
    result = coherent([SCLC_CHEMO, *rebiopsy], context)
    assert codes(result) == [C.TISSUE_REBIOPSY]
    assert dropped(result) == [(C.HISTOLOGY_DIRECTED_CHEMOTHERAPY, R.C4)]


def test_C5_T55_confirmed_transformation_overrides_local_and_targeted_therapy() -> None:
    """T55: small-cell in the oligoprogressing adrenal: A7 only; no A6, no switch or add-on, no continue."""
    candidates = [SCLC_CHEMO, OSIMERTINIB, SAVOLITINIB, LOCAL, CONTINUE_A6, LIQUID]
    result = coherent(candidates, CoherenceContext(flags=OLIGO, transformation_confirmed=True))
    assert codes(result) == [C.HISTOLOGY_DIRECTED_CHEMOTHERAPY, C.LIQUID_BIOPSY_CTDNA]
    assert dropped(result) == [
        (C.SWITCH_THERAPY, R.C5),
        (C.ADD_TARGETED_AGENT, R.C5),
        (C.LOCAL_ABLATIVE_THERAPY, R.C5),
        (C.CONTINUE_CURRENT_THERAPY, R.C2),
    ]


def test_C6_T54_the_add_on_goes_on_the_matched_switch() -> None:
    """T54: T790M and MET after gefitinib: switch to osimertinib; savolitinib only as A10 on osimertinib."""
    context = CoherenceContext(
        progressed_on=frozenset({"gefitinib"}), on_target=True, matched_switch=("osimertinib",)
    )
    result = coherent([OSIMERTINIB, SAVOLITINIB], context)
    assert codes(result) == [C.SWITCH_THERAPY, C.MDT_TRIAL_CONSIDERATION]
    mdt = result.kept[1]
    assert (mdt.drugs, mdt.rules, mdt.note) == (("osimertinib", "savolitinib"), (R.X6, R.A10, R.C6), None)
    assert dropped(result) == [(C.ADD_TARGETED_AGENT, R.C6)]


def test_C6_no_add_on_on_a_backbone_failing_on_target_without_a_switch() -> None:
    """C797S alone after osimertinib: a MET-TKI add-on has no backbone to go on and is dropped."""
    result = coherent([GEFITINIB_A10, SAVOLITINIB, TRIAL], CoherenceContext(on_target=True))
    assert codes(result) == [C.MDT_TRIAL_CONSIDERATION, C.CLINICAL_TRIAL_REFERRAL]
    assert dropped(result) == [(C.ADD_TARGETED_AGENT, R.C6)]


def test_C6_an_add_on_without_an_on_target_mechanism_stays() -> None:
    """MET-high after osimertinib (T38): keep osimertinib and add savolitinib (A5)."""
    result = coherent([SAVOLITINIB], CoherenceContext(progressed_on=frozenset({"osimertinib"})))
    assert result.kept == (SAVOLITINIB,)


def test_C7_T63_variant_no_regimen_with_a_drug_progressed_on() -> None:
    """After FLAURA2 both A12 regimens hold carboplatin/pemetrexed and are dropped whole; a re-challenge
    named by an X-rule stays as A10; the trial referral is never removed."""
    context = CoherenceContext(
        progressed_on=frozenset({"osimertinib", "carboplatin", "pemetrexed", "gefitinib"})
    )
    result = coherent([AMI_CHEMO, PLATINUM, TRIAL, GEFITINIB_A10], context)
    assert codes(result) == [C.CLINICAL_TRIAL_REFERRAL, C.MDT_TRIAL_CONSIDERATION]
    assert dropped(result) == [(C.SWITCH_THERAPY, R.C7), (C.SWITCH_THERAPY, R.C7)]


def test_C8_T56_a10_never_removes_the_standard_options() -> None:
    """T56: C797S alone after 1st-line osimertinib: A10 gefitinib beside A12 and the trial referral."""
    candidates = [GEFITINIB_A10, AMI_CHEMO, PLATINUM, TRIAL]
    result = coherent(candidates, CoherenceContext(progressed_on=frozenset({"osimertinib"})))
    assert result.kept == tuple(candidates)
    assert result.dropped == ()


def test_C9_one_suggestion_per_regimen_naming_every_drug() -> None:
    """Two regimens stay two suggestions; the same regimen from two rules is one with both rules."""
    again = act(C.SWITCH_THERAPY, R.X24, R.A12, drugs=("carboplatin", "pemetrexed"))
    result = coherent([AMI_CHEMO, PLATINUM, again], CoherenceContext())
    assert [a.drugs for a in result.kept] == [AMI_CHEMO.drugs, PLATINUM.drugs]
    assert result.kept[1].rules == (R.X27, R.A12, R.X24)


def test_A10_ranks_with_the_standard_options_after_a_matched_switch() -> None:
    """Table 6.2: A4 (rank 3) before A8/A12/A10 (rank 6) before the work-up (7) and continue (8)."""
    ranked = [CONTINUE_A0, LIQUID, GEFITINIB_A10, AMI_CHEMO, OSIMERTINIB, URGENT]
    assert [rank(a) for a in ranked] == [8, 7, 6, 6, 3, 1]


def test_A11_T62_marker_rise_without_progression() -> None:
    """T62: a confirmed CEA rise on stable imaging: continue, re-image early, plasma ctDNA (none since)."""
    reading = MarkerReading(marker_rise_on=day(180))
    old_plasma = [variant("EGFR", "p.L858R", on=150, kind=PLASMA)]
    flags = [F.CEA_RISE_SIGNIFICANT, F.MARKER_RISE_WITHOUT_PROGRESSION]
    result = suggestions_for(S.NO_PROGRESSION, flags, None, TherapyContext(), reading, old_plasma)
    assert codes(result) == [C.CONTINUE_CURRENT_THERAPY, C.REMEASURE_OR_REPEAT_IMAGING, C.LIQUID_BIOPSY_CTDNA]
    assert {R.A0, R.A11, R.K13} <= set(result.kept[0].rules)


@pytest.mark.parametrize(
    ("drawn", "kind", "liquid"), [(200, PLASMA, False), (200, TISSUE, True), (170, PLASMA, True)]
)
def test_A11_plasma_only_if_none_since_the_rise(drawn: int, kind: SpecimenKind, liquid: bool) -> None:
    """A plasma draw on or after the first rising value answers the ctDNA question; tissue does not."""
    reading = MarkerReading(marker_rise_on=day(180))
    sample = [variant("EGFR", "p.L858R", on=drawn, kind=kind)]
    flags = [F.MARKER_RISE_WITHOUT_PROGRESSION]
    result = suggestions_for(S.NO_PROGRESSION, flags, None, TherapyContext(), reading, sample)
    assert (C.LIQUID_BIOPSY_CTDNA in codes(result)) is liquid


def test_A11_without_the_date_of_the_rise_plasma_is_asked_for() -> None:
    """No first rising value to compare with: no draw can be shown to follow the rise."""
    sample = [variant("EGFR", "p.L858R", on=200, kind=PLASMA)]
    flags = [F.MARKER_RISE_WITHOUT_PROGRESSION]
    result = suggestions_for(S.NO_PROGRESSION, flags, None, TherapyContext(), MarkerReading(), sample)
    assert C.LIQUID_BIOPSY_CTDNA in codes(result)


def test_A12_standard_options_rank_below_a_matched_switch() -> None:
    """A12 regimens are switch-therapy but rank with the trial referral (table 6.2 rank 6)."""
    result = coherent([PLATINUM, TRIAL, OSIMERTINIB], CoherenceContext())
    assert codes(result) == [C.SWITCH_THERAPY, C.SWITCH_THERAPY, C.CLINICAL_TRIAL_REFERRAL]
    assert result.kept[0] == OSIMERTINIB


def test_A13_T52_stable_ecog_3_on_iupd_is_a2_and_clinical_review() -> None:
    """T52: PS_POOR without deterioration: A2 (continue, confirm) and A13; no urgent review."""
    result = suggestions_for(S.IUPD, [F.PS_POOR], None, TherapyContext(), MarkerReading(ecog=3))
    assert codes(result) == [C.CONTINUE_CURRENT_THERAPY, C.CONFIRM_PROGRESSION_IMAGING, C.CLINICAL_REVIEW]
    assert result.kept[-1].rules == (R.A13, R.K14)


def test_R6_off_treatment_never_continue() -> None:
    """R6: every component ended, no new line: continue-current-therapy is never suggested."""
    result = coherent([CONTINUE_A0], CoherenceContext(off_treatment=True))
    assert result.kept == ()
    assert dropped(result) == [(C.CONTINUE_CURRENT_THERAPY, R.R6)]


@pytest.mark.parametrize(
    ("flags", "rule"),
    [
        (frozenset(), R.P2),
        (frozenset({F.OLIGOPROGRESSION, F.SYSTEMIC_PROGRESSION}), R.P2),
        (frozenset({F.CNS_OLIGOPROGRESSION, F.LEPTOMENINGEAL_PROGRESSION}), R.P6),
    ],
)
def test_P2_P6_P7_local_therapy_only_with_oligoprogression(flags: frozenset[F], rule: R) -> None:
    """A6 needs (CNS) oligoprogression; leptomeningeal or systemic progression removes it; A3 stays."""
    result = coherent([LOCAL, CONTINUE_A6, LIQUID], CoherenceContext(flags=flags))
    assert result.kept == (LIQUID,)
    assert dropped(result) == [(C.LOCAL_ABLATIVE_THERAPY, rule), (C.CONTINUE_CURRENT_THERAPY, rule)]


def test_T44_oligoprogression_local_therapy_and_continue_then_work_up() -> None:
    """T44: A6 (local therapy + continue osimertinib) then A3; nothing dropped."""
    result = coherent([LIQUID, LOCAL, CONTINUE_A6], CoherenceContext(flags=OLIGO))
    assert codes(result) == [C.LOCAL_ABLATIVE_THERAPY, C.CONTINUE_CURRENT_THERAPY, C.LIQUID_BIOPSY_CTDNA]


def finding(rule: R, category: FindingCategory, *actions: SuggestedAction) -> ResistanceFinding:
    return ResistanceFinding(rule, rule.value, category, True, actions, "I-A", "", (), None, (), (), (), ())


def test_the_gatherer_reads_the_matched_switch_and_the_transformation_from_the_findings() -> None:
    """Suggestions after progression: the resistance actions, A6 with oligoprogression, then C1-C9 with the
    on-target switch (C6) and a confirmed transformation (C5) taken from the findings."""
    t790m = finding(R.X1, FindingCategory.ON_TARGET, TRIAL, OSIMERTINIB)
    met = finding(R.X6, FindingCategory.BYPASS, SAVOLITINIB)
    work_up = ResistanceAssessment(
        "egfr-tki-1st-gen", "v", (t790m, met), (), (), (OSIMERTINIB, SAVOLITINIB), ()
    )
    result = suggestions_for(S.SUPPORTED, [F.OLIGOPROGRESSION], work_up, TherapyContext(), MarkerReading())
    assert codes(result) == [C.SWITCH_THERAPY, C.LOCAL_ABLATIVE_THERAPY, C.MDT_TRIAL_CONSIDERATION]
    sclc = finding(R.X10, FindingCategory.TRANSFORMATION, SCLC_CHEMO)
    transformed = ResistanceAssessment("egfr-tki-3rd-gen", "v", (sclc,), (), (), (SCLC_CHEMO,), ())
    result = suggestions_for(
        S.SUPPORTED, [F.OLIGOPROGRESSION], transformed, TherapyContext(), MarkerReading()
    )
    assert codes(result) == [C.HISTOLOGY_DIRECTED_CHEMOTHERAPY]
