"""The searches that fetch a patient's earlier history from the EHR's FHIR server (issue 7): the
Observations the service reads, by patient and code, and the imaging studies, medications and conditions
by patient. Every code comes from ``mappings/`` (loinc.yaml, observation-codes.yaml)."""

from __future__ import annotations

from service.knowledge import Knowledge
from service.knowledge.vocabularies import absolute_url

Search = tuple[str, dict[str, str]]
# Resource types read by patient alone: no code narrows them usefully.
_BY_PATIENT = ("ImagingStudy", "MedicationRequest", "MedicationStatement", "Condition")


def history_searches(knowledge: Knowledge, canonical_base: str) -> list[Search]:
    """(type, params) pairs; the caller adds ``patient``."""
    loinc = [f"{knowledge.loinc.system}|{c.code}" for c in knowledge.loinc.codes]
    local = [
        f"{absolute_url(c.system, canonical_base)}|{c.code}"
        for c in knowledge.observation_codes.observation_codes
    ]
    return [("Observation", {"code": ",".join(loinc + local)}), *((t, {}) for t in _BY_PATIENT)]
