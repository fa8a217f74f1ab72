r"""A FHIR id is 1-64 letters, digits, '-' or '.' and nothing after (datatypes.html#id). Python's ``$`` also
matches before a final newline, so every id pattern ends with ``\Z``
and an id ending in a newline is refused."""

from __future__ import annotations

from typing import Any

import pytest

from service.adapters.fhir_in.bundle_rules import FHIR_ID
from service.adapters.fhir_in.bundles import plan_bundle
from service.adapters.fhir_in.references import _TYPE_ID
from service.adapters.fhir_in.subscriptions import _PATIENT


def _bundle(kind: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [entry]}


@pytest.mark.parametrize("ident", ["p1\n", "p1\r\n", "\np1", "p 1", "", "x" * 65])
def test_an_id_with_anything_after_it_is_no_fhir_id(ident: str) -> None:
    assert FHIR_ID.match(ident) is None
    assert _PATIENT.match(f"Patient/{ident}") is None
    assert (
        _TYPE_ID.search(f"Patient/{ident}") is None or ident == "\np1"
    )  # '\np1' holds 'Patient/' nowhere after


@pytest.mark.parametrize("ident", ["p1", "a-b.c", "x" * 64])
def test_fhir_ids_pass(ident: str) -> None:
    assert FHIR_ID.match(ident) and _PATIENT.match(f"Patient/{ident}") and _TYPE_ID.search(f"Patient/{ident}")


def test_a_kept_id_ending_in_a_newline_is_refused() -> None:
    planned, problems = plan_bundle(
        _bundle("batch", {"resource": {"resourceType": "Patient", "id": "p1\n"}}), False
    )
    assert not planned and problems[0].issue.expression == "Bundle.entry[0].resource.id"


def test_a_put_url_ending_in_a_newline_is_refused() -> None:
    entry = {
        "resource": {"resourceType": "Patient", "id": "p1\n"},
        "request": {"method": "PUT", "url": "Patient/p1\n"},
    }
    planned, problems = plan_bundle(_bundle("transaction", entry), True)
    assert not planned and problems[0].issue.expression == "Bundle.entry[0].request.url"
