"""FHIR version: declared in Content-Type, else detected from R5-only shapes, else R4 (contract section 1)."""

from __future__ import annotations

import json
import random

import pytest

from service.adapters.fhir_in.versions import (
    FhirVersion,
    _is_r5_shape,
    detect_version,
    version_from_content_type,
)
from service.errors import UnsupportedMediaType
from tests.conftest import SHARED


def _bundle(*resources: dict[str, object]) -> dict[str, object]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


@pytest.mark.parametrize(
    ("resource", "version"),
    [
        (
            {"resourceType": "MedicationRequest", "medication": {"concept": {"text": "erlotinib"}}},
            FhirVersion.R5,
        ),
        (
            {"resourceType": "MedicationRequest", "medicationCodeableConcept": {"text": "erlotinib"}},
            FhirVersion.R4,
        ),
        (
            {"resourceType": "BodyStructure", "includedStructure": [{"structure": {"text": "lung"}}]},
            FhirVersion.R5,
        ),
        ({"resourceType": "BodyStructure", "location": {"text": "lung"}}, FhirVersion.R4),
        ({"resourceType": "ImagingStudy", "modality": [{"coding": [{"code": "CT"}]}]}, FhirVersion.R5),
        ({"resourceType": "ImagingStudy", "modality": [{"code": "CT"}]}, FhirVersion.R4),
        ({"resourceType": "MolecularSequence", "variant": [{"start": 1}]}, FhirVersion.R4),
        ({"resourceType": "Patient"}, FhirVersion.R4),
    ],
)
def test_detect_version_from_shapes(resource: dict[str, object], version: FhirVersion) -> None:
    """An R5-only shape makes the Bundle R5; anything else stays R4."""
    assert detect_version(_bundle(resource)) is version


def test_r5_shapes_example_is_detected_as_r5() -> None:
    """The contract's r5-shapes.json, sent without fhirVersion, is read as R5; the R4 examples as R4."""
    examples = SHARED / "examples"
    assert detect_version(json.loads((examples / "r5-shapes.json").read_text())) is FhirVersion.R5
    assert detect_version(json.loads((examples / "seed-slightly-larger.json").read_text())) is FhirVersion.R4


@pytest.mark.parametrize(
    ("header", "version"),
    [
        ("application/fhir+json", None),
        ("application/fhir+json; fhirVersion=5.0", FhirVersion.R5),
        ('application/json; charset=utf-8; fhirVersion="4.3"', FhirVersion.R4B),
    ],
)
def test_declared_version_wins(header: str, version: FhirVersion | None) -> None:
    """The Content-Type parameter is read; no parameter means 'detect'."""
    assert version_from_content_type(header) is version


def test_unknown_declared_version_is_415() -> None:
    """fhirVersion=3.0 is refused rather than guessed."""
    with pytest.raises(UnsupportedMediaType):
        version_from_content_type("application/fhir+json; fhirVersion=3.0")


def _reference_detect(bundle: dict[str, object]) -> FhirVersion:
    """The detection as first written: every entry's resource listed and tested (the fast path's oracle)."""
    entries = bundle.get("entry")
    listed = entries if isinstance(entries, list) else []
    found = [e["resource"] for e in listed if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    return FhirVersion.R5 if any(_is_r5_shape(r) for r in [bundle, *found]) else FhirVersion.R4


def _shared_bundles() -> list[dict[str, object]]:
    """Every corpus and example file: a Bundle as it is, any other resource as a one-entry Bundle."""
    found = []
    for path in sorted([*(SHARED / "corpus").rglob("*.json"), *(SHARED / "examples").rglob("*.json")]):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("resourceType") != "Bundle":
            data = _bundle(data)
        if isinstance(data, dict):
            found.append(data)
    return found


def test_detection_agrees_with_testing_every_resource_on_the_shared_files() -> None:
    """The corpus and examples (R4, R4B and R5 files) give the answer that testing every resource gives."""
    bundles = _shared_bundles()
    answers = [detect_version(b) for b in bundles]
    assert answers == [_reference_detect(b) for b in bundles]
    assert {FhirVersion.R4, FhirVersion.R5} <= set(answers)


_ODD: list[object] = [None, 7, "Patient", [], {}, {"resource": None}, {"resource": []}, {"resource": "x"},
                      {"resource": {"resourceType": ["ImagingStudy"]}}, {"resource": {"resourceType": {}}},
                      {"resource": {"resourceType": 3}}, {"resource": {}}]  # fmt: skip
_SHAPES: list[dict[str, object]] = [
    {"resourceType": "MedicationStatement", "medication": {"reference": {"reference": "Medication/m"}}},
    {"resourceType": "MedicationDispense", "medication": {"text": "no concept"}},
    {"resourceType": "MedicationAdministration", "medication": ["concept"]},
    {"resourceType": "BodyStructure", "includedStructure": None},
    {"resourceType": "ImagingStudy", "modality": [{"code": "MR"}, {"coding": []}]},
    {"resourceType": "ImagingStudy", "modality": {"coding": []}},
    {"resourceType": "Observation", "includedStructure": [], "modality": [{"coding": []}]},
    {"resourceType": "Bundle", "medication": {"concept": {}}},
]


def test_detection_agrees_with_testing_every_resource_on_odd_bundles() -> None:
    """Seeded random Bundles mixing real resources, R5-like shapes and entries that are no object, hold no
    object resource or a resourceType that cannot be hashed: the same answer as testing every resource."""
    rng = random.Random(19)  # noqa: S311  # a seeded test sequence, not a secret
    pool = [e for b in _shared_bundles()[:60] for e in b.get("entry", []) if isinstance(e, dict)]  # type: ignore[attr-defined]
    seen = set()
    for _ in range(3000):
        entries = rng.sample(pool, rng.randint(0, 4))
        entries += [rng.choice(_ODD) for _ in range(rng.randint(0, 2))]
        entries += [{"resource": rng.choice(_SHAPES)} for _ in range(rng.randint(0, 2))]
        rng.shuffle(entries)
        bundle: dict[str, object] = {"resourceType": "Bundle", "entry": entries}
        if rng.random() < 0.1:
            bundle = {**rng.choice(_SHAPES), "entry": entries}
        answer = detect_version(bundle)
        assert answer is _reference_detect(bundle), bundle
        seen.add(answer)
    assert seen == {FhirVersion.R4, FhirVersion.R5}
