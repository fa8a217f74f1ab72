"""The lesion reader keeps what P5-P7 and I9 need: the site's words as sent and the ``further-increase``
status (CLINICAL-RULES.md 0.2)."""

# ruff: noqa: N802  # test names carry the rule IDs of CLINICAL-RULES.md (test_P5_...)

from __future__ import annotations

from typing import Any

from service.adapters.fhir_in.references import Entry
from service.adapters.fhir_in.versions import FhirVersion
from service.domain.facts import LesionObservation, LesionStatus
from service.knowledge import Knowledge
from tests.adapters.fhir_in.conftest import CANON, errors, facts_of, run

SCT = "http://snomed.info/sct"


def _bundle(status: str, body: dict[str, Any], site_text: str | None = None) -> list[Entry]:
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-03-02",
        "focus": [{"reference": "BodyStructure/b1"}],
        "code": {"coding": [{"system": f"{CANON}/CodeSystem/observation-type", "code": "lesion-assessment"}]},
        "valueCodeableConcept": {"coding": [{"system": f"{CANON}/CodeSystem/lesion-status", "code": status}]},
    }
    if site_text is not None:
        observation["bodySite"] = {"text": site_text}
    body = {"resourceType": "BodyStructure", "id": "b1", "patient": {"reference": "Patient/p1"}, **body}
    resources = [{"resourceType": "Patient", "id": "p1"}, body, observation]
    return [Entry(i, f"urn:test:{r['resourceType']}/{r['id']}", r) for i, r in enumerate(resources)]


def _lesion(
    knowledge: Knowledge, items: list[Entry], version: FhirVersion = FhirVersion.R4
) -> LesionObservation:
    result = run(knowledge, items, version)
    assert errors(result) == []
    (lesion,) = facts_of(result, LesionObservation)
    return lesion


def test_I9_further_increase_status_is_read(knowledge: Knowledge) -> None:
    """I9: the new lesion-status code ``further-increase`` is accepted inbound."""
    lesion = _lesion(knowledge, _bundle("further-increase", {}))
    assert lesion.status is LesionStatus.FURTHER_INCREASE


def test_P5_site_text_is_read_from_body_site_location_morphology_and_description(
    knowledge: Knowledge,
) -> None:
    """P5-P7: the words of bodySite, location and morphology, and the description, are kept in order."""
    body = {
        "location": {"coding": [{"system": SCT, "code": "1231004"}], "text": "Meninges"},
        "morphology": {"text": "leptomeningeal enhancement"},
        "description": "seen on MR",
    }
    lesion = _lesion(knowledge, _bundle("present", body, "brain"))
    assert lesion.site_text == "brain ; Meninges ; leptomeningeal enhancement ; seen on MR"
    assert {(s.system, s.code) for s in lesion.sites} == {(SCT, "1231004")}


def test_P5_r5_included_structure_text_is_read(knowledge: Knowledge) -> None:
    """P5: in R5 the words come from includedStructure.structure; blank texts are left out."""
    body = {"includedStructure": [{"structure": {"text": "Malignant pleural effusion"}}], "description": " "}
    lesion = _lesion(knowledge, _bundle("present", body), FhirVersion.R5)
    assert lesion.site_text == "Malignant pleural effusion"


def test_P5_no_site_words_is_none(knowledge: Knowledge) -> None:
    """P5: a lesion sent without any site text has none."""
    assert _lesion(knowledge, _bundle("present", {})).site_text is None
