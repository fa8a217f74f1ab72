"""The marker and performance-status fast path (plain_labs.py, issue 19) and the checked reading (labs.py)
agree: every single edge change and seeded random mutations of CEA, NSE, ProGRP, ECOG and Karnofsky
Observations give the same facts and issues, in the same order, with the fast path as without it (see
test_plain_lesions.py)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from functools import partial
from typing import Any

from service.adapters.fhir_in.normalise import Normalised
from service.adapters.fhir_in.versions import FhirVersion
from service.knowledge import Knowledge
from tests.adapters.fhir_in.fast_path_agreement import agree_on_every_edge_change, agree_on_mutations, both
from tests.adapters.fhir_in.test_plain_lesions import _mutate

LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
FAST_PATHS = ("read_plain_marker", "read_plain_performance")


def _lab(ident: str, code: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": ident,
        "status": "final",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": "2026-01-05T08:00:00Z",
    } | value


def _quantity(value: Any, code: str) -> dict[str, Any]:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def _resources() -> list[dict[str, Any]]:
    """CEA with a lab's upper limit (after a range without one) and without, NSE and ProGRP, ECOG as an
    integer and as an answer code, Karnofsky."""
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "birthDate": "1850-01-01",
        "deceasedDateTime": "2999-01-01",
    }
    ranges = [{"low": _quantity(0, "ng/mL")}, {"high": _quantity(5, "ug/L")}]
    return [
        patient | {"extension": [{"valueString": "LA9623-5"}, {"valueString": "ng/L"}]},
        _lab("cea1", "2039-6", valueQuantity=_quantity(3.5, "ng/mL"), referenceRange=ranges),
        _lab("cea2", "2039-6", valueQuantity=_quantity(12, "ug/L"), effectiveDateTime="2026-02-01"),
        _lab("nse", "15060-7", valueQuantity=_quantity(17.5, "ng/mL")),
        _lab("progrp", "96461-9", valueQuantity=_quantity(80, "pg/mL")),
        _lab("ecog1", "89247-1", valueInteger=1),
        _lab("ecog2", "89247-1", valueCodeableConcept={"coding": [{"system": LOINC, "code": "LA9622-7"}]}),
        _lab("kps", "89243-0", valueInteger=70),
    ]


def _both(
    knowledge: Knowledge, resources: list[dict[str, Any]], taken: Counter[bool]
) -> tuple[Normalised, Normalised]:
    return both(knowledge, resources, FhirVersion.R4, taken, FAST_PATHS)


def test_every_single_edge_change_agrees(knowledge: Knowledge) -> None:
    taken = agree_on_every_edge_change(_resources, partial(_both, knowledge))
    assert taken[True] > 5000 and taken[False] > 500


def test_fast_path_and_checked_reading_agree_on_mutated_resources(knowledge: Knowledge) -> None:
    taken = agree_on_mutations(_resources, _mutate, partial(_both, knowledge), seed=19, cases=1500)
    assert taken[True] > 5000 and taken[False] > 500


def test_unmutated_labs_are_read_by_the_fast_path(knowledge: Knowledge) -> None:
    taken: Counter[bool] = Counter()
    fast, checked = _both(knowledge, _resources(), taken)
    assert taken == Counter({True: 7}) and fast.issues == [] == checked.issues
    assert fast.facts == checked.facts
    facts = {f.source: f for f in fast.facts}
    assert (
        facts["Observation/cea1"].upper_limit == Decimal(5) and facts["Observation/cea2"].upper_limit is None
    )
    assert (facts["Observation/ecog2"].score, facts["Observation/kps"].scale) == (0, "karnofsky")
