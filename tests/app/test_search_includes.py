"""The pure parts of _include / _revinclude and _elements (issue 15): which values are supported for a type,
the references read out of a resource in every literal form, and what a subset keeps."""

from __future__ import annotations

import pytest

from service.app.search_elements import SUBSETTED, read_elements, subset
from service.app.search_includes import Include, read_include, referenced, type_and_id
from service.errors import BadRequest


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Observation/o1", "Observation/o1"),
        ("https://ehr.example/fhir/Observation/o1", "Observation/o1"),
        ("Observation/o1/_history/3", "Observation/o1"),
        ("https://ehr.example/fhir/Observation/o1/_history/3", "Observation/o1"),
        ("#contained", None),
        ("urn:uuid:1234", None),
        ("Observation?identifier=x|y", None),
        ("observation/o1", None),
        ("Observation/", None),
    ],
)
def test_type_and_id_of_every_literal_form(reference: str, expected: str | None) -> None:
    """Relative, absolute and versioned references name Type/id; contained, urn and conditional ones none."""
    assert type_and_id(reference) == expected


@pytest.mark.parametrize(
    ("searched", "value", "reverse", "supported"),
    [
        ("DiagnosticReport", "DiagnosticReport:result", False, True),
        ("DiagnosticReport", "DiagnosticReport:result:Observation", False, True),
        ("DiagnosticReport", "DiagnosticReport:result:Patient", False, False),
        ("Observation", "DiagnosticReport:result", False, False),
        ("Observation", "DiagnosticReport:result", True, True),
        ("Patient", "DiagnosticReport:result", True, False),
        ("Patient", "Provenance:target", True, True),
        ("Observation", "Provenance:target:Observation", True, True),
        ("Observation", "Provenance:target:Patient", True, False),
        ("Observation", "Observation", False, False),
        ("Observation", "Observation:subject:Patient:extra", False, False),
        ("Observation", "*", False, False),
    ],
)
def test_read_include(searched: str, value: str, reverse: bool, supported: bool) -> None:
    """A value is supported when the reference is listed and applies to the searched type."""
    assert isinstance(read_include(searched, value, reverse=reverse), Include) is supported


def test_referenced_follows_only_allowed_types() -> None:
    """result -> Observation only: a reference to another type in the element is not followed."""
    include = Include("DiagnosticReport", "result", None, False)
    report = {"result": [{"reference": "Observation/a"}, {"reference": "Patient/p"}, {"display": "x"}]}
    assert referenced(report, include) == ["Observation/a"]
    assert referenced({"result": {"reference": "Observation/b"}}, include) == ["Observation/b"]


def test_subset_keeps_named_mandatory_and_choice_elements() -> None:
    """_elements=value keeps valueQuantity, status and code stay (mandatory), the rest goes; SUBSETTED tag."""
    resource = {"resourceType": "Observation", "id": "o", "meta": {"tag": [{"code": "x"}]}, "status": "final",
                "statusReason": {}, "code": {}, "valueQuantity": {}, "_status": {}, "note": []}  # fmt: skip
    kept = subset(resource, ("value",))
    assert set(kept) == {"resourceType", "id", "meta", "status", "_status", "code", "valueQuantity"}
    assert kept["meta"]["tag"] == [{"code": "x"}, SUBSETTED]
    assert "tag" not in resource["meta"] or resource["meta"]["tag"] == [{"code": "x"}]


@pytest.mark.parametrize("value", ["", "a.b", "Code", "a,", "value[x]"])
def test_read_elements_refuses_what_is_not_an_element_name(value: str) -> None:
    """Only plain element names (``Type.name`` for the searched type) are accepted."""
    with pytest.raises(BadRequest):
        read_elements("Observation", value)
