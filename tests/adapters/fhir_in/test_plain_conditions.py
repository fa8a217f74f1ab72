"""The Condition fast path (plain_conditions.py, issue 19) and the checked reading (conditions.py) agree:
every single edge change and seeded random mutations of Conditions (histology from Condition.code or the
mCODE morphology extension, small-cell codes, clinical status, onset dates) give the same facts and issues,
in the same order, with the fast path as without it."""

from __future__ import annotations

import copy
from collections import Counter
from functools import partial
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

SCT, ICDO = "http://snomed.info/sct", "http://terminology.hl7.org/CodeSystem/icd-o-3"
MORPHOLOGY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"
STATUS = "http://terminology.hl7.org/CodeSystem/condition-clinical"


def _coded(*codings: tuple[str, str]) -> dict[str, Any]:
    return {"coding": [{"system": s, "code": c, "display": c.upper()} for s, c in codings], "text": "x"}


def _resources() -> list[dict[str, Any]]:
    """NSCLC by its code (after an unknown coding) with a status and an onset time; an adenocarcinoma code
    whose morphology extension (after another extension) says small cell; a small-cell ICD-O-3 code; an
    onset without a day."""
    subject = {"subject": {"reference": "Patient/p"}}
    return [
        {"resourceType": "Patient", "id": "p", "birthDate": "1850-01-01"},
        {"resourceType": "Condition", "id": "c1"}
        | subject
        | {
            "code": _coded(("urn:x", "1"), (SCT, "254637007")),
            "clinicalStatus": _coded(("urn:x", ""), (STATUS, "active")),
            "onsetDateTime": "2025-11-06T10:00:00+01:00",
        },
        {"resourceType": "Condition", "id": "c2"}
        | subject
        | {
            "code": _coded((SCT, "35917007")),
            "extension": [
                {"url": "urn:other", "valueString": "y"},
                {"url": MORPHOLOGY, "valueCodeableConcept": _coded((SCT, "254632001"))},
            ],
            "onsetDateTime": "2024-02-10",
        },
        {"resourceType": "Condition", "id": "c3"} | subject | {"code": _coded((ICDO, "8041/3"))},
        {"resourceType": "Condition", "id": "c4", "onsetDateTime": "2024-02"}
        | subject
        | {"code": _coded((SCT, "424132000"))},
    ]


def _both(
    knowledge: Knowledge, resources: list[dict[str, Any]], taken: Counter[bool]
) -> tuple[Normalised, Normalised]:
    """Normalised with the fast path (counting in ``taken`` whether it read each resource), and without."""
    plain = normalise.read_plain_condition

    def counted(*args: Any) -> Any:
        found = plain(*args)
        taken[found is not None] += 1
        return found

    def normalised() -> Normalised:
        entries = [Entry(i, None, r) for i, r in enumerate(copy.deepcopy(resources))]
        return run(knowledge, entries, FhirVersion.R4)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(normalise, "read_plain_condition", counted)
        fast = normalised()
        patch.setattr(normalise, "read_plain_condition", lambda *_: None)
        return fast, normalised()


def test_every_single_edge_change_agrees(knowledge: Knowledge) -> None:
    taken = agree_on_every_edge_change(_resources, partial(_both, knowledge))
    assert taken[True] > 2000 and taken[False] > 1000


def test_fast_path_and_checked_reading_agree_on_mutated_resources(knowledge: Knowledge) -> None:
    taken = agree_on_mutations(_resources, _mutate, partial(_both, knowledge), seed=19, cases=1500)
    assert taken[True] > 2000 and taken[False] > 1000


def test_unmutated_conditions_are_read_by_the_fast_path(knowledge: Knowledge) -> None:
    """All but the one whose onset has no day, which the checked reading reads (a warning)."""
    taken: Counter[bool] = Counter()
    fast, checked = _both(knowledge, _resources(), taken)
    assert taken == Counter({True: 3, False: 1}) and fast.issues == checked.issues
    assert fast.facts == checked.facts and len(fast.facts) == 4 and len(fast.issues) == 1
    facts = {f.source: f for f in fast.facts}
    assert (facts["Condition/c1"].histology, facts["Condition/c1"].clinical_status) == ("nsclc", "active")
    assert facts["Condition/c2"].small_cell and facts["Condition/c3"].small_cell
    assert str(facts["Condition/c1"].onset_on) == "2025-11-06"
