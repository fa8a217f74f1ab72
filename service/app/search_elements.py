"""``_elements`` (https://hl7.org/fhir/R4/search.html#elements): the matches carry only the elements asked
for, plus ``id``, ``meta`` and the elements R4 makes mandatory (which a reader needs to make sense of the
rest), and are tagged ``SUBSETTED`` so no one stores them as the whole resource."""

from __future__ import annotations

import re
from typing import Any

from service.errors import BadRequest

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}

_ALWAYS = ("resourceType", "id", "meta", "implicitRules")
# Elements with cardinality 1..1 or 1..* in R4, for the types the service stores and produces.
_MANDATORY: dict[str, tuple[str, ...]] = {
    "Observation": ("status", "code"),
    "DiagnosticReport": ("status", "code"),
    "CarePlan": ("status", "intent", "subject"),
    "Condition": ("subject",),
    "Provenance": ("target", "recorded", "agent"),
    "ImagingStudy": ("status", "subject"),
    "MedicationRequest": ("status", "intent", "medication", "subject"),
    "MedicationStatement": ("status", "medication", "subject"),
    "MedicationAdministration": ("status", "medication", "subject", "effective"),
    "BodyStructure": ("patient",),
    "MolecularSequence": ("coordinateSystem",),
    "Specimen": (),
}
# The type suffixes of choice elements (``value[x]``): ``_elements=value`` keeps ``valueQuantity``.
_CHOICE_TYPES = frozenset(
    {"Boolean", "Integer", "Decimal", "String", "Code", "Uri", "Url", "Canonical", "Date", "DateTime",
     "Instant", "Time", "Period", "Quantity", "Range", "Ratio", "SampledData", "CodeableConcept", "Coding",
     "Reference", "Attachment", "Timing", "Identifier", "Age", "Duration", "Annotation"}
)  # fmt: skip
_NAME = re.compile(r"[a-z][A-Za-z0-9]*")


def read_elements(resource_type: str, value: str) -> tuple[str, ...]:
    """The element names of an ``_elements`` value (``Type.name`` accepted for the searched type)."""
    names = tuple(name.strip().removeprefix(f"{resource_type}.") for name in value.split(","))
    for name in names:
        if not _NAME.fullmatch(name):
            raise BadRequest(f"_elements: '{name}' is not an element name of {resource_type}",
                             expression="_elements")  # fmt: skip
    return names


def subset(resource: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The resource with only the elements named (and those always kept), tagged SUBSETTED."""
    wanted = {*names, *_ALWAYS, *_MANDATORY.get(str(resource.get("resourceType")), ())}
    kept = {k: v for k, v in resource.items() if k.removeprefix("_") in wanted or _base_name(k) in wanted}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*(meta.get("tag") or []), SUBSETTED]
    return {**kept, "meta": meta}


def _base_name(key: str) -> str:
    """``valueQuantity`` -> ``value``; ``_status`` (primitive extensions) -> ``status``; else the key."""
    key = key.removeprefix("_")
    for index in range(1, len(key)):
        if key[index].isupper() and key[index:] in _CHOICE_TYPES:
            return key[:index]
    return key
