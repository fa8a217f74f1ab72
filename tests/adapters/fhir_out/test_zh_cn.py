"""CLINICAL-RULES.md section 11 on the zh-CN output (Z8 b): golden inputs evaluated with ``--language zh-CN``
and hand-built assessments (T66: T54 rendered in Chinese), every text of the result checked: the conclusion,
the decoded presentedForm, the CarePlan and activity descriptions, and every ``text`` of the Observations."""

# ruff: noqa: N802, RUF001  # test names carry the rule IDs (test_Z1_...); expected Chinese holds full-width punctuation (Z1)

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs
from typer.testing import CliRunner

from service.cli import app
from service.domain.resistance import ResistanceFinding
from service.domain.resistance_kb import FindingCategory, SampleKind
from service.domain.rules import Rule
from service.domain.suggestions import CareSuggestion, SuggestedAction
from tests.adapters.fhir_out.assessment_factory import build, knowledge, progression, resources
from tests.conftest import REPO
from tests.unit.knowledge.zh_cn_style import zh_cn_problems

GOLDEN = REPO / "tests" / "golden"
CASES = sorted(p.parent.name for p in GOLDEN.glob("*/expected.json"))
# What the HTML shows as posted (translate="no": names, identifiers, lesion labels) is data, not text.
AS_POSTED = re.compile(r'<(\w+)[^>]*translate="no"[^>]*>.*?</\1>')
CODED = {"productCodeableConcept"}  # language-independent by contract: the INN list the golden tests parse


def real_texts(code: str, language: str) -> str:
    return knowledge().texts.text(code, language)


def output_texts(bundle: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, text) for every human text of a result Bundle; the HTML without markup and style."""
    for entry in bundle["entry"]:
        resource = entry["resource"]
        yield from _texts(resource, resource["resourceType"])
        for form in resource.get("presentedForm", []):
            html = base64.b64decode(form["data"]).decode("utf-8")
            visible = re.sub(r"<style>.*?</style>|<[^>]+>", "\n", AS_POSTED.sub("", html))
            yield from ((f"{resource['resourceType']}.html", line) for line in visible.split("\n") if line)


def _texts(node: object, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in CODED:
                continue
            if key in {"text", "description", "conclusion", "title"} and isinstance(value, str):
                yield f"{where}.{key}", value
            else:
                yield from _texts(value, f"{where}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item, where)


def problems(bundle: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    found = [(where, text, zh_cn_problems(text)) for where, text in output_texts(bundle)]
    return [problem for problem in found if problem[2]]


def evaluate_zh_cn(case: str) -> dict[str, Any]:
    """``oncoresponse evaluate --language zh-CN`` on a golden case, with its input, date and criteria."""
    expected = json.loads((GOLDEN / case / "expected.json").read_text(encoding="utf-8"))
    source = REPO / expected["input"] if "input" in expected else GOLDEN / case / "input.json"
    args = ["evaluate", str(source), "--language", "zh-CN"]
    args += ["--as-of", expected["as_of"]] if "as_of" in expected else []
    args += ["--criteria", expected["criteria"]] if "criteria" in expected else []
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    bundle: dict[str, Any] = json.loads(result.stdout_bytes)
    return bundle


@pytest.mark.parametrize("case", CASES)
def test_Z8_golden_output_in_chinese(case: str) -> None:
    """Every text of the zh-CN result passes Z1-Z4 and is written in Chinese (no missing translation)."""
    bundle = evaluate_zh_cn(case)
    assert problems(bundle) == []
    assert not [text for _, text in output_texts(bundle) if "\uff3b" in text]  # no [key] placeholder


def t54() -> dict[str, Any]:
    """CLINICAL-RULES T54/T66: gefitinib PD, plasma T790M, tissue MET GCN 12: switch to osimertinib; MDT/trial
    osimertinib + savolitinib (findings and rules as the knowledge base gives them)."""
    rules = {(r.rule, r.mechanism): r for r in knowledge().resistance.to_domain().rules}
    findings = tuple(
        _finding(rules[(rule, mechanism)])
        for rule, mechanism in ((Rule.X1, "EGFR-T790M"), (Rule.X6, "MET-AMP-HIGH"))
    )
    suggestions = (
        SuggestedAction(CareSuggestion.SWITCH_THERAPY, ("osimertinib",), None, (Rule.X1, Rule.A4)),
        SuggestedAction(
            CareSuggestion.MDT_TRIAL_CONSIDERATION, ("osimertinib", "savolitinib"), None, (Rule.X6, Rule.A10)
        ),
    )
    assessment = progression(
        findings=findings,
        suggestions=suggestions,
        current_drug="gefitinib",
        drug_class="egfr-tki-1st-generation",
        flags=(),
    )
    return build(assessment, language="zh-CN", texts=real_texts)


def _finding(rule: Any) -> ResistanceFinding:
    return ResistanceFinding(
        rule=rule.rule,
        mechanism=rule.mechanism,
        category=FindingCategory.ON_TARGET,
        actionable=True,
        actions=rule.actions,
        tier=rule.tier,
        evidence_basis=rule.evidence,
        citations=rule.citations,
        note=rule.note,
        supersedes=rule.supersedes,
        alterations=("EGFR T790M",) if rule.rule is Rule.X1 else ("MET copy number 12",),
        samples=(SampleKind.LIQUID,),
        evidence=("Observation/var-1",),
    )


def test_Z8_T66_conclusion_in_the_shape_of_the_worked_example() -> None:
    """T66: the response first, the mechanisms after 检测到, the suggestions with Chinese drug names joined by
    联合 (Z5), the table 11.3 templates filled."""
    conclusion = resources(t54(), "DiagnosticReport")[0]["conclusion"]
    assert conclusion.startswith("疾病进展（PD），")
    assert "检测到EGFR T790M突变及MET高水平扩增。" in conclusion
    assert conclusion.endswith(
        "建议：更换治疗方案为奥希替尼；提交多学科会诊（MDT）或临床试验评估（非标准治疗）：奥希替尼联合赛沃替尼。"
    )


def test_Z8_T66_every_text_passes_the_checks() -> None:
    """Conclusion, HTML, CarePlan descriptions and Observation texts of T66 pass Z1-Z4."""
    assert problems(t54()) == []


def test_Z5_activity_descriptions_name_the_chinese_drugs() -> None:
    """The activity description and code text name the regimen in Chinese; the product stays the INN list."""
    plan = resources(t54(), "CarePlan")[0]
    mdt = plan["activity"][1]["detail"]
    assert mdt["description"].startswith(
        "提交多学科会诊（MDT）或临床试验评估（非标准治疗）：奥希替尼联合赛沃替尼。"
    )
    assert mdt["code"]["text"].endswith("奥希替尼联合赛沃替尼")
    assert mdt["productCodeableConcept"]["text"] == "osimertinib, savolitinib"
    assert "证据等级：" in mdt["description"] and "随机对照III期研究" in mdt["description"]


def test_Z5_drugs_added_to_a_backbone() -> None:
    """The add-on template names the current drug as its backbone and lists the added drugs with 和 (its
    own 联合 already joins them to the backbone)."""
    action = SuggestedAction(
        CareSuggestion.ADD_TARGETED_AGENT, ("dabrafenib", "trametinib"), None, (Rule.A5,)
    )
    bundle = build(progression(suggestions=(action,)), language="zh-CN", texts=real_texts)
    conclusion = resources(bundle, "DiagnosticReport")[0]["conclusion"]
    assert "在奥希替尼基础上联合达拉非尼和曲美替尼" in conclusion


def test_Z6_evidence_and_jurisdiction_labels_in_the_description() -> None:
    """A suggestion's evidence and jurisdiction labels are written in the activity description (C9, Z6)."""
    action = SuggestedAction(
        CareSuggestion.SWITCH_THERAPY,
        ("osimertinib",),
        None,
        (Rule.A4,),
        tier="I-A",
        label="randomised-phase-3",
        jurisdiction="approved-china",
    )
    bundle = build(progression(suggestions=(action,)), language="zh-CN", texts=real_texts)
    description = resources(bundle, "CarePlan")[0]["activity"][0]["detail"]["description"]
    assert "随机对照III期研究。已在中国获批。" in description


def test_Z5_a_regimen_of_three_drugs() -> None:
    """Z5: 埃万妥单抗联合卡铂和培美曲塞."""
    action = SuggestedAction(
        CareSuggestion.SWITCH_THERAPY, ("amivantamab", "carboplatin", "pemetrexed"), None, (Rule.A4,)
    )
    bundle = build(progression(suggestions=(action,)), language="zh-CN", texts=real_texts)
    assert (
        "更换治疗方案为埃万妥单抗联合卡铂和培美曲塞" in resources(bundle, "DiagnosticReport")[0]["conclusion"]
    )


def test_Z3_dates_and_percentages() -> None:
    """Dates as 2025年3月1日; changes with one decimal, a real minus sign and no space."""
    bundle = build(progression(), language="zh-CN", texts=real_texts)
    report = resources(bundle, "DiagnosticReport")[0]
    html = base64.b64decode(report["presentedForm"][0]["data"]).decode("utf-8")
    assert "较基线\u221210.4%，较最低值+33.3%" in report["conclusion"]
    assert "2025年3月1日" in html and "2025-03-01" not in html


def test_Z2_a_missing_translation_is_the_key_in_brackets_and_logged() -> None:
    """A drug without any Chinese name is never shown in English: its key in full-width brackets, logged."""
    action = SuggestedAction(CareSuggestion.SWITCH_THERAPY, ("no-such-drug",), None, (Rule.A4,))
    with capture_logs() as logs:
        bundle = build(progression(suggestions=(action,)), language="zh-CN", texts=real_texts)
    assert "更换治疗方案为［drug.no-such-drug］" in resources(bundle, "DiagnosticReport")[0]["conclusion"]
    assert {"event": "MISSING_TRANSLATION", "key": "drug.no-such-drug", "language": "zh-CN"} in [
        {k: log[k] for k in ("event", "key", "language")} for log in logs
    ]


def test_Z2_a_code_without_a_chinese_text_is_never_english() -> None:
    """A coded finding without a zh-CN text shows its key, not the English display of code-systems.yaml."""

    def texts(code: str, language: str) -> str:
        if code == "response-category.PD":
            raise KeyError(code)
        return real_texts(code, language)

    conclusion = resources(build(progression(), language="zh-CN", texts=texts), "DiagnosticReport")[0]
    assert conclusion["conclusion"].startswith("［response-category.PD］")


def test_Z2_a_stale_knowledge_base_translation_is_not_used() -> None:
    """A resistance.yaml note whose English changed since it was translated shows its key (never stale)."""
    finding = progression().findings[0]
    changed = dataclasses.replace(
        finding, actions=(dataclasses.replace(finding.actions[0], note="New text."),)
    )
    action = dataclasses.replace(finding.actions[0], note="New text.")
    bundle = build(
        progression(findings=(changed,), suggestions=(action,)), language="zh-CN", texts=real_texts
    )
    description = resources(bundle, "CarePlan")[0]["activity"][0]["detail"]["description"]
    assert "［resistance-note.X6.MET-AMP-HIGH.add-targeted-agent］" in description


def test_Z2_histology_fusion_and_ratio_alterations_in_chinese() -> None:
    """The TherapeuticImplication note names copy number, ratio, fusion and histology in Chinese."""
    finding = dataclasses.replace(
        progression().findings[0],
        alterations=(
            "MET copy number 12",
            "MET/centromere ratio 2.4",
            "EML4::ALK fusion",
            "small-cell",
            "EGFR T790M",
        ),
    )
    bundle = build(progression(findings=(finding,)), language="zh-CN", texts=real_texts)
    note = next(o for o in resources(bundle, "Observation") if "note" in o)["note"][0]["text"]
    assert note == "MET基因拷贝数12；MET/着丝粒比值2.4；EML4::ALK融合；小细胞癌；EGFR T790M"


def test_Z4_a_histology_chemotherapy_without_drugs_and_an_unnamed_add_on() -> None:
    """No drug named: the chemotherapy template ends before its colon, the add-on says 相应药物."""
    actions = (
        SuggestedAction(CareSuggestion.HISTOLOGY_DIRECTED_CHEMOTHERAPY, (), None, (Rule.A7,)),
        SuggestedAction(CareSuggestion.ADD_TARGETED_AGENT, (), None, (Rule.A5,)),
    )
    bundle = build(progression(suggestions=actions, current_drug=None), language="zh-CN", texts=real_texts)
    conclusion = resources(bundle, "DiagnosticReport")[0]["conclusion"]
    assert "建议：根据病理类型选择化疗；在当前靶向药物基础上联合相应药物。" in conclusion


def test_Z8_english_output_is_unchanged_by_the_chinese_rendering() -> None:
    """English keeps INN names and its punctuation."""
    report = resources(build(progression(), texts=real_texts), "DiagnosticReport")[0]
    assert "(savolitinib, tepotinib)" in report["conclusion"]
    assert "from baseline -10.4 %" in report["conclusion"]
