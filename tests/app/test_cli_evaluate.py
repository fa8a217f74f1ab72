"""``oncoresponse evaluate`` and ``oncoresponse demo``: the $evaluate answer with no server."""

from __future__ import annotations

from pathlib import Path

import orjson
from fhir.resources import get_fhir_model_class as r5_model
from typer.testing import CliRunner

from service.cli import app
from tests.conftest import SHARED

runner = CliRunner()
EXAMPLE = SHARED / "examples" / "seed-slightly-larger.json"


def conclusion_codes(output: str) -> set[str]:
    bundle = orjson.loads(output)
    return {c["coding"][0]["code"] for c in bundle["entry"][0]["resource"]["conclusionCode"]}


def test_evaluate_a_file_prints_the_result_bundle() -> None:
    """The slightly-larger scan: SD within measurement error, no progression, on stdout, exit 0."""
    result = runner.invoke(app, ["evaluate", str(EXAMPLE)])
    assert result.exit_code == 0, result.stderr
    assert {"SD", "WITHIN_MEASUREMENT_ERROR", "no-progression"} <= conclusion_codes(result.stdout)


def test_evaluate_stdin_as_of_and_r5() -> None:
    """Reading '-' from stdin, --as-of an earlier date, --fhir-version 5.0: R5 that parses as R5."""
    result = runner.invoke(
        app, ["evaluate", "-", "--as-of", "2026-03-06", "--fhir-version", "5.0"], input=EXAMPLE.read_bytes()
    )
    assert result.exit_code == 0, result.stderr
    bundle = orjson.loads(result.stdout)
    assert bundle["entry"][0]["resource"]["effectiveDateTime"].startswith("2026-03-06")
    for entry in bundle["entry"]:
        r5_model(entry["resource"]["resourceType"]).model_validate(entry["resource"])


def test_unusable_input_is_an_operation_outcome_on_stderr(tmp_path: Path) -> None:
    """Not JSON, or a Bundle without follow-up imaging: an OperationOutcome on stderr, exit 1, no stdout."""
    not_json = tmp_path / "x.json"
    not_json.write_text("{nope")
    baseline_only = tmp_path / "b.json"
    baseline_only.write_bytes(
        orjson.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}],
            }
        )
    )
    for path in (not_json, baseline_only):
        result = runner.invoke(app, ["evaluate", str(path)])
        assert result.exit_code == 1
        assert result.stdout == ""
        assert orjson.loads(result.stderr)["resourceType"] == "OperationOutcome"


def test_missing_file_and_bad_date_exit_2(tmp_path: Path) -> None:
    """A file that does not exist, or an --as-of that is not a date, is a usage error (exit 2)."""
    assert runner.invoke(app, ["evaluate", str(tmp_path / "none.json")]).exit_code == 2
    assert runner.invoke(app, ["evaluate", str(EXAMPLE), "--as-of", "May"]).exit_code == 2


def test_demo_tells_the_story_and_writes_its_bundles(tmp_path: Path) -> None:
    """The demo: continue twice (the second within measurement error), then osimertinib for T790M."""
    result = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    written = sorted(tmp_path.glob("demo-*.json"))
    assert len(written) == 3
    assert "WITHIN_MEASUREMENT_ERROR" in conclusion_codes(written[1].read_text())
    last = orjson.loads(written[2].read_bytes())
    assert {"PD", "progression-supported", "EGFR-T790M"} <= conclusion_codes(written[2].read_text())
    plan = next(e["resource"] for e in last["entry"] if e["resource"]["resourceType"] == "CarePlan")
    assert "osimertinib" in orjson.dumps(plan["activity"][0]).decode().lower()
    assert "switch-therapy" in result.stdout
