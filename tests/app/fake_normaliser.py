"""A hand-written fake of the FHIR normaliser, so the ingest use case is tested without the vocabularies.

It reads Observations only: a ``valueQuantity`` in ``mm`` becomes one fact (a real fact type); any other
unit is an error on that entry; a ``code.text`` of ``unknown`` gives a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from service.adapters.fhir_in.bundles import PlannedEntry, patient_reference
from service.adapters.fhir_in.versions import FhirVersion
from service.app.ingest import NormalisedFacts
from service.domain.facts import Fact, MarkerResult
from service.errors import Issue

_DAY = date(2026, 1, 5)


def fake_normaliser(entries: Sequence[PlannedEntry], _version: FhirVersion) -> NormalisedFacts:
    by_source: dict[str, list[Fact]] = {}
    issues: list[Issue] = []
    for entry in entries:
        resource, patient = entry.resource, patient_reference(entry.resource)
        if resource["resourceType"] != "Observation" or patient is None:
            continue
        quantity = resource.get("valueQuantity", {})
        where = f"Bundle.entry[{entry.index}].resource"
        if quantity.get("unit") != "mm":
            issues.append(Issue("unit must be mm", "value", "error", f"{where}.valueQuantity.unit"))
            continue
        if resource.get("code", {}).get("text") == "unknown":
            issues.append(
                Issue("code not recognised; kept, not used", "code-invalid", "warning", f"{where}.code")
            )
        fact = MarkerResult(
            patient, entry.reference, "fake", Decimal(str(quantity["value"])), "mm", None, _DAY, None
        )
        by_source[entry.reference] = [fact]
    return NormalisedFacts(by_source, issues)
