"""The inputs a result names: each source once, in the order the assessment gives them, however often the
assessment repeats one (the Provenance's entities and the Observations' ``derivedFrom``)."""

from __future__ import annotations

from typing import Any

from tests.adapters.fhir_out.assessment_factory import build, progression, resources

EVIDENCE = (
    "Observation/a",
    "Condition/c",
    "Observation/b",
    "Observation/a",
    "MedicationRequest/m",
    "Observation",  # a bare type that derivedFrom allows
    "Observation/b",
    "Condition/c",
    "ObservationX/z",  # not an Observation: never in derivedFrom
)


def _named(references: list[dict[str, Any]]) -> list[str]:
    return [r["reference"] for r in references]


def _observation(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    return next(o for o in resources(bundle, "Observation") if o["code"]["coding"][0]["code"] == code)


def test_provenance_names_each_input_once_in_order() -> None:
    """Every input of the assessment is an entity once, first occurrence first."""
    (provenance,) = resources(build(progression(evidence=EVIDENCE)), "Provenance")
    sources = [e["what"]["reference"] for e in provenance["entity"] if e["role"] == "source"]
    assert sources == list(dict.fromkeys(EVIDENCE))


def test_derived_from_names_each_allowed_input_once_in_order() -> None:
    """The disease status and the progression assessment name the allowed inputs once each, in order (the
    progression assessment after the time-point response it rests on)."""
    bundle = build(progression(evidence=EVIDENCE))
    allowed = ["Observation/a", "Observation/b", "Observation"]
    status = _observation(bundle, "97509-4")
    assert _named(status["derivedFrom"]) == allowed
    assessed = _observation(bundle, "progression-assessment")
    timepoint = _observation(bundle, "timepoint-response")
    assert _named(assessed["derivedFrom"]) == [f"Observation/{timepoint['id']}", *allowed]
