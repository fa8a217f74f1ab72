"""OperationOutcome: how every error and warning is told to a FHIR client."""

from __future__ import annotations

from typing import Any

from service.errors import Issue


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
