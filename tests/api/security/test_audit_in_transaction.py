"""A write's AuditEvent in the write's own transaction (issue 16): the API announces the event, and the
ingest's ``after_write`` hook :func:`service.app.audit.record_in_write` stores it with the data, so both
commit or neither does. Here the hook is given to every ingest by the test (the wiring the write path needs,
see docs/security.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import pytest

from service.app.audit import record_in_write
from service.app.ingest import Ingest
from tests.api.security.conftest import FHIR, KeyServer, bearer, patient_data

pytestmark = pytest.mark.usefixtures("smart_app")

Hook = Callable[..., Awaitable[Any]]


def _ingest_with(monkeypatch: pytest.MonkeyPatch, then: Hook | None = None) -> None:
    """Every ingest runs the audit hook in its transaction after its own ``after_write`` (and ``then``)."""
    original = Ingest.__call__

    async def audited(self: Ingest, *args: Any, after_write: Hook | None = None, **kwargs: Any) -> Any:
        async def hooks(writer: Any, changed: set[str], *facts: Any) -> Any:
            settled = None if after_write is None else await after_write(writer, changed, *facts)
            await record_in_write(writer, changed, *facts)
            if then is not None:
                await then(writer, changed)
            return settled  # the patients whose report the pipeline stored: the ingest requests the rest

        return await original(self, *args, after_write=hooks, **kwargs)

    monkeypatch.setattr(Ingest, "__call__", audited)


async def _events_of(api: httpx.AsyncClient, keys: KeyServer, request_id: str) -> list[dict[str, Any]]:
    auditor = bearer(keys.token("system/AuditEvent.s", client_id="auditor"))
    trail = (await api.get("/fhir/AuditEvent", params={"_count": 1000}, headers=auditor)).json()
    return [
        e["resource"]
        for e in trail.get("entry", [])
        if request_id in orjson.dumps(e["resource"]["entity"]).decode()
    ]


async def test_a_write_and_its_event_commit_together(
    api: httpx.AsyncClient, keys: KeyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the hook, a write leaves exactly one event (stored in its transaction, none after it), naming
    the patient it changed."""
    _ingest_with(monkeypatch)
    body = orjson.dumps(patient_data("p1", "o1"))
    answer = await api.post("/fhir", content=body, headers={**FHIR, **bearer(keys.token())})
    assert answer.status_code == 200, answer.text
    events = await _events_of(api, keys, answer.headers["x-request-id"])
    assert len(events) == 1 and events[0]["outcome"] == "0"
    assert {"reference": "Patient/p1"} in [e.get("what") for e in events[0]["entity"]]


async def test_a_write_rolled_back_leaves_only_its_failure(
    api: httpx.AsyncClient, keys: KeyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the write's transaction fails after the hook stored the event, the event goes with the data:
    the trail holds one event for the request, its failure (outcome 8), and the data is not stored."""

    async def fail(_writer: Any, _changed: set[str]) -> None:
        raise RuntimeError("the transaction fails before its commit")

    _ingest_with(monkeypatch, then=fail)
    body = orjson.dumps(patient_data("p1", "o1"))
    answer = await api.post("/fhir", content=body, headers={**FHIR, **bearer(keys.token())})
    assert answer.status_code == 500
    events = await _events_of(api, keys, answer.headers["x-request-id"])
    assert [e["outcome"] for e in events] == ["8"]
    assert (await api.get("/fhir/Observation/o1", headers=bearer(keys.token()))).status_code == 404
