"""Response Bundles: ``transaction-response`` / ``batch-response`` for writes, ``searchset`` for searches,
``history`` for a resource's versions."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from service.adapters.fhir_out.outcome import operation_outcome
from service.adapters.store import StoredResource
from service.app.ingest import IngestResult
from service.app.ingest_outcomes import EntryOutcome

_RESPONSE_TYPE = {"transaction": "transaction-response"}


def write_response(result: IngestResult) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": _RESPONSE_TYPE.get(result.bundle_type, "batch-response"),
        "entry": _entry_responses(result.entries),
    }


def _entry_responses(outcomes: list[EntryOutcome]) -> list[dict[str, Any]]:
    """One ``{"response": ...}`` per entry. The entries a write stored share one time: its text is made
    once, not once per entry."""
    entries: list[dict[str, Any]] = []
    when, when_text = None, ""
    for outcome in outcomes:
        status = _STATUS_LINES.get(outcome.status) or _status_line(outcome.status)
        response: dict[str, Any] = {"status": status}
        version_id, last_updated = outcome.version_id, outcome.last_updated
        if outcome.reference and version_id is not None and last_updated is not None:
            if last_updated is not when:
                when, when_text = last_updated, last_updated.isoformat()
            response["location"] = f"{outcome.reference}/_history/{version_id}"
            response["etag"] = f'W/"{version_id}"'
            response["lastModified"] = when_text
        if outcome.issues:
            response["outcome"] = operation_outcome(outcome.issues)
        entries.append({"response": response})
    return entries


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


_STATUS_LINES = {status: _status_line(status) for status in (200, 201, 400, 404, 409, 412, 422)}


def searchset(
    resources: list[dict[str, Any]],
    self_url: str,
    total: int | None = None,
    *,
    base: str = "",
    links: dict[str, str] | None = None,
    outcome: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A searchset of the resources found; ``total`` is all matches when only one page is given. With a
    ``base`` the fullUrls are absolute; ``links`` adds next/previous/first; ``outcome`` is an entry
    (search mode ``outcome``) saying what of the search was not applied."""
    prefix = f"{base.rstrip('/')}/" if base else ""
    entries = [
        {"fullUrl": f"{prefix}{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    if outcome is not None:
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources) if total is None else total,
        "link": [{"relation": "self", "url": self_url}]
        + [{"relation": relation, "url": url} for relation, url in (links or {}).items()],
        "entry": entries,
    }


def instance_history(versions: list[StoredResource], self_url: str) -> dict[str, Any]:
    """A ``history`` Bundle of one resource's versions, newest first, as the service stored them: the first
    version was a create, every later one an update (https://hl7.org/fhir/R4/http.html#history)."""
    return {
        "resourceType": "Bundle",
        "type": "history",
        "total": len(versions),
        "link": [{"relation": "self", "url": self_url}],
        "entry": [_history_entry(v) for v in versions],
    }


def _history_entry(version: StoredResource) -> dict[str, Any]:
    created = version.version_id == 1
    return {
        "fullUrl": version.reference,
        "resource": version.content,
        "request": {
            "method": "POST" if created else "PUT",
            "url": version.resource_type if created else version.reference,
        },
        "response": {
            "status": "201 Created" if created else "200 OK",
            "location": f"{version.reference}/_history/{version.version_id}",
            "etag": f'W/"{version.version_id}"',
            "lastModified": version.last_updated.isoformat(),
        },
    }
