"""Reading a FHIR JSON body: media type (415), guarded JSON (400), a resource (400)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from service.adapters.fhir_in.guard import parse_json
from service.adapters.fhir_in.versions import FhirVersion, detect_version, version_from_content_type
from service.errors import BadRequest


@dataclass(frozen=True, slots=True)
class FhirBody:
    resource: dict[str, Any]
    declared_version: FhirVersion | None
    raw: bytes

    @property
    def version(self) -> FhirVersion:
        """The declared version, else the one the content shows (R5 shapes), else R4."""
        return self.declared_version or detect_version(self.resource)


async def read_fhir_body(request: Request) -> FhirBody:
    declared = version_from_content_type(request.headers.get("content-type"))
    raw = await request.body()
    data = parse_json(raw)  # not JSON, too deep, a repeated key: a 400 naming where (issue 20)
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise BadRequest(
            "The body is not a FHIR resource: a JSON object with a resourceType is expected",
            expression="resourceType",
        )
    return FhirBody(data, declared, raw)
