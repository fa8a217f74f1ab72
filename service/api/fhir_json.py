"""FHIR JSON responses: ``application/fhir+json``, serialised with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from service.adapters.fhir_out.outcome import operation_outcome
from service.errors import Issue

FHIR_JSON = "application/fhir+json"


class FhirJSONResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def outcome_response(
    status: int, issues: list[Issue], headers: dict[str, str] | None = None
) -> FhirJSONResponse:
    return FhirJSONResponse(operation_outcome(issues), status_code=status, headers=headers)
