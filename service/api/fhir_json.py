"""FHIR JSON responses: ``application/fhir+json``, serialised with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from service.errors import Issue

FHIR_JSON = "application/fhir+json"


class FhirJSONResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    """An R4 OperationOutcome (also valid R4B and R5) for these issues."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [_issue(i) for i in issues],
    }


def _issue(issue: Issue) -> dict[str, Any]:
    out: dict[str, Any] = {"severity": issue.severity, "code": issue.code, "diagnostics": issue.diagnostics}
    if issue.expression:
        out["expression"] = [issue.expression]
    return out


def outcome_response(
    status: int, issues: list[Issue], headers: dict[str, str] | None = None
) -> FhirJSONResponse:
    return FhirJSONResponse(operation_outcome(issues), status_code=status, headers=headers)
