"""The ImagingStudy fast path (plain_studies.py, issue 19) and the checked reading (imaging.py) agree: every
single edge change and seeded random mutations of the ImagingStudies lesions name (R4 Coding and R5
CodeableConcept modalities, of the study and of its series, scanner extensions) give the same imaging
context, and normalising with the fast path gives the same facts and issues as without it."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest

from service.adapters.fhir_in import plain_lesions
from service.adapters.fhir_in.context import Context
from service.adapters.fhir_in.imaging import quiet_study
from service.adapters.fhir_in.normalise import Normalised
from service.adapters.fhir_in.plain_studies import plain_study
from service.adapters.fhir_in.references import Entry, References
from service.adapters.fhir_in.versions import FhirVersion
from service.knowledge import Knowledge
from tests.adapters.fhir_in.conftest import CANON, TODAY, run
from tests.adapters.fhir_in.fast_path_agreement import agree_on_every_edge_change, agree_on_mutations
from tests.adapters.fhir_in.test_plain_lesions import _mutate

LOINC, UCUM, DCM = (
    "http://loinc.org",
    "http://unitsofmeasure.org",
    "http://dicom.nema.org/resources/ontology/DCM",
)
VERSIONS = [FhirVersion.R4, FhirVersion.R5]


def _modality(code: str, version: FhirVersion) -> dict[str, Any]:
    coding = {"system": DCM, "code": code, "display": code.lower()}
    return {"coding": [{"system": "urn:x"}, coding], "text": code} if version is FhirVersion.R5 else coding


def _lesion(ident: str, study: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": LOINC, "code": "33728-7"}]},
        "effectiveDateTime": "2026-01-05",
        "derivedFrom": [{"reference": study}],
        "valueQuantity": {"value": 12, "system": UCUM, "code": "mm"},
    }


def _resources(version: FhirVersion) -> list[dict[str, Any]]:
    """A study with its own modality (after an empty one) and a scanner after other extensions, one whose
    modality is only its series', and one with a contained Device."""
    scanner = {"url": "urn:scanner", "valueReference": {"reference": "Device/d1"}}
    return [
        {"resourceType": "Patient", "id": "p", "birthDate": "1850-01-01"},
        {
            "resourceType": "ImagingStudy",
            "id": "s1",
            "modality": [{"system": DCM} if version is FhirVersion.R4 else {}, _modality("CT", version)],
            "series": [{"modality": _modality("MR", version)}],
            "extension": [{"url": "urn:other", "valueCode": "x"}, {"valueReference": None}, scanner],
        },
        {
            "resourceType": "ImagingStudy",
            "id": "s2",
            "series": [{"uid": "1"}, {"modality": _modality("PT", version)}],
            "extension": [{"valueReference": {"reference": "Practitioner/x"}}, scanner],
        },
        {
            "resourceType": "ImagingStudy",
            "id": "s3",
            "contained": [{"resourceType": "Device", "id": "d"}],
            "extension": [{"valueReference": {"reference": "#d"}}],
        },
        _lesion("o1", "ImagingStudy/s1"),
        _lesion("o2", "ImagingStudy/s2"),
        _lesion("o3", "ImagingStudy/s3"),
    ]


def _direct(
    knowledge: Knowledge, resources: list[dict[str, Any]], version: FhirVersion, taken: Counter[bool]
) -> None:
    """Each study read by the fast path is read the same by the checked reading, with nothing reported."""
    entries = [Entry(i, None, r) for i, r in enumerate(resources)]
    local = knowledge.observation_codes.resolved(CANON)
    ctx = Context(knowledge, local, References(entries), version, TODAY, {})
    for resource in resources[1:4]:
        fast = plain_study("ImagingStudy/s", resource, ctx)
        taken[fast is not None] += 1
        assert fast is None or fast == quiet_study("ImagingStudy/s", resource, ctx), resource


def _both(
    knowledge: Knowledge, resources: list[dict[str, Any]], version: FhirVersion, taken: Counter[bool]
) -> tuple[Normalised, Normalised]:
    """Normalised with the fast path (and each study compared directly), and without it."""
    _direct(knowledge, resources, version, taken)

    def normalised() -> Normalised:
        return run(knowledge, [Entry(i, None, r) for i, r in enumerate(copy.deepcopy(resources))], version)

    with pytest.MonkeyPatch.context() as patch:
        fast = normalised()
        patch.setattr(plain_lesions, "plain_study", lambda *_: None)
        return fast, normalised()


@pytest.mark.parametrize("version", VERSIONS)
def test_every_single_edge_change_agrees(knowledge: Knowledge, version: FhirVersion) -> None:
    taken = agree_on_every_edge_change(
        lambda: _resources(version), lambda resources, taken: _both(knowledge, resources, version, taken)
    )
    assert taken[True] > 2000 and taken[False] > 200


@pytest.mark.parametrize("version", VERSIONS)
def test_fast_path_and_checked_reading_agree_on_mutated_resources(
    knowledge: Knowledge, version: FhirVersion
) -> None:
    taken = agree_on_mutations(
        lambda: _resources(version),
        _mutate,
        lambda resources, taken: _both(knowledge, resources, version, taken),
        seed=19,
        cases=800,
    )
    assert taken[True] > 1500 and taken[False] > 200


@pytest.mark.parametrize("version", VERSIONS)
def test_unmutated_studies_are_read_by_the_fast_path(knowledge: Knowledge, version: FhirVersion) -> None:
    taken: Counter[bool] = Counter()
    fast, checked = _both(knowledge, _resources(version), version, taken)
    assert taken == Counter({True: 3}) and fast.issues == [] == checked.issues
    assert fast.facts == checked.facts
    found = {f.source: (f.modality, f.scanner) for f in fast.facts}
    assert found == {
        "Observation/o1": ("CT", "Device/d1"),
        "Observation/o2": ("PT", "Device/d1"),
        "Observation/o3": (None, None),
    }
