"""Unusable input is an error issue with a FHIRPath; unknown codes are warnings; nothing is guessed."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from service.adapters.fhir_in.references import Entry
from service.domain.facts import LesionObservation, VariantFact
from service.knowledge import Knowledge
from tests.adapters.fhir_in.conftest import EXAMPLES, MCODE_DIR, facts_of, load, run

SIZE = load(MCODE_DIR / "Observation-tumor-size-pathology.json")
VARIANT = load(EXAMPLES / "seed-t790m-progression.json")["entry"][33]["resource"]
LD = "component[0].valueQuantity"


def _size(**changes: Any) -> dict[str, Any]:
    resource = copy.deepcopy(SIZE)
    quantity = resource["component"][0]["valueQuantity"]
    for key, value in changes.items():
        if value is None:
            quantity.pop(key, None)
        else:
            quantity[key] = value
    return resource


def _issues(knowledge: Knowledge, resource: dict[str, Any]) -> list[tuple[str, str | None]]:
    result = run(knowledge, [Entry(3, None, resource)])
    return [(i.severity, i.expression) for i in result.issues]


@pytest.mark.parametrize(
    ("resource", "expression"),
    [
        (_size(code=None, system=None, unit=None), f"Bundle.entry[3].resource.{LD}.unit"),
        (_size(code="[in_i]", unit="inch"), f"Bundle.entry[3].resource.{LD}.unit"),
        (_size(system="http://example.org/units"), f"Bundle.entry[3].resource.{LD}.unit"),
        (_size(value="12"), f"Bundle.entry[3].resource.{LD}.value"),
        (_size(value=-1), f"Bundle.entry[3].resource.{LD}.value"),
        ({**SIZE, "effectiveDateTime": "2999-01-01"}, "Bundle.entry[3].resource.effectiveDateTime"),
        ({**SIZE, "effectiveDateTime": "1899-12-31"}, "Bundle.entry[3].resource.effectiveDateTime"),
        ({**SIZE, "effectiveDateTime": "2019-13-40"}, "Bundle.entry[3].resource.effectiveDateTime"),
        ({**SIZE, "component": {"code": {}}}, "Bundle.entry[3].resource.component"),
        ({**SIZE, "focus": "BodyStructure/x"}, "Bundle.entry[3].resource.focus"),
    ],
    ids=[
        "no-unit",
        "unknown-unit",
        "non-ucum-system",
        "value-as-string",
        "negative",
        "future",
        "before-1900",
        "not-a-date",
        "component-not-array",
        "focus-not-array",
    ],
)
def test_unusable_lesion_size_is_an_error(
    knowledge: Knowledge, resource: dict[str, Any], expression: str
) -> None:
    """A lesion size without a usable unit, value or date, or with a wrong JSON type, is an error there."""
    assert ("error", expression) in _issues(knowledge, resource)


def test_unusable_size_gives_no_fact(knowledge: Knowledge) -> None:
    """An erroneous size is not turned into a fact."""
    result = run(knowledge, [Entry(0, None, _size(code="[in_i]"))])
    assert facts_of(result, LesionObservation) == []


def test_centimetres_convert_exactly(knowledge: Knowledge) -> None:
    """1.2 cm is exactly 12 mm and 0.5 cm exactly 5 mm (Decimal, no float rounding)."""
    (lesion,) = facts_of(run(knowledge, [Entry(0, None, _size(value=1.2))]), LesionObservation)
    assert str(lesion.longest_diameter_mm) == "12.0" and lesion.longest_diameter_mm == Decimal(12)


def test_zero_millimetres_means_absent(knowledge: Knowledge) -> None:
    """A measurement of 0 mm is an absent lesion (contract section 3, "lesion status")."""
    (lesion,) = facts_of(run(knowledge, [Entry(0, None, _size(value=0))]), LesionObservation)
    assert lesion.status.value == "absent"


def _vaf(value: float, code: str | None) -> dict[str, Any]:
    resource = copy.deepcopy(VARIANT)
    quantity = {"value": value, "system": "http://unitsofmeasure.org"} | ({"code": code} if code else {})
    resource["component"][2]["valueQuantity"] = quantity
    return resource


@pytest.mark.parametrize(
    ("value", "code", "fraction"),
    [(3, "%", "0.03"), (0.03, "1", "0.03"), (0.066, None, "0.066"), (57.4, "%", "0.574")],
)
def test_vaf_is_a_fraction(knowledge: Knowledge, value: float, code: str | None, fraction: str) -> None:
    """VAF in % or as a fraction (UCUM "1", or no code) is stored as a fraction 0-1."""
    (variant,) = facts_of(run(knowledge, [Entry(0, None, _vaf(value, code))]), VariantFact)
    assert variant.allele_fraction == Decimal(fraction)


@pytest.mark.parametrize(("value", "code"), [(3, None), (3, "1"), (150, "%"), (0.3, "mg")])
def test_vaf_that_is_not_a_fraction_is_an_error(knowledge: Knowledge, value: float, code: str | None) -> None:
    """A VAF outside 0-1 without a % unit, or in another unit, is not guessed."""
    issues = _issues(knowledge, _vaf(value, code))
    assert any(
        severity == "error" and "component[2].valueQuantity" in (path or "") for severity, path in issues
    )


def test_unknown_loinc_is_kept_as_a_warning(knowledge: Knowledge) -> None:
    """An Observation coded with an unknown LOINC gives a warning on its code and no fact."""
    resource = {**SIZE, "code": {"coding": [{"system": "http://loinc.org", "code": "99999-9"}]}}
    result = run(knowledge, [Entry(5, None, resource)])
    assert result.facts == []
    assert [(i.severity, i.expression, i.diagnostics) for i in result.issues] == [
        ("warning", "Bundle.entry[5].resource.code", "Observation.code not recognised; kept, not used")
    ]


def test_resources_not_read_give_nothing(knowledge: Knowledge) -> None:
    """A Patient or an Encounter yields no facts and no issues."""
    items = [
        Entry(0, None, {"resourceType": "Patient", "id": "p"}),
        Entry(1, None, {"resourceType": "Encounter"}),
    ]
    result = run(knowledge, items)
    assert (result.facts, result.issues) == ([], [])
