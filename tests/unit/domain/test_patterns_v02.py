"""CLINICAL-RULES.md 0.2 pattern rules: CNS sites by code (P5), leptomeningeal (P6) and diffuse (P7) sites,
P2 (amended), PD from new lesions only (P8) and V1 (amended); worked examples T59-T61."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_P5_...)

from __future__ import annotations

import pytest

from service.domain.imaging_response import evaluate_imaging_response
from service.domain.model import ImagingTimeline, Lesion, LesionRole, LesionStatus
from service.domain.pattern_sites import SiteKind, classify_site
from service.domain.patterns import LesionCourse, PatternAssessment, assess_pattern
from service.domain.readings import lesion_courses, read_pattern
from service.domain.recist import evaluate_recist
from service.domain.response import OverallResponse
from service.domain.rules import Flag, Rule
from service.domain.variability import assess_variability
from tests.unit.domain.builders import DEFAULTS, mm, non_target, seen, target, timeline, tp
from tests.unit.domain.test_patterns import PATTERNS, SITES, SNOMED

BRAIN_PART, MENINGES, LUNG, PLEURA = "119235005", "1231004", "39607008", "3120008"


def kind(text: str = "", *codes: str, system: str = SNOMED) -> SiteKind:
    return classify_site([(system, c) for c in codes], text, SITES)


@pytest.mark.parametrize("code", ["12738006", BRAIN_PART, "2748008", "54785003"])
def test_P5_cns_site_by_snomed_code_without_text(code: str) -> None:
    """P5: brain, brain part, spinal cord and cervical spinal cord codes [69] are CNS sites with no text."""
    assert kind("", code) is SiteKind.CNS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Brain metastasis", SiteKind.CNS),
        ("right CEREBELLAR lesion", SiteKind.CNS),
        ("cerebral hemisphere", SiteKind.CNS),
        ("intracranial", SiteKind.CNS),
        ("lesion of the spinal  cord", SiteKind.CNS),
        ("dura", SiteKind.CNS),
        ("dural-based mass", SiteKind.CNS),
        ("右侧小脑转移", SiteKind.CNS),
        ("颅内多发转移", SiteKind.CNS),
        ("duration of treatment", SiteKind.OTHER),
        ("submeningeal-free liver", SiteKind.OTHER),
        ("liver segment 7", SiteKind.OTHER),
        ("", SiteKind.OTHER),
    ],
)
def test_P5_text_is_matched_case_insensitively_at_word_boundaries(text: str, expected: SiteKind) -> None:
    """P5: without a site code the P5 words match case-insensitively at word starts; Chinese anywhere."""
    assert kind(text) is expected


def test_P5_code_wins_over_conflicting_text() -> None:
    """P5: a lung code with the text "brain" is not CNS; a brain code with the text "liver" is."""
    assert kind("brain metastasis", LUNG) is SiteKind.OTHER
    assert kind("liver", BRAIN_PART) is SiteKind.CNS


def test_P5_local_codes_only_are_judged_by_their_text() -> None:
    """P5: "no site code" means no code of the listed terminology; a local code alone leaves the text."""
    assert kind("brain", "BRN-01", system="urn:hospital:sites") is SiteKind.CNS


def test_P5_cns_progression_found_when_the_site_is_only_a_snomed_code() -> None:
    """P5 (bug fix): a new lesion coded 119235005 with no text is CNS oligoprogression in the readings."""
    brain = Lesion("M", BRAIN_PART, role=LesionRole.NEW, site_codes=((SNOMED, BRAIN_PART),))
    series = timeline(
        [target("T", site_codes=((SNOMED, LUNG),)), brain],
        tp(-7, mm("T", 30)),
        tp(49, mm("T", 30), mm("M", 9)),
    )
    pattern = _pattern(series)
    assert Flag.CNS_OLIGOPROGRESSION in pattern.flags and Flag.OLIGOPROGRESSION in pattern.flags
    assert Rule.P5 in pattern.rules and pattern.progressing[0].site is SiteKind.CNS


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("", (MENINGES,)),
        ("", ("8935007",)),
        ("leptomeningeal enhancement", (MENINGES,)),
        ("Leptomeningeal enhancement", ()),
        ("meningeal carcinomatosis", ()),
        ("脑膜转移", ()),
        ("软脑膜强化", ()),
        ("leptomeningeal spread", (BRAIN_PART,)),
    ],
)
def test_P6_leptomeningeal_site_by_code_or_words(text: str, codes: tuple[str, ...]) -> None:
    """P6: meninges codes, or the leptomeningeal words with no code or a CNS one, are leptomeningeal."""
    assert kind(text, *codes) is SiteKind.LEPTOMENINGEAL


def test_P6_leptomeningeal_words_do_not_override_a_code_outside_the_cns() -> None:
    """P6 with P5: a lung code wins over conflicting leptomeningeal words."""
    assert kind("leptomeningeal", LUNG) is SiteKind.OTHER


def test_P6_leptomeningeal_progression_is_systemic_never_cns_oligoprogression() -> None:
    """P6: one new leptomeningeal site gives LEPTOMENINGEAL_PROGRESSION and SYSTEMIC_PROGRESSION only."""
    lesions = [LesionCourse("L", MENINGES, new=True, site=SiteKind.LEPTOMENINGEAL), _stable("T")]
    result = assess_pattern(lesions, PATTERNS, amenable=True)
    assert result.flags == (Flag.LEPTOMENINGEAL_PROGRESSION, Flag.SYSTEMIC_PROGRESSION)
    assert result.rules == (Rule.P1, Rule.P5, Rule.P6, Rule.P4)


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("Malignant pleural effusion", ()),
        ("pericardial effusion", ()),
        ("Malignant pleural effusion", (PLEURA,)),
        ("peritoneal carcinomatosis", ()),
        ("ascites", ()),
        ("lymphangitic carcinomatosis", (LUNG,)),
        ("pleural nodularity", ()),
        ("右侧胸腔积液", ()),
        ("心包积液", ()),
        ("腹水", ()),
        ("癌性淋巴管炎", ()),
    ],
)
def test_P7_diffuse_site_by_words(text: str, codes: tuple[str, ...]) -> None:
    """P7: effusions, serosal spread, ascites and lymphangitic spread, in English or Chinese, are diffuse."""
    assert kind(text, *codes) is SiteKind.DIFFUSE


def test_P7_a_cns_code_still_wins_over_diffuse_words() -> None:
    """P5 before P7: a brain code stays a CNS site whatever its text."""
    assert kind("effusion", BRAIN_PART) is SiteKind.CNS


def test_P7_progressing_pleural_effusion_is_systemic_not_oligoprogression() -> None:
    """P7 (bug fix): a non-target pleural effusion in unequivocal progression makes the pattern systemic."""
    effusion = non_target("E", "pleura", site_text="Malignant pleural effusion")
    series = timeline(
        [target("T"), effusion],
        tp(-7, mm("T", 30), seen("E")),
        tp(49, mm("T", 30), seen("E", LesionStatus.UNEQUIVOCAL_PROGRESSION)),
    )
    pattern = _pattern(series)
    assert pattern.flags == (Flag.SYSTEMIC_PROGRESSION,)
    assert pattern.rules == (Rule.P1, Rule.P7, Rule.P4)


def test_P2_amended_every_progressing_site_must_be_amenable_T60() -> None:
    """T60 / P2 (amended): an adrenal +15 mm with a new malignant pleural effusion is systemic, not oligo."""
    effusion = Lesion("E", PLEURA, role=LesionRole.NEW, site_text="Malignant pleural effusion")
    series = timeline(
        [target("L"), target("A", "adrenal"), effusion],
        tp(-7, mm("L", 20), mm("A", 18)),
        tp(49, mm("L", 20), mm("A", 33), seen("E")),
    )
    pattern = _pattern(series)
    assert pattern.flags == (Flag.SYSTEMIC_PROGRESSION,) and Flag.OLIGOPROGRESSION not in pattern.flags
    assert {site.lesion_id for site in pattern.progressing} == {"A", "E"}


def test_P2_amended_oligoprogression_needs_a_lesion_not_progressing() -> None:
    """P2 (amended): one progressing site with nothing else is not oligoprogression."""
    result = assess_pattern([LesionCourse("N", LUNG, new=True)], PATTERNS, amenable=True)
    assert result.flags == (Flag.SYSTEMIC_PROGRESSION,)


def test_P1_further_increase_of_a_non_target_is_a_progressing_site() -> None:
    """P1 with I9: a non-target the reader calls ``further-increase`` is progressing, like unequivocal."""
    series = timeline(
        [target("T"), non_target("B")],
        tp(-7, mm("T", 30), seen("B")),
        tp(49, mm("T", 40), seen("B", LesionStatus.FURTHER_INCREASE)),
    )
    imaging = evaluate_imaging_response(series, DEFAULTS, immune_checkpoint_inhibitor=False)
    courses = lesion_courses(imaging, series, imaging.recist.time_points[-1], SITES)
    assert [c.unequivocal_progression for c in courses] == [False, True]


def test_P8_new_lesions_only_each_lesion_is_a_site_and_no_variability_flag_T61() -> None:
    """T61 / P8 / V1 (amended): targets 40 -> 38 mm with a new 8-mm liver lesion is PD, the lesion a
    progressing site, P8 named, and neither WITHIN_MEASUREMENT_ERROR nor BORDERLINE_PD raised."""
    series = _new_liver_lesion(38)
    recist = evaluate_recist(series, DEFAULTS)
    assert recist.time_points[-1].overall is OverallResponse.PD
    flags = assess_variability(series, recist, DEFAULTS)[-1].flags
    assert Flag.WITHIN_MEASUREMENT_ERROR not in flags and Flag.BORDERLINE_PD not in flags
    pattern = _pattern(series)
    assert Rule.P8 in pattern.rules and [s.lesion_id for s in pattern.progressing] == ["N"]


def test_P8_not_named_when_targets_also_progress() -> None:
    """P8 is only for PD from new lesions alone."""
    assert Rule.P8 not in _pattern(_new_liver_lesion(60)).rules


def test_V1_amended_never_with_a_pd_from_a_new_lesion() -> None:
    """V1 (amended): a -5 % target change is not "within measurement error" when a new lesion made PD."""
    series = _new_liver_lesion(38)
    flags = assess_variability(series, evaluate_recist(series, DEFAULTS), DEFAULTS)[-1].flags
    assert Flag.WITHIN_MEASUREMENT_ERROR not in flags


def test_V1_amended_never_with_unequivocal_non_target_progression() -> None:
    """V1 (amended): NT progression (N3) with targets +2 mm gives no WITHIN_MEASUREMENT_ERROR."""
    series = timeline(
        [target("T"), non_target("B")],
        tp(-7, mm("T", 30), seen("B")),
        tp(49, mm("T", 32), seen("B", LesionStatus.UNEQUIVOCAL_PROGRESSION)),
    )
    flags = assess_variability(series, evaluate_recist(series, DEFAULTS), DEFAULTS)[-1].flags
    assert Flag.WITHIN_MEASUREMENT_ERROR not in flags


def test_V1_amended_target_only_pd_is_v2_not_v1() -> None:
    """V1 (amended): one target 40 -> 49 mm read by another reader (+22.5 %, under the 25 % band) is PD:
    BORDERLINE_PD, not WITHIN_MEASUREMENT_ERROR."""
    series = timeline([target("T")], tp(-7, mm("T", 40, reader="R1")), tp(49, mm("T", 49, reader="R2")))
    flags = assess_variability(series, evaluate_recist(series, DEFAULTS), DEFAULTS)[-1].flags
    assert flags.count(Flag.BORDERLINE_PD) == 1 and Flag.WITHIN_MEASUREMENT_ERROR not in flags


def _stable(lesion_id: str) -> LesionCourse:
    return LesionCourse(lesion_id, LUNG, PATTERNS.site_abs_mm, PATTERNS.site_abs_mm)


def _new_liver_lesion(target_mm: int) -> ImagingTimeline:
    return timeline(
        [target("T"), Lesion("N", "10200004", role=LesionRole.NEW)],
        tp(-7, mm("T", 40)),
        tp(49, mm("T", target_mm), mm("N", 8)),
    )


def _pattern(series: ImagingTimeline) -> PatternAssessment:
    imaging = evaluate_imaging_response(series, DEFAULTS, immune_checkpoint_inhibitor=False)
    return read_pattern(imaging, series, imaging.recist.time_points[-1], PATTERNS)
