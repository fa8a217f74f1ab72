"""The therapy fast path (plain_therapy.py, issue 19) and the checked reading (therapy.py) agree: every single
edge change and seeded random mutations of MedicationRequests, MedicationStatements and
MedicationAdministrations (R4 and R5 shapes; drugs by code, name and ATC group; dosage bounds, effective and
occurrence periods, group identifiers) give the same facts and issues, in the same order, with the fast path
as without it."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest

from service.adapters.fhir_in import normalise
from service.adapters.fhir_in.normalise import Normalised
from service.adapters.fhir_in.references import Entry
from service.adapters.fhir_in.versions import FhirVersion
from service.knowledge import Knowledge
from tests.adapters.fhir_in.conftest import run
from tests.adapters.fhir_in.fast_path_agreement import agree_on_every_edge_change, agree_on_mutations
from tests.adapters.fhir_in.test_plain_lesions import _mutate

RXNORM, ATC = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://www.whocc.no/atc"
VERSIONS = [FhirVersion.R4, FhirVersion.R5]


def _drug(version: FhirVersion, system: str, code: str, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": "urn:x"}, {"system": system, "code": code}]}
    concept |= {"text": text} if text else {}
    if version is FhirVersion.R5:
        return {"medication": {"concept": concept}}
    return {"medicationCodeableConcept": concept}


def _bounds(start: str, end: str | None = None) -> dict[str, Any]:
    return {"timing": {"repeat": {"boundsPeriod": {"start": start} | ({"end": end} if end else {})}}}


def _resources(version: FhirVersion) -> list[dict[str, Any]]:
    """An order by code with dosage bounds, groups and a future end; an order by name; statements by period
    and by date (a period's start then unread); an administration by ATC group (R5: its occurrence); an
    order of a referenced Medication."""
    subject = {"subject": {"reference": "Patient/p"}}
    when = "occurrence" if version is FhirVersion.R5 else "effective"
    return [
        {"resourceType": "Patient", "id": "p", "birthDate": "1850-01-01"},
        {"resourceType": "MedicationRequest", "id": "rq1", "status": "active", "intent": "order"}
        | subject
        | _drug(version, RXNORM, "328134", "gefitinib")
        | {
            "authoredOn": "2026-01-02",
            "dosageInstruction": [
                {"text": "daily"},
                _bounds("2026-01-05", "2999-01-01"),
                _bounds("2025-12-30"),
            ],
            "groupIdentifier": {"system": "urn:g", "value": "1"},
            "basedOn": [{"reference": "CarePlan/c"}, {"display": "x"}],
        },
        {"resourceType": "MedicationRequest", "id": "rq2", "intent": "plan"}
        | subject
        | _drug(version, "urn:local", "12", " Tagrisso "),
        {"resourceType": "MedicationStatement", "id": "st1", "status": "completed"}
        | subject
        | _drug(version, RXNORM, "1721560")
        | {"effectivePeriod": {"start": "2025-06-01T10:00:00+02:00", "end": "2025-12-01"}},
        {"resourceType": "MedicationStatement", "id": "st2"}
        | subject
        | _drug(version, ATC, "L01ED01")
        | {"effectiveDateTime": "2025-07-01"}
        | {"effectivePeriod": {"start": "2025-06-15", "end": "2025-08-01"}},
        {"resourceType": "MedicationAdministration", "id": "ad1", "status": "completed", "intent": "order"}
        | subject
        | _drug(version, ATC, "L01FF99", "an unlisted checkpoint inhibitor")
        | {f"{when}DateTime": "2026-01-03T10:00:00Z"},
        {"resourceType": "Medication", "id": "m", "code": {"coding": [{"system": RXNORM, "code": "328134"}]}},
        {"resourceType": "MedicationRequest", "id": "rq3", "intent": "order"}
        | subject
        | (
            {"medication": {"reference": {"reference": "Medication/m"}}}
            if version is FhirVersion.R5
            else {"medicationReference": {"reference": "Medication/m"}}
        ),
    ]


def _both(
    knowledge: Knowledge, resources: list[dict[str, Any]], version: FhirVersion, taken: Counter[bool]
) -> tuple[Normalised, Normalised]:
    """Normalised with the fast path (counting in ``taken`` whether it read each resource), and without."""
    plain = normalise.read_plain_therapy

    def counted(*args: Any) -> Any:
        found = plain(*args)
        taken[found is not None] += 1
        return found

    def normalised() -> Normalised:
        return run(knowledge, [Entry(i, None, r) for i, r in enumerate(copy.deepcopy(resources))], version)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(normalise, "read_plain_therapy", counted)
        fast = normalised()
        patch.setattr(normalise, "read_plain_therapy", lambda *_: None)
        return fast, normalised()


@pytest.mark.parametrize("version", VERSIONS)
def test_every_single_edge_change_agrees(knowledge: Knowledge, version: FhirVersion) -> None:
    taken = agree_on_every_edge_change(
        lambda: _resources(version), lambda resources, taken: _both(knowledge, resources, version, taken)
    )
    assert taken[True] > 3000 and taken[False] > 1000


@pytest.mark.parametrize("version", VERSIONS)
def test_fast_path_and_checked_reading_agree_on_mutated_resources(
    knowledge: Knowledge, version: FhirVersion
) -> None:
    taken = agree_on_mutations(
        lambda: _resources(version),
        _mutate,
        lambda resources, taken: _both(knowledge, resources, version, taken),
        seed=19,
        cases=1000,
    )
    assert taken[True] > 3000 and taken[False] > 1000


@pytest.mark.parametrize("version", VERSIONS)
def test_unmutated_therapies_are_read_by_the_fast_path(knowledge: Knowledge, version: FhirVersion) -> None:
    """All but the order of a referenced Medication, which the checked reading reads."""
    taken: Counter[bool] = Counter()
    fast, checked = _both(knowledge, _resources(version), version, taken)
    assert taken == Counter({True: 5, False: 1}) and fast.issues == [] == checked.issues
    assert fast.facts == checked.facts and len(fast.facts) == 6
    facts = {f.source: f for f in fast.facts}
    first = facts["MedicationRequest/rq1"]
    assert (first.drug, str(first.started_on), str(first.ended_on)) == (
        "gefitinib",
        "2025-12-30",
        "2999-01-01",
    )
    assert first.groups == ("urn:g|1", "CarePlan/c") and facts["MedicationRequest/rq2"].drug == "osimertinib"
    assert facts["MedicationAdministration/ad1"].drug_class == "immune-checkpoint-inhibitor"
    assert str(facts["MedicationStatement/st2"].started_on) == "2025-07-01"
