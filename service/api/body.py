"""Reading a FHIR JSON body: media type (415), guarded JSON (400), a resource (400). The body is parsed once
per request (issue 19): the access guard (:mod:`service.api.guard`) reads the parse before the route, which
checks it here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from service.adapters.fhir_in.guard import ParsedJson
from service.adapters.fhir_in.versions import FhirVersion, detect_version, version_from_content_type
from service.errors import BadRequest


@dataclass(frozen=True, slots=True)
class FhirBody:
    resource: dict[str, Any]
    declared_version: FhirVersion | None
    raw: bytes
    compact: bytes | None = None  # orjson's compact serialisation of ``resource`` as parsed (the guard's)

    @property
    def version(self) -> FhirVersion:
        """The declared version, else the one the content shows (R5 shapes), else R4."""
        return self.declared_version or detect_version(self.resource)


async def posted_json(request: Request) -> ParsedJson:
    """The request's body, parsed on first asking and kept on the request for the guard and the route."""
    parsed: ParsedJson | None = getattr(request.state, "posted_json", None)
    if parsed is None:
        parsed = request.state.posted_json = ParsedJson(await request.body())
    return parsed


async def read_fhir_body(request: Request) -> FhirBody:
    declared = version_from_content_type(request.headers.get("content-type"))
    posted = await posted_json(request)
    data = posted.checked()  # not JSON, too deep, a repeated key: a 400 naming where (issue 20)
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        raise BadRequest(
            "The body is not a FHIR resource: a JSON object with a resourceType is expected",
            expression="resourceType",
        )
    return FhirBody(data, declared, posted.raw, posted.compact)
