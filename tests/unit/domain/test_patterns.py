"""Progression patterns P1-P4 (CLINICAL-RULES.md 5.1) and the oligoprogression worked example T44."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_P2_...), as issue 5 asks

from __future__ import annotations

from decimal import Decimal

import pytest

from service.domain.imaging_response import evaluate_imaging_response
from service.domain.pattern_sites import SiteKind, SiteVocabulary
from service.domain.patterns import (
    LesionCourse,
    PatternThresholds,
    SiteReason,
    assess_pattern,
    progressing_site,
)
from service.domain.readings import lesion_courses
from service.domain.rules import Flag, Rule
from tests.unit.domain.builders import DEFAULTS, target_series

SNOMED = "http://snomed.info/sct"
# The values of mappings/patterns.yaml; tests/unit/knowledge/test_marker_settings.py checks the file agrees.
SITES = SiteVocabulary(
    code_systems=frozenset({SNOMED}),
    cns_codes=frozenset(
        (SNOMED, c) for c in ("12738006", "119235005", "2748008", "54785003", "1231004", "8935007")
    ),
    leptomeningeal_codes=frozenset({(SNOMED, "1231004"), (SNOMED, "8935007")}),
    cns_words=(
        *("brain*", "cerebr*", "cerebell*", "intracranial", "brainstem", "spinal cord*", "mening*"),
        *("leptomening*", "dura", "dural", "脑", "颅内", "小脑", "脑干", "脊髓", "脑膜"),
    ),
    leptomeningeal_words=("leptomening*", "meningeal carcinomatosis", "软脑膜", "脑膜转移"),
    diffuse_words=(
        *("effusion*", "pleural nodularity", "carcinomatosis", "ascites", "lymphangitic"),
        *("胸腔积液", "心包积液", "胸膜转移", "腹膜转移", "腹水", "癌性淋巴管炎"),
    ),
)
PATTERNS = PatternThresholds(Decimal(5), Decimal("0.20"), 5, SITES)


def target(lesion: str, nadir: int, current: int, organ: str = "lung") -> LesionCourse:
    return LesionCourse(lesion, organ, Decimal(nadir), Decimal(current))


@pytest.mark.parametrize(
    ("lesion", "reason"),
    [
        (target("a", 18, 33), SiteReason.GROWTH),
        (target("a", 25, 30), SiteReason.GROWTH),
        (target("a", 26, 31), None),
        (target("a", 20, 24), None),
        (target("a", 0, 5), SiteReason.GROWTH),
        (LesionCourse("n", "liver", new=True), SiteReason.NEW),
        (LesionCourse("b", "bone", unequivocal_progression=True), SiteReason.UNEQUIVOCAL),
        (LesionCourse("b", "bone"), None),
        (LesionCourse("a", "lung", Decimal(10), Decimal(40), evaluated=False), None),
    ],
)
def test_P1_progressing_site(lesion: LesionCourse, reason: SiteReason | None) -> None:
    """P1: new lesion, own growth >= 5 mm and >= 20 % over own nadir (exact), or unequivocal NT growth."""
    site = progressing_site(lesion, PATTERNS)
    assert (site.reason if site else None) is reason


def test_P2_oligoprogression_example_T44() -> None:
    """T44: only the adrenal grows (18 -> 33 mm); lung, liver and the bone NT are controlled."""
    lesions = [target("lung", 12, 12), target("liver", 15, 15, "liver"), target("adrenal", 18, 33, "adrenal")]
    result = assess_pattern([*lesions, LesionCourse("bone", "bone")], PATTERNS)
    assert result.flags == (Flag.OLIGOPROGRESSION, Flag.LOCAL_THERAPY_AMENABILITY_UNKNOWN)
    assert result.rules == (Rule.P1, Rule.P2) and result.organs == ("adrenal",)
    assert result.progressing[0].change_mm == Decimal(15) and result.evidence == ("adrenal",)


def test_P2_amenable_drops_the_note_and_not_amenable_is_systemic() -> None:
    """P2/P4: known amenability removes the note; sites not amenable to local therapy are systemic."""
    lesions = [target("a", 18, 33), target("b", 10, 10)]
    assert assess_pattern(lesions, PATTERNS, amenable=True).flags == (Flag.OLIGOPROGRESSION,)
    assert assess_pattern(lesions, PATTERNS, amenable=False).flags == (Flag.SYSTEMIC_PROGRESSION,)


def test_P2_cns_only_progression() -> None:
    """P2: progression only at a CNS site (P5) is also shown as CNS_OLIGOPROGRESSION."""
    lesions = [LesionCourse("m", "12738006", new=True, site=SiteKind.CNS), target("b", 10, 10)]
    assert Flag.CNS_OLIGOPROGRESSION in assess_pattern(lesions, PATTERNS, amenable=True).flags


@pytest.mark.parametrize(
    "lesions",
    [
        [target(str(i), 10, 20) for i in range(6)] + [target("x", 10, 10)],
        [target("a", 50, 70), target("b", 30, 40), target("c", 20, 30)],
        [target("a", 18, 33), LesionCourse("b", "lung", Decimal(10), None, evaluated=False)],
    ],
)
def test_P4_systemic_progression(lesions: list[LesionCourse]) -> None:
    """P4: more than 5 sites, no controlled lesion (seed-t790m: all growing), or other disease unevaluated."""
    result = assess_pattern(lesions, PATTERNS)
    assert result.flags == (Flag.SYSTEMIC_PROGRESSION,) and result.rules == (Rule.P1, Rule.P4)


def test_P1_no_progressing_site_no_pattern() -> None:
    """P1: without a progressing site neither pattern is raised."""
    result = assess_pattern([target("a", 20, 22)], PATTERNS)
    assert result.flags == () and result.rules == (Rule.P1,) and result.progressing == ()


def test_P1_lesion_courses_use_only_time_points_up_to_the_assessed_one() -> None:
    """A lesion's own nadir comes from the baseline and the time points up to the assessed one, never from a
    later scan (assess() passes the latest time point; an earlier one must not see the future)."""
    series = target_series([20, 25, 22], [12, 15, 18], [10, 12, 14])
    imaging = evaluate_imaging_response(series, DEFAULTS, immune_checkpoint_inhibitor=False)
    first_follow_up = imaging.recist.time_points[0]  # RECIST time points are the follow-ups
    courses = lesion_courses(imaging, series, first_follow_up)
    assert [(c.nadir_mm, c.current_mm) for c in courses] == [
        (Decimal(12), Decimal(12)),
        (Decimal(15), Decimal(15)),
        (Decimal(18), Decimal(18)),
    ]
    latest = lesion_courses(imaging, series, imaging.recist.time_points[-1])
    assert [c.nadir_mm for c in latest] == [Decimal(10), Decimal(12), Decimal(14)]
