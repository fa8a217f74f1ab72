"""The lesion fast path (plain_lesions.py, issue 19) and the checked reading (lesions.py) agree: on seeded
random mutations of lesion Observations, their BodyStructures and ImagingStudies (wrong JSON types, missing
and extra elements, unknown units, roles and statuses, bad dates, other references), normalising with the
fast path gives the same facts and the same issues, in the same order, as normalising without it. The fast
path must also be taken: most of the unmutated resources are read by it, and none that reports anything."""

from __future__ import annotations

import copy
import random
from collections import Counter
from typing import Any

import pytest

from service.adapters.fhir_in.normalise import Normalised
from service.adapters.fhir_in.versions import FhirVersion
from service.knowledge import Knowledge
from tests.adapters.fhir_in.conftest import CANON
from tests.adapters.fhir_in.fast_path_agreement import agree_on_every_edge_change, agree_on_mutations, both

LOINC, SCT, UCUM = "http://loinc.org", "http://snomed.info/sct", "http://unitsofmeasure.org"
ROLE = f"{CANON}/StructureDefinition/lesion-role"
STATUS = f"{CANON}/CodeSystem/lesion-status"
TYPE = f"{CANON}/CodeSystem/observation-type"


def _coded(system: str, code: str, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": system, "code": code, "display": code.upper()}]}
    return concept | ({"text": text} if text else {})


def _size(code: str, value: Any, unit: str = "mm") -> dict[str, Any]:
    return {"code": _coded(LOINC, code), "valueQuantity": {"value": value, "system": UCUM, "code": unit}}


def _resources() -> list[dict[str, Any]]:
    """Every shape the lesion reading knows: the three concepts, a BodyStructure (R4 location, R5
    includedStructure, contained), focus and typed identifiers, an ImagingStudy with a scanner, a report
    grouping, a lymph node with two dimensions, a reader and a device."""
    patient = {"reference": "Patient/p"}
    body = {
        "resourceType": "BodyStructure",
        "id": "b1",
        "identifier": [{"system": "urn:l", "value": ""}, {"system": "urn:l", "value": "L1"}],
        "location": _coded(SCT, "39607008", "right lung"),
        "includedStructure": [{"structure": _coded(SCT, "59441001", "node")}],
        "morphology": _coded(SCT, "4147007", "mass"),
        "description": " upper lobe ",
        "extension": [{"url": ROLE, "valueCode": "non-target"}],
    }
    study = {
        "resourceType": "ImagingStudy",
        "id": "s1",
        "modality": [{"system": "DCM", "code": "CT"}],
        "series": [{"modality": {"system": "DCM", "code": "MR"}}],
        "extension": [{"url": "urn:scanner", "valueReference": {"reference": "Device/d1"}}],
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": "r1",
        "category": [_coded("http://terminology.hl7.org/CodeSystem/v2-0074", "RAD")],
        "result": [{"reference": "Observation/o3"}],
    }
    common = {"resourceType": "Observation", "status": "final", "subject": patient}
    observations_ = [
        common
        | {
            "id": "o1",
            "code": _coded(LOINC, "21889-1"),
            "effectiveDateTime": "2026-01-05T09:30:00Z",
            "focus": [{"reference": "BodyStructure/b1"}],
            "derivedFrom": [{"reference": "ImagingStudy/s1"}],
            "bodySite": _coded(SCT, "39607008", "lung"),
            "extension": [{"url": "urn:other"}, {"url": ROLE, "valueCode": "target"}],
            "component": [_size("33728-7", 2.5, "cm"), _size("33729-5", 12)],
            "performer": [{"reference": "Practitioner/x"}],
        },
        common
        | {
            "id": "o2",
            "code": _coded(LOINC, "33728-7"),
            "effectiveDateTime": "2026-01-05",
            "focus": [{"reference": "#c1", "identifier": {"system": "urn:f", "value": "F1"}}],
            "contained": [{"resourceType": "BodyStructure", "id": "c1", "location": _coded(SCT, "59441001")}],
            "partOf": [{"reference": "Procedure/x"}, {"reference": "ImagingStudy/s1"}],
            "valueQuantity": {"value": 0, "system": UCUM, "code": "mm"},
            "device": {"reference": "Device/d2"},
        },
        common
        | {
            "id": "o3",
            "code": _coded(TYPE, "lesion-assessment"),
            "effectiveDateTime": "2026-01-06T10:00:00+02:00",
            "identifier": [
                {"type": _coded(f"{CANON}/CodeSystem/identifier-type", "lesion-id"), "value": "T3"}
            ],
            "valueCodeableConcept": {
                "coding": [
                    {"system": "urn:x", "code": "y"},
                    {"system": STATUS, "code": "unequivocal-progression"},
                ]
            },
            "component": [_size("33728-7", 7)],
        },
        common
        | {
            "id": "o4",
            "code": _coded(LOINC, "21889-1"),
            "effectiveDateTime": "2026-01-07",
            "focus": [{"reference": "BodyStructure/b1"}],
            "bodySite": _coded(SCT, "59441001"),
            "component": [_size("33728-7", 15), _size("33729-5", 9), {"code": _coded(TYPE, "short-axis")}],
        },
    ]
    # dates no lesion may have, for the mutations to swap in (a Patient's elements are not read here)
    patient_ = {
        "resourceType": "Patient",
        "id": "p",
        "birthDate": "1850-01-01",
        "deceasedDateTime": "2999-01-01",
    }
    return [patient_, body, study, report, *observations_]


MENU: list[Any] = [
    None, 0, -1, 2.5, True, "", "x", "mm", "cm", "[in_i]", UCUM, "2026-02-30", "1850-01-01", "2026-01",
    "2999-01-01", "target", "bogus", ROLE, STATUS, [], [1], {}, {"reference": "Patient/p"}, "#c1",
    {"reference": "BodyStructure/b1"}, "ImagingStudy/s1", "Patient/q", [{"reference": "ImagingStudy/none"}],
    {"start": "2026-01-05"}, {"coding": [{"system": STATUS, "code": "absent"}]},
]  # fmt: skip
NUMBERS: list[Any] = [-1, -0.5, -0.0, 0, 0.0, 1e-7, 10**30, 3.25, True, False, "5"]
EXTRA_KEYS = ["effectivePeriod", "valueQuantity", "focus", "partOf", "identifier", "device", "bodySite"]


def _places(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) inside a resource."""
    found: list[tuple[Any, Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, item in items:
        found.append((value, key))
        found.extend(_places(item))
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def _mutate(resources: list[dict[str, Any]], rng: random.Random) -> None:
    """One change at a random place of a random resource: a value swapped for another string of the set
    (a code, unit, system, reference or date that is valid elsewhere), a number for an edge number, or for
    anything from MENU; an element dropped, added or its first item repeated."""
    target = rng.choice([r for r in resources if r["resourceType"] != "Patient"])
    container, key = rng.choice([p for p in _places(target) if p[1] != "resourceType"])
    value, roll = container[key], rng.random()
    if roll < 0.15 and isinstance(container, dict):
        del container[key]
    elif roll < 0.25 and isinstance(container, dict):
        container[rng.choice(EXTRA_KEYS)] = copy.deepcopy(rng.choice(MENU))
    elif roll < 0.3 and isinstance(value, list) and value:
        value.append(copy.deepcopy(value[0]))
    elif roll < 0.6 and isinstance(value, str):
        container[key] = rng.choice(_strings(resources))
    elif roll < 0.75 and isinstance(value, int | float):
        container[key] = rng.choice(NUMBERS)
    else:
        container[key] = copy.deepcopy(rng.choice(MENU))


def _both(
    knowledge: Knowledge, resources: list[dict[str, Any]], version: FhirVersion, taken: Counter[bool]
) -> tuple[Normalised, Normalised]:
    """Normalised with the fast path (counting in ``taken`` whether it read each lesion), and without it."""
    return both(knowledge, resources, version, taken, ["read_plain_lesion"])


@pytest.mark.parametrize("version", [FhirVersion.R4, FhirVersion.R5])
def test_fast_path_and_checked_reading_agree_on_mutated_resources(
    knowledge: Knowledge, version: FhirVersion
) -> None:
    taken = agree_on_mutations(
        _resources,
        _mutate,
        lambda resources, taken: _both(knowledge, resources, version, taken),
        seed=19,
        cases=1500,
        mutations=(0, 1, 1, 2, 3),
    )
    assert taken[True] > 1000 and taken[False] > 200  # both readings were exercised


def test_every_single_edge_change_agrees(knowledge: Knowledge) -> None:
    """Each element of each resource read for a lesion, in turn, dropped or set to each edge value."""
    taken = agree_on_every_edge_change(
        _resources, lambda resources, taken: _both(knowledge, resources, FhirVersion.R4, taken)
    )
    assert taken[True] > 1000 and taken[False] > 1000


@pytest.mark.parametrize("version", [FhirVersion.R4, FhirVersion.R5])
def test_unmutated_shapes_are_read_by_the_fast_path(knowledge: Knowledge, version: FhirVersion) -> None:
    """Every lesion shape above is read by the fast path and gives what the checked reading gives."""
    taken: Counter[bool] = Counter()
    result, checked = _both(knowledge, _resources(), version, taken)
    assert taken == Counter({True: 4}) and result.issues == [] == checked.issues
    assert result.facts == checked.facts and len(result.facts) == 4
    facts = {f.source: f for f in result.facts}
    assert facts["Observation/o2"].nodal is (version is FhirVersion.R4)
    assert facts["Observation/o1"].lesion_id == "urn:l|L1" and facts["Observation/o1"].scanner == "Device/d1"
    assert facts["Observation/o2"].lesion_id == "urn:f|F1" and facts["Observation/o2"].scanner == "Device/d2"
    assert facts["Observation/o3"].timepoint_key == "DiagnosticReport/r1"
    assert facts["Observation/o4"].short_axis_mm == 9 and facts["Observation/o4"].role == "non-target"


@pytest.mark.parametrize(
    ("key", "value"), [("category", [{"coding": [{"system": ["x"], "code": "RAD"}]}]), ("result", 2.5)]
)
def test_a_report_of_wrong_json_types_groups_nothing(knowledge: Knowledge, key: str, value: Any) -> None:
    """A list sent as a category's system is no radiology category, a number sent as ``result`` lists no
    Observation (both were a TypeError, found by the test above): the lesion keeps its calendar date."""
    resources = _resources()
    resources[3][key] = value
    fast, checked = _both(knowledge, resources, FhirVersion.R4, Counter())
    facts = {f.source: f for f in fast.facts}
    assert facts["Observation/o3"].timepoint_key == "date:2026-01-06" and fast.issues == []
    assert fast.facts == checked.facts


def test_what_is_worked_out_once_is_told_apart(knowledge: Knowledge) -> None:
    """The sites and words of a lesion, and a size in mm, are worked out once per call by what they depend
    on: the same codes with other words, or the same value and code in another system, are worked out anew."""
    resources = _resources()
    again = copy.deepcopy(resources[-1]) | {"id": "o5", "bodySite": _coded(SCT, "59441001", "left")}
    again["component"][0]["valueQuantity"]["system"] = "urn:no-ucum"
    later = copy.deepcopy(resources[-1]) | {"id": "o6", "bodySite": _coded(SCT, "59441001", "right")}
    taken: Counter[bool] = Counter()
    fast, checked = _both(knowledge, [*resources, again, later], FhirVersion.R4, taken)
    assert taken == Counter({True: 5, False: 1}) and len(fast.issues) == 1
    assert (fast.facts, fast.issues) == (checked.facts, checked.issues)
    assert {f.source: f.site_text for f in fast.facts}[
        "Observation/o6"
    ] == "right ; right lung ; mass ; upper lobe"


def test_a_contained_body_structure_is_read_for_its_own_resource(knowledge: Knowledge) -> None:
    """Two lesions may name the same ``#id``, each of its own contained BodyStructure: what one tells is not
    what the other tells, though what a BodyStructure named by ``Type/id`` tells is worked out once."""
    resources = _resources()
    again = copy.deepcopy(resources[5]) | {"id": "o5"}
    again["contained"][0]["location"] = _coded(SCT, "39607008", "lung")
    taken: Counter[bool] = Counter()
    fast, checked = _both(knowledge, [*resources, again], FhirVersion.R4, taken)
    assert taken == Counter({True: 5}) and (fast.facts, fast.issues) == (checked.facts, checked.issues)
    sites = {f.source: [s.code for s in f.sites] for f in fast.facts}
    assert (sites["Observation/o2"], sites["Observation/o5"]) == (["59441001"], ["39607008"])
