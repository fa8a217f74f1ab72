"""The report HTML beyond its charts (issue 18): the per-lesion table, the rule IDs explained in words, and
the patient's identification (in full on the page, identifiers only in the stored presentedForm)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
from decimal import Decimal

import msgspec
import pytest

from service.adapters.fhir_out.html import presented_form, report_html
from service.adapters.fhir_out.patient_banner import PatientBanner
from service.adapters.fhir_out.result_context import ResultContext
from service.domain.assessment import Assessment, MarkerPoint, SumPoint
from service.domain.model import Lesion, LesionRole
from service.domain.rules import Rule
from tests.adapters.fhir_out.assessment_factory import CANON, DAY, ISSUED, knowledge, progression

LUNG = ("http://snomed.info/sct", "39607008")
PATIENT = {
    "resourceType": "Patient",
    "name": [{"family": "Wang", "given": ["Li"]}],
    "identifier": [{"type": {"text": "MRN"}, "value": "12345"}],
    "birthDate": "1961-03-02",
    "gender": "female",
}


def real_texts(code: str, language: str) -> str:
    return knowledge().texts.text(code, language)


def context(assessment: Assessment, language: str = "en") -> ResultContext:
    return ResultContext(assessment, knowledge(), CANON, language, "4.0", ISSUED, real_texts)


def with_lesions() -> Assessment:
    """T44-like: a lung target (coded site), a node (short axis) and a posted site text; the node was not
    measured on the second scan; the nadir is the second scan."""
    targets = (
        Lesion("urn:site:lesion|L1", "39607008", role=LesionRole.TARGET, site_codes=(LUNG,)),
        Lesion("urn:site:lesion|N1", "lymph", is_nodal=True, role=LesionRole.TARGET),
        Lesion("urn:site:lesion|X", "other", role=LesionRole.TARGET, site_text="<b>chest wall</b>"),
    )
    base, nadir, now = dt.date(2024, 9, 1), dt.date(2024, 12, 1), dt.date(2025, 3, 1)
    sizes = {
        base: {"urn:site:lesion|L1": 30, "urn:site:lesion|N1": 22, "urn:site:lesion|X": 15},
        nadir: {"urn:site:lesion|L1": 20, "urn:site:lesion|X": 12},
        now: {"urn:site:lesion|L1": 33, "urn:site:lesion|N1": 15, "urn:site:lesion|X": 12},
    }
    sums = tuple(
        SumPoint(day, Decimal(sum(mm.values())), "SD", tuple((k, Decimal(v)) for k, v in mm.items()))
        for day, mm in sizes.items()
    )
    return progression(targets=targets, sums=sums)


def cells(row: str) -> list[str]:
    """Each cell's text, markup removed and spaces collapsed."""
    return [
        " ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
    ]


def table_rows(html: str) -> list[list[str]]:
    table = re.search(r'<table class="lesions">(.*?)</table>', html)
    assert table is not None
    return [cells(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1))]


def test_lesion_table_has_a_row_per_target_and_a_column_per_scan() -> None:
    """Label, site in words (or as posted, escaped), role; sizes per scan, a dash where not measured, the
    change from baseline; the sum row; the baseline and nadir scans marked."""
    rows = table_rows(report_html(context(with_lesions())))
    scans = ["2024-09-01 Baseline", "2024-12-01 Nadir", "2025-03-01"]
    assert rows[0] == ["Lesion", "Site", "Role", *scans, "Change from baseline"]
    assert rows[1] == ["L1", "Lung", "Target", "30", "20", "33", "+10.0 %"]
    assert rows[2] == ["N1", "lymph", "Target, lymph node (short axis)", "22", "\u2013", "15", "-31.8 %"]
    assert rows[3] == ["X", "&lt;b&gt;chest wall&lt;/b&gt;", "Target", "15", "12", "12", "-20.0 %"]
    assert rows[4] == ["Sum of diameters", "67", "32", "60", "-10.4 %"]


def test_non_target_and_new_lesions_show_what_was_seen() -> None:
    """After the sum row: a non-target (status per scan) and a new lesion (a dash before it was seen), their
    role and status in words; no change column value."""
    base, nadir, now = (p.date for p in with_lesions().sums)
    pleura = Lesion("urn:site:lesion|NT", "3120008", site_codes=(("http://snomed.info/sct", "3120008"),))
    liver = Lesion("urn:site:lesion|NEW", "10200004", site_codes=(("http://snomed.info/sct", "10200004"),))
    statuses = {
        base: (("urn:site:lesion|NT", "present"),),
        nadir: (("urn:site:lesion|NT", "present"),),
        now: (("urn:site:lesion|NT", "unequivocal-progression"), ("urn:site:lesion|NEW", "present")),
    }
    sums = tuple(msgspec.structs.replace(p, statuses=statuses[p.date]) for p in with_lesions().sums)
    assessment = dataclasses.replace(with_lesions(), non_targets=(pleura,), new_lesions=(liver,), sums=sums)
    rows = table_rows(report_html(context(assessment)))
    seen = ["Present", "Present", "Unequivocal progression", "\u2013"]
    assert rows[5] == ["NT", "Pleura", "Non-target", *seen]
    assert rows[6] == ["NEW", "Liver", "New lesion", "\u2013", "\u2013", "Present", "\u2013"]
    chinese = table_rows(report_html(context(assessment, "zh-CN")))
    assert chinese[5][1:] == ["胸膜", "非靶病灶", "存在", "存在", "明确进展", "\u2013"]


def test_lesion_table_marks_the_nadir_scan() -> None:
    """The time point's nadir date is marked on its column (here the second scan)."""
    html = report_html(context(with_lesions()))
    assert "2024-12-01<br><small>Nadir</small>" in html


def test_lesion_table_in_chinese() -> None:
    """zh-CN: the headings, site and role in Chinese, dates as Z3 writes them; lesion labels as posted."""
    html = report_html(context(with_lesions(), "zh-CN"))
    rows = table_rows(html)
    assert rows[0][:4] == ["病灶", "部位", "类型", "2024年9月1日 基线"]
    assert rows[1][:3] == ["L1", "肺", "靶病灶"]
    assert '<td translate="no">L1</td>' in html


def test_no_table_without_per_lesion_sizes() -> None:
    """An assessment without targets (or without sizes) has no lesion table."""
    assert '<table class="lesions">' not in report_html(context(progression()))


def test_every_cited_rule_is_explained_in_both_languages() -> None:
    """Each suggestion's rule IDs carry their text as a tooltip, and the legend lists each cited rule once."""
    for language in ("en", "zh-CN"):
        html = report_html(context(progression(), language))
        for rule in (Rule.X6, Rule.X20, Rule.A6, Rule.A3):
            text = real_texts(f"rule.{rule.value}", language)
            assert f'<abbr title="{text}">{rule.value}</abbr>' in html
            assert html.count(f"<dt>{rule.value}</dt><dd>{text}</dd>") == 1


def test_a_rule_without_text_is_shown_as_its_id() -> None:
    """English: a rule without a text keeps its bare ID, out of the legend; zh-CN shows the key (Z2)."""
    assessment = progression()
    action = dataclasses.replace(assessment.suggestions[-1], rules=(Rule.S1,))
    assessment = dataclasses.replace(assessment, suggestions=(action,), findings=())
    assert "[S1]</li>" in report_html(context(assessment))
    assert "<dt>S1</dt>" not in report_html(context(assessment))
    assert "\uff3brule.S1\uff3d" in report_html(context(assessment, "zh-CN"))


def test_the_page_identifies_the_patient_as_posted() -> None:
    """The page: name, identifier, the birth date in the language's form and the gender in words."""
    banner = PatientBanner.of(PATIENT)
    english = report_html(context(progression()), banner)
    assert '<dd translate="no">WANG, Li</dd>' in english and '<dd translate="no">MRN 12345</dd>' in english
    assert "<dd>1961-03-02</dd>" in english and "<dd>Female</dd>" in english
    chinese = report_html(context(progression(), "zh-CN"), banner)
    assert "<dd>1961年3月2日</dd>" in chinese and "<dd>女</dd>" in chinese


@pytest.mark.parametrize("banner", [PatientBanner.of(PATIENT), None])
def test_presented_form_identifies_by_identifier_only(banner: PatientBanner | None) -> None:
    """The stored form: the posted identifier (or the reference) and nothing more (no name, birth date)."""
    form = presented_form(context(progression()), banner)
    html = base64.b64decode(form["data"]).decode("utf-8")
    shown = "MRN 12345" if banner else "Patient/p1"
    assert f'<dt>Identifier</dt><dd translate="no">{shown}</dd>' in html
    assert "Wang" not in html and "WANG" not in html and "1961" not in html and "Female" not in html


@pytest.mark.parametrize("family", ["A", "C", "K", "P", "X"])
def test_every_rule_a_suggestion_can_cite_has_texts(family: str) -> None:
    """The A-, C-, K-, P- and X-rules (what suggestions and findings cite) have rule.<ID> in en and zh-CN."""
    rules = [rule for rule in Rule if re.fullmatch(rf"{family}\d+", rule.value)]
    missing = [
        (rule.value, language)
        for rule in rules
        for language in ("en", "zh-CN")
        if f"rule.{rule.value}" not in knowledge().texts.texts
        or not real_texts(f"rule.{rule.value}", language)
    ]
    assert rules and missing == []


def test_a_draw_after_the_scan_is_within_the_dates_the_report_states() -> None:
    """A plasma draw 3 days after the PD scan (read for the resistance work-up) is drawn, and the report
    states the data it read run to that day; a report whose data end with the scan states only its date."""
    later = DAY + dt.timedelta(days=3)
    draw = MarkerPoint(later, Decimal("0.05"), None, "Observation/ctdna-1")
    html = report_html(context(progression(as_of=later, ctdna=(draw,))))
    assert "<tr><th>Date</th><td>2025-03-01</td></tr><tr><th>Data up to</th><td>2025-03-04</td></tr>" in html
    assert ">2025-03-04</text>" in html  # the draw's date on the ctDNA chart
    assert "Data up to" not in report_html(context(progression()))
