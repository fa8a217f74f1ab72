"""Issue 15: every output resource passes Medplum's validation (``@medplum/core`` ``validateResource``, run by
``tests/medplum/validate.mjs``) against the R4 base definition and each profile it claims (mCODE 4.0.0
CancerDiseaseStatus, Genomics Reporting 3.0.0 TherapeuticImplication), with no error and no warning.

``make test`` installs the pinned packages (``npm ci`` in tests/medplum). Without Node or the packages the
tests skip, except under ``CI=true``, where they fail. The slicings Medplum cannot evaluate are set aside by
the script (its header says which and why); this test pins that list, checks those parts itself, and checks
that the IGs' own examples pass the same validation."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.adapters.fhir_out.assessment_factory import bare, build, progression, stable_without_sums
from tests.conftest import REPO, SHARED, unavailable

MEDPLUM = REPO / "tests" / "medplum"
EXAMPLES = sorted((SHARED / "examples").glob("*.json"))
GENOMICS = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
IMPLICATION = f"{GENOMICS}therapeutic-implication"
DISEASE_STATUS = f"{MCODE}mcode-cancer-disease-status"
SET_ASIDE = [
    (IMPLICATION, "Observation.category", "value discriminator on the repeating element coding"),
    (IMPLICATION, "Observation.derivedFrom", "profile discriminator"),
]
IG_EXAMPLES = [
    SHARED / "corpus" / "genomics-reporting-3.0.0" / "Observation-EGFR-L858R-therapuDrug1.json",
    SHARED / "corpus" / "mcode-ig-4.0.0" / "Observation-cancer-disease-status-jenny-m.json",
]


def medplum_or_skip() -> str:
    node = shutil.which("node")
    installed = (MEDPLUM / "node_modules" / "@medplum" / "core").is_dir()
    if node is None or not installed:
        unavailable("Medplum validation needs Node and `npm ci` in tests/medplum (make test installs them)")
    return node


def validate(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Medplum's issues for each resource, and the slicings set aside."""
    done = subprocess.run(
        [medplum_or_skip(), str(MEDPLUM / "validate.mjs")],
        input=json.dumps(resources),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def problems(answer: dict[str, Any]) -> list[str]:
    """Every error, fatal and warning, named by resource and profile (``-``: the base definition)."""
    found = []
    for index, result in enumerate(answer["results"]):
        for profile, issues in [("-", result["base"]), *result["profiles"].items()]:
            found += [
                f"{index} {result['resourceType']} {profile}: {i.get('details', {}).get('text', i['code'])}"
                f" at {i.get('expression')}"
                for i in issues
                if i["severity"] in ("fatal", "error", "warning")
            ]
    return found


def evaluated(path: Path, *args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["evaluate", str(path), *args])
    assert result.exit_code == 0, result.output
    return [entry["resource"] for entry in json.loads(result.stdout_bytes)["entry"]]


@cache
def outputs() -> list[dict[str, Any]]:
    """The R4 output for every shared example (in English and in Chinese) and the hand-built assessments."""
    made = [
        r
        for path in EXAMPLES
        for language in ("en", "zh-CN")
        for r in evaluated(path, "--language", language)
    ]
    for case in (progression, stable_without_sums, bare):
        made += [entry["resource"] for entry in build(case())["entry"]]
    return made


@pytest.mark.slow
def test_every_output_resource_passes_medplum_validation() -> None:
    """No error and no warning, against the base definition and each claimed profile, for every resource."""
    resources = outputs()
    answer = validate(resources)
    assert problems(answer) == []
    claimed = {url for r in resources for url in r.get("meta", {}).get("profile", [])}
    assert claimed == {DISEASE_STATUS, IMPLICATION}
    assert [(s["profile"], s["element"], s["reason"]) for s in answer["setAside"]] == SET_ASIDE


def claims(resource: dict[str, Any], profile: str) -> bool:
    return profile in resource.get("meta", {}).get("profile", [])


def category_patterns() -> list[dict[str, str]]:
    """The patternCoding of each category slice of the TherapeuticImplication profile, from the package."""
    package = MEDPLUM / "node_modules" / "hl7.fhir.uv.genomics-reporting"
    definition = json.loads((package / "StructureDefinition-therapeutic-implication.json").read_text())
    elements = definition["snapshot"]["element"]
    return [
        e["patternCoding"]
        for e in elements
        if e["id"].startswith("Observation.category:") and "patternCoding" in e
    ]


@pytest.mark.slow
def test_the_set_aside_category_slices_hold() -> None:
    """The category slices Medplum cannot match (labCategory, geCategory) each meet a category coding."""
    medplum_or_skip()
    patterns = category_patterns()
    assert len(patterns) == 2
    implications = [
        r for r in outputs() if f"{GENOMICS}therapeutic-implication" in r.get("meta", {}).get("profile", [])
    ]
    assert implications
    for resource in implications:
        codings = [c for concept in resource["category"] for c in concept["coding"]]
        for pattern in patterns:
            assert any(pattern.items() <= coding.items() for coding in codings), pattern


def test_the_igs_own_examples_pass() -> None:
    """The same validation, set-asides included, finds nothing in the IGs' own examples of those profiles."""
    examples = [json.loads(path.read_text(encoding="utf-8")) for path in IG_EXAMPLES]
    assert problems(validate(examples)) == []


def test_the_validation_can_fail() -> None:
    """A report without a status and with a Device as performer (R4 forbids it), and a disease status coded
    otherwise than its profile fixes, are reported."""
    report, *_ = build(progression())["entry"]
    broken = {k: v for k, v in report["resource"].items() if k not in ("status", "contained")}
    broken["performer"] = [{"reference": "Device/x"}]
    status = next(
        r for r in outputs() if f"{MCODE}mcode-cancer-disease-status" in r.get("meta", {}).get("profile", [])
    )
    recoded = status | {"code": {"coding": [{"system": "http://loinc.org", "code": "21976-6"}]}}
    found = problems(validate([broken, recoded]))
    assert any("DiagnosticReport" in p and "status" in p for p in found)
    assert any("DiagnosticReport" in p and "performer" in p for p in found)
    assert any("mcode-cancer-disease-status" in p for p in found)
