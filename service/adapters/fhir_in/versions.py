"""Which FHIR version a request body is in (FHIR-CONTRACT.md section 1).

The ``fhirVersion`` parameter of ``Content-Type`` decides; where it is absent, R4 (content-based
detection of R5 shapes is added with ingestion).
"""

from __future__ import annotations

from enum import StrEnum

from service.errors import UnsupportedMediaType

FHIR_MEDIA_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})


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
