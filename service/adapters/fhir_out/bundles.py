"""Response Bundles: ``transaction-response`` / ``batch-response`` for writes, ``searchset`` for searches."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from service.adapters.fhir_out.outcome import operation_outcome
from service.app.ingest import EntryOutcome, IngestResult

_RESPONSE_TYPE = {"transaction": "transaction-response"}


def write_response(result: IngestResult) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": _RESPONSE_TYPE.get(result.bundle_type, "batch-response"),
        "entry": [{"response": _entry_response(e)} for e in result.entries],
    }


def _entry_response(outcome: EntryOutcome) -> dict[str, Any]:
    response: dict[str, Any] = {"status": f"{outcome.status} {HTTPStatus(outcome.status).phrase}"}
    if outcome.reference and outcome.version_id is not None and outcome.last_updated is not None:
        response |= {
            "location": f"{outcome.reference}/_history/{outcome.version_id}",
            "etag": f'W/"{outcome.version_id}"',
            "lastModified": outcome.last_updated.isoformat(),
        }
    if outcome.issues:
        response["outcome"] = operation_outcome(outcome.issues)
    return response


def searchset(resources: list[dict[str, Any]], self_url: str, total: int | None = None) -> dict[str, Any]:
    """A searchset of the resources found; ``total`` is all matches when only the first page is given."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources) if total is None else total,
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }
