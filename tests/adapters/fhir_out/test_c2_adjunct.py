"""C2: local therapy beside a new line is described as an adjunct to it, in both languages."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_C2_...), as issue 14 asks

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.conftest import REPO

CASE = REPO / "tests" / "golden" / "c2-t790m-in-oligoprogressing-adrenal" / "input.json"


@pytest.mark.parametrize(
    ("language", "phrase"), [("en", "As an adjunct to the new line"), ("zh-CN", "作为新治疗方案的辅助治疗")]
)
def test_C2_local_therapy_beside_a_switch_is_an_adjunct(language: str, phrase: str) -> None:
    """T790M with an oligoprogressing site: the local-therapy activity says it goes with the new line."""
    result = CliRunner().invoke(app, ["evaluate", str(CASE), "--language", language])
    assert result.exit_code == 0, result.output
    careplan = next(
        e["resource"]
        for e in json.loads(result.stdout_bytes)["entry"]
        if e["resource"]["resourceType"] == "CarePlan"
    )
    local = [
        a["detail"]
        for a in careplan["activity"]
        if a["detail"]["code"]["coding"][0]["code"] == "local-ablative-therapy"
    ]
    assert len(local) == 1 and phrase in local[0]["description"]
