"""The transaction-response and batch-response Bundles: each entry's response built once per entry, with the
time text shared by the entries of one write, says exactly what the plain per-entry construction said."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any

import orjson

from service.adapters.fhir_out.bundles import write_response
from service.adapters.fhir_out.outcome import operation_outcome
from service.app.ingest import IngestResult
from service.app.ingest_outcomes import EntryOutcome
from service.errors import Issue


def _reference_entry(outcome: EntryOutcome) -> dict[str, Any]:
    """The plain construction, one entry at a time (the code before the shared time text)."""
    response: dict[str, Any] = {"status": f"{outcome.status} {HTTPStatus(outcome.status).phrase}"}
    if outcome.reference and outcome.version_id is not None and outcome.last_updated is not None:
        response |= {
            "location": f"{outcome.reference}/_history/{outcome.version_id}",
            "etag": f'W/"{outcome.version_id}"',
            "lastModified": outcome.last_updated.isoformat(),
        }
    if outcome.issues:
        response["outcome"] = operation_outcome(outcome.issues)
    return {"response": response}


def _outcomes(seed: int) -> list[EntryOutcome]:
    """Entries of one write share a time object; kept entries carry their own (some equal in value, some
    not, some in another zone); some have no reference, version or time; statuses include rare ones."""
    rng = random.Random(seed)  # noqa: S311  # seeded test data, not security
    now = datetime(2026, 3, 1, 12, 0, 0, rng.randrange(1_000_000), tzinfo=UTC)
    times = [now, now, datetime.fromtimestamp(now.timestamp(), UTC), now + timedelta(seconds=1), None]
    times.append(now.astimezone(timezone(timedelta(hours=2))))  # the same instant, written otherwise
    statuses = [200, 201, 201, 400, 412, 422, 404, 409, 500, 204]
    outcomes = []
    for index in range(rng.randrange(0, 40)):
        issues = [Issue(f"problem {index}", "invalid", "error", f"Bundle.entry[{index}]")]
        outcomes.append(
            EntryOutcome(
                index,
                rng.choice(statuses),
                rng.choice([f"Observation/o{index}", None, ""]),
                rng.choice([1, 2, 0, None]),
                rng.choice(times),
                issues if rng.random() < 0.2 else [],
            )
        )
    return outcomes


def test_entry_responses_agree_with_the_plain_construction() -> None:
    """Byte for byte, over many mixes of statuses, times, references and issues, and both Bundle types."""
    for seed in range(400):
        outcomes = _outcomes(seed)
        kind = "transaction" if seed % 2 else "batch"
        got = write_response(IngestResult(kind, None, outcomes, set()))
        expected = {
            "resourceType": "Bundle",
            "type": "transaction-response" if kind == "transaction" else "batch-response",
            "entry": [_reference_entry(o) for o in outcomes],
        }
        assert orjson.dumps(got) == orjson.dumps(expected), seed
