"""FHIR version: declared in Content-Type, else detected from R5-only shapes, else R4 (contract section 1)."""

from __future__ import annotations

import json

import pytest

from service.adapters.fhir_in.versions import FhirVersion, detect_version, version_from_content_type
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
