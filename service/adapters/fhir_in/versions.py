"""Which FHIR version a request body is in (FHIR-CONTRACT.md section 1).

The ``fhirVersion`` parameter of ``Content-Type`` decides; where it is absent, R4 (content-based
detection of R5 shapes is added with ingestion).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from itertools import compress, repeat
from typing import Any

from service.errors import UnsupportedMediaType

FHIR_MEDIA_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})
_MEDICATION_KINDS = ("MedicationRequest", "MedicationStatement", "MedicationAdministration",
                     "MedicationDispense")  # fmt: skip
_R5_KINDS = frozenset({*_MEDICATION_KINDS, "BodyStructure", "ImagingStudy"})  # those with an R5-only shape
_get: Callable[[Any, str], Any] = dict.get  # unbound: a TypeError for anything but an object


class FhirVersion(StrEnum):
    R4 = "4.0"
    R4B = "4.3"
    R5 = "5.0"


def version_from_content_type(content_type: str | None) -> FhirVersion | None:
    """The declared version, None when undeclared; a non-JSON media type or an unknown version is a 415."""
    media, params = _parse_media_type(content_type or "")
    if media not in FHIR_MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type '{media or '(none)'}' is not supported; send application/fhir+json"
        )
    declared = params.get("fhirversion")
    if declared is None:
        return None
    try:
        return FhirVersion(declared)
    except ValueError:
        supported = ", ".join(v.value for v in FhirVersion)
        raise UnsupportedMediaType(
            f"fhirVersion={declared} is not supported; use one of {supported}"
        ) from None


def _parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    media, *raw_params = (part.strip() for part in value.split(";"))
    params = {}
    for raw in raw_params:
        key, _, val = raw.partition("=")
        params[key.strip().lower()] = val.strip().strip('"')
    return media.lower(), params


def detect_version(bundle: dict[str, object]) -> FhirVersion:
    """R5 when any posted resource has a shape only R5 has, else R4 (FHIR-CONTRACT section 1).

    R4 and R4B are read with the same (R4B) classes, so telling them apart would change nothing. The R5
    shapes looked for are the ones the service reads: ``CodeableReference`` medications, BodyStructure
    ``includedStructure`` and ImagingStudy ``modality`` as CodeableConcepts. An R4 MolecularSequence
    (``referenceSeq`` / ``variant``) keeps the answer R4.
    """
    r5 = _is_r5_shape(bundle) or any(_is_r5_shape(r) for r in _candidates(bundle))
    return FhirVersion.R5 if r5 else FhirVersion.R4


def _candidates(bundle: dict[str, object]) -> list[dict[str, object]]:
    """The entries' resources of a kind that has an R5 shape, picked out by C code (``map``, ``compress``):
    most of a Bundle is of other kinds (issue 19). An entry or resource that is no object, or a resourceType
    that cannot be hashed, raises TypeError there: then every entry's resource is tested, as before."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return []
    try:
        resources = list(map(_get, entries, repeat("resource")))
        kinds = map(_get, resources, repeat("resourceType"))
        return list(compress(resources, map(_R5_KINDS.__contains__, kinds)))
    except TypeError:
        return _entry_resources(entries)


def _entry_resources(entries: list[object]) -> list[dict[str, object]]:
    return [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]


def _is_r5_shape(resource: dict[str, object]) -> bool:
    kind = resource.get("resourceType")
    if kind in _MEDICATION_KINDS:
        medication = resource.get("medication")
        return isinstance(medication, dict) and bool({"concept", "reference"} & medication.keys())
    if kind == "BodyStructure":
        return "includedStructure" in resource
    if kind == "ImagingStudy":
        modality = resource.get("modality")
        return isinstance(modality, list) and any(isinstance(m, dict) and "coding" in m for m in modality)
    return False
