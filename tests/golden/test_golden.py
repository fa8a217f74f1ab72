"""Golden cases (HOUSE-STYLE rule 11): each folder here is one clinical scenario, evaluated through
``oncoresponse evaluate``; README.md in this folder documents the expected.json fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fhir.resources import get_fhir_model_class as r5_model_class
from fhir.resources.R4B import get_fhir_model_class as r4b_model_class
from typer.testing import CliRunner

from service.cli import app

GOLDEN = Path(__file__).resolve().parent
REPO = GOLDEN.parents[1]
CANON = "http://oncoresponse.org/fhir/CodeSystem/"
CASES = sorted(p.parent.name for p in GOLDEN.glob("*/expected.json"))


@dataclass(frozen=True)
class Output:
    """The coded content of a result Bundle; ids and timestamps are never read."""

    resources: list[dict[str, Any]]

    @property
    def report(self) -> dict[str, Any]:
        return self.resources[0]

    def conclusion_codes(self) -> list[str]:
        return [c["code"] for cc in self.report.get("conclusionCode", []) for c in cc["coding"]]

    def observation_value(self, observation_type: str) -> str | None:
        for r in self.resources:
            codes = {(c["system"], c["code"]) for c in r.get("code", {}).get("coding", [])}
            if r["resourceType"] == "Observation" and (f"{CANON}observation-type", observation_type) in codes:
                return str(r["valueCodeableConcept"]["coding"][0]["code"])
        return None

    def bor_confirmed(self) -> bool | None:
        bor = next(r for r in self.resources if "best-overall-response" in json.dumps(r.get("code", {})))
        return next((c["valueBoolean"] for c in bor.get("component", []) if "valueBoolean" in c), None)

    def activities(self) -> list[dict[str, Any]]:
        careplan = next(r for r in self.resources if r["resourceType"] == "CarePlan")
        return [a["detail"] for a in careplan.get("activity", [])]

    def therapy_lines(self) -> list[tuple[list[str], bool]]:
        """Each therapy-line Observation's drugs (INN, from the coding display) and whether it is current."""
        lines = []
        for r in self.resources:
            if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "therapy-line":
                parts = {c["code"]["coding"][0]["code"]: c for c in r["component"]}
                drugs = [
                    c["valueCodeableConcept"].get("coding", [{"display": c["valueCodeableConcept"]["text"]}])[
                        0
                    ]["display"]
                    for c in r["component"]
                    if c["code"]["coding"][0]["code"] == "therapy-line-drug"
                ]
                lines.append((drugs, parts["therapy-line-current"]["valueBoolean"]))
        return lines

    def careplan_codes(self) -> list[str]:
        return [d["code"]["coding"][0]["code"] for d in self.activities()]

    def suggested_drugs(self) -> list[str]:
        """Drugs of every activity but continue-current-therapy, whose product is the current drug."""
        named = [
            drug.strip()
            for d in self.activities()
            if d["code"]["coding"][0]["code"] != "continue-current-therapy"
            for drug in d.get("productCodeableConcept", {}).get("text", "").split(",")
            if drug.strip()
        ]
        return list(dict.fromkeys(named))


def _evaluate(case: str, expected: dict[str, Any], fhir_version: str) -> Output:
    source = REPO / expected["input"] if "input" in expected else GOLDEN / case / "input.json"
    args = ["evaluate", str(source), "--fhir-version", fhir_version]
    args += ["--as-of", expected["as_of"]] if "as_of" in expected else []
    args += ["--criteria", expected["criteria"]] if "criteria" in expected else []
    args += ["--language", expected["language"]] if "language" in expected else []
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{case}: exit {result.exit_code}\n{result.output}"
    bundle = json.loads(result.stdout_bytes)
    return Output([e["resource"] for e in bundle["entry"]])


def _assert_parses(case: str, out: Output, model_class: Any, label: str) -> None:
    for resource in out.resources:
        try:
            model_class(resource["resourceType"]).model_validate(resource)
        except ValueError as exc:
            pytest.fail(f"{case}: {resource['resourceType']} does not parse as {label}: {exc}")


def _assert_content(case: str, expected: dict[str, Any], out: Output) -> None:
    got = {"response": out.observation_value("timepoint-response")}
    got["progression"] = out.observation_value("progression-assessment")
    for key in ("response", "progression"):
        assert got[key] == expected[key], f"{case}: {key} {got[key]!r}, expected {expected[key]!r}"
    codes = set(out.conclusion_codes())
    missing = set(expected["conclusion_codes"]) - codes
    assert not missing, f"{case}: conclusionCode lacks {sorted(missing)}; it has {sorted(codes)}"
    unwanted = set(expected.get("conclusion_codes_absent", [])) & codes
    assert not unwanted, f"{case}: conclusionCode must not have {sorted(unwanted)}; it has {sorted(codes)}"
    careplan = out.careplan_codes()
    if "careplan_codes" in expected:
        assert careplan == expected["careplan_codes"], (
            f"{case}: CarePlan codes {careplan}, expected exactly {expected['careplan_codes']}"
        )
    prefix = expected.get("careplan_prefix", [])
    assert careplan[: len(prefix)] == prefix, f"{case}: CarePlan codes {careplan} do not start with {prefix}"
    if "drugs" in expected:
        assert out.suggested_drugs() == expected["drugs"], (
            f"{case}: suggested drugs {out.suggested_drugs()}, expected {expected['drugs']}"
        )
    conclusion = out.report.get("conclusion", "")
    for phrase in expected.get("conclusion_contains", []):
        assert phrase in conclusion, f"{case}: the conclusion lacks {phrase!r}: {conclusion}"
    if "therapy_lines" in expected:
        got_lines = [drugs for drugs, _ in out.therapy_lines()]
        current = [drugs for drugs, is_current in out.therapy_lines() if is_current]
        assert got_lines == expected["therapy_lines"], f"{case}: therapy lines {got_lines}"
        assert current == expected["therapy_lines"][-1:], f"{case}: current line {current}"
    if "best_overall_response" in expected:
        bor = (out.observation_value("best-overall-response"), out.bor_confirmed())
        wanted = (expected["best_overall_response"], expected["bor_confirmed"])
        assert bor == wanted, f"{case}: best overall response (category, confirmed) {bor}, expected {wanted}"


@pytest.mark.parametrize("case", CASES)
def test_golden_case(case: str) -> None:
    """The CLI's Bundle for each golden input has the expected codes and parses as R4B (R5 where asked)."""
    expected = json.loads((GOLDEN / case / "expected.json").read_text())
    if "known_gap" in expected:
        pytest.skip(f"known gap: {expected['known_gap']}")
    out = _evaluate(case, expected, "4.0")
    _assert_parses(case, out, r4b_model_class, "R4B")
    _assert_content(case, expected, out)
    if expected.get("also_r5"):
        r5 = _evaluate(case, expected, "5.0")
        _assert_parses(case, r5, r5_model_class, "R5")
        assert set(expected["conclusion_codes"]) <= set(r5.conclusion_codes()), f"{case}: R5 conclusionCode"
