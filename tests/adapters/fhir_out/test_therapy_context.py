"""R12: the report shows the therapy context it used: each line as a ``therapy-line`` Observation and the
medication records set aside, each with the rule that set it aside."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_R12_...), as issue 14 asks

from __future__ import annotations

import base64
import json
from typing import Any

from fhir.resources.R4B.observation import Observation
from typer.testing import CliRunner

from service.cli import app
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"
CANON = "http://oncoresponse.org/fhir/"


def _evaluate(case: str, *extra: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["evaluate", str(GOLDEN / case / "input.json"), *extra])
    assert result.exit_code == 0, result.output
    return [e["resource"] for e in json.loads(result.stdout_bytes)["entry"]]


def _typed(resources: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    return [
        r for r in resources if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == code
    ]


def _part(observation: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [c for c in observation["component"] if c["code"]["coding"][0]["code"] == code]


def test_R12_each_line_with_its_records_outcome_and_backbone() -> None:
    """T48: the gefitinib line (progressed) and the current osimertinib line, each focused on its orders."""
    resources = _evaluate("t48-new-line-after-pd")
    first, second = _typed(resources, "therapy-line")
    assert first["focus"] == [{"reference": "MedicationRequest/g-t48-gef"}]
    assert first["valueCodeableConcept"]["coding"][0]["code"] == "progressed"
    assert _part(first, "therapy-line-progression")[0]["valueDateTime"] == "2024-05-02"
    assert _part(second, "therapy-line-current")[0]["valueBoolean"] is True
    assert _part(second, "therapy-line-start")[0]["valueDateTime"] == "2024-06-20"
    backbone = _part(second, "resistance-context")[0]["valueCodeableConcept"]
    assert {c["code"] for c in backbone["coding"]} == {"1721560", "L01EB04"}  # RxNorm and ATC (C9)
    report = resources[0]
    assert {"reference": f"Observation/{second['id']}"} in report["result"]
    careplan = next(r for r in resources if r["resourceType"] == "CarePlan")
    lines = [{"reference": f"Observation/{line['id']}"} for line in (first, second)]
    assert careplan["supportingInfo"][1:] == lines  # the CarePlan lists the lines too (R12)
    for line in (first, second):
        Observation.model_validate(line)


def test_R12_records_set_aside_name_their_rule() -> None:
    """T47: the draft pembrolizumab and the erroneous osimertinib are listed with R2, each with its record."""
    (ignored,) = _typed(_evaluate("t47-ignored-orders"), "medication-records-ignored")
    records = [r["reference"] for r in ignored["focus"]]
    assert set(records) == {"MedicationRequest/g-t47-pembro", "MedicationRequest/g-t47-osi"}
    for component, record in zip(ignored["component"], records, strict=True):
        ext = {e["url"].removeprefix(CANON): e for e in component["extension"]}
        assert ext["StructureDefinition/medication-record"]["valueReference"]["reference"] == record
        assert ext["StructureDefinition/rule-id"]["valueCode"] == "R2"
        assert component["valueCodeableConcept"]["coding"][0]["code"] == "not-counted"
    Observation.model_validate(ignored)


def test_R12_supportive_drugs_are_listed_as_supportive_in_chinese_too() -> None:
    """T46: the supportive drugs are set aside by R3; in zh-CN the reason reads in Chinese."""
    (ignored,) = _typed(
        _evaluate("t46-supportive-drugs-no-new-line", "--language", "zh-CN"), "medication-records-ignored"
    )
    reasons = {c["valueCodeableConcept"]["coding"][0]["code"] for c in ignored["component"]}
    assert reasons == {"supportive"}
    assert ignored["component"][0]["valueCodeableConcept"]["text"] == "支持治疗药物：不构成治疗线"  # noqa: RUF001  # Z1: a Chinese sentence takes the full-width colon


def _html(resources: list[dict[str, Any]]) -> str:
    return base64.b64decode(resources[0]["presentedForm"][0]["data"]).decode("utf-8")


def test_R12_the_html_lists_the_lines_newest_first_and_the_records_set_aside() -> None:
    """English: each line with its drugs, start and outcome, then each record set aside and why."""
    html = _html(_evaluate("t48-new-line-after-pd"))
    assert "Line 2 (current): osimertinib, from 2024-06-20, Ongoing" in html
    assert html.index("Line 2 (current)") < html.index("Line 1: gefitinib, from 2023-03-01, Progressed")
    html = _html(_evaluate("t47-ignored-orders"))
    assert "MedicationRequest/g-t47-osi (osimertinib): Not counted (status, intent or date)" in html


def test_R12_the_html_in_chinese_names_drugs_in_chinese_and_counts_records() -> None:
    """zh-CN: Chinese drug names and dates (Z3, Z5); the records set aside counted by reason."""
    html = _html(_evaluate("t46-supportive-drugs-no-new-line", "--language", "zh-CN"))
    assert "第1线（当前）：奥希替尼，2025年1月10日起，疾病进展" in html  # noqa: RUF001  # Z1 punctuation
    assert "未纳入的用药记录：支持治疗药物：不构成治疗线（5条）" in html  # noqa: RUF001  # Z1 punctuation
