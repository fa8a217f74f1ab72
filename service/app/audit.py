"""The audit trail (issue 16): one AuditEvent per access to patient data, stored durably as a FHIR resource
in the same store as everything else (no table of its own), and searchable by patient, date and agent.

The event's row carries the (first) patient it names in the store's ``patient_ref`` column, so a search by
patient is an indexed query; ``date`` is its ``recorded`` time, which is the version's ``lastUpdated``.

A write's event can be stored in the write's own transaction: the API announces it (:func:`expect_write`)
before the route runs, and :func:`record_in_write`, given to the ingest as an ``after_write`` hook, stores it
there, so the data and its audit commit or roll back together; the API then stores no second one. A write
whose transaction does not call the hook is audited right after it, in a transaction of its own.
"""

from __future__ import annotations

import hashlib
import uuid
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from service.adapters.fhir_out.audit import AuditRecord, audit_event
from service.app.ports import Store
from service.app.store_records import NewVersion, SearchQuery

_SCAN_LIMIT = 1000  # events read per search when filtering by agent, newest first
_MAX_PATIENTS = 20  # patients named in one event


@dataclass(frozen=True, slots=True)
class AuditQuery:
    patient_ref: str | None = None
    after: datetime | None = None  # inclusive
    before: datetime | None = None  # exclusive
    agent: str | None = None  # a client id or user (the token's client_id / sub)
    count: int = 50


class AuditTrail:
    def __init__(self, store: Store, issuer: str) -> None:
        self.store, self.issuer = store, issuer

    async def record(self, record: AuditRecord) -> dict[str, Any]:
        """Store the event in a transaction of its own (it locks no patient)."""
        event = audit_event(record, self.issuer)
        async with self.store.writing(set()) as writer:
            await self.record_in(writer, event, record.recorded)
        return event

    @staticmethod
    async def record_in(writer: Any, event: dict[str, Any], now: datetime) -> None:
        """Store ``event`` in the caller's write transaction (a write and its audit land together)."""
        raw = orjson.dumps(event)
        submission = str(uuid.uuid4())
        await writer.add_submission(submission, now, "audit", None, "4.0", raw)
        patients = [e["what"]["reference"] for e in event["entity"] if "reference" in e.get("what", {})]
        version = NewVersion(event, hashlib.sha256(raw).hexdigest(), patients[0] if patients else None, [])
        await writer.write_versions([version], submission, now)

    async def search(self, query: AuditQuery) -> tuple[int, list[dict[str, Any]]]:
        count = _SCAN_LIMIT if query.agent else query.count
        search = SearchQuery("AuditEvent", query.patient_ref, query.after, query.before, True, count)
        async with self.store.reading() as reader:
            total, found = await reader.search(search)
        events = [s.content for s in found]
        if query.agent is None:
            return total, events
        matching = [e for e in events if query.agent in _agent_ids(e)]
        return len(matching), matching[: query.count]


@dataclass
class PendingWrite:
    """The AuditEvent a write request owes, until its transaction stores it."""

    trail: AuditTrail
    record: AuditRecord
    stored: bool = False  # written in the write's transaction ...
    committed: bool = False  # ... and that transaction committed


_PENDING: ContextVar[PendingWrite | None] = ContextVar("onco_pending_write_audit", default=None)


def expect_write(pending: PendingWrite) -> Token[PendingWrite | None]:
    """Announce the current request's write event (reset the returned token when the request ends)."""
    return _PENDING.set(pending)


def pending_write() -> PendingWrite | None:
    return _PENDING.get()


def forget_write(token: Token[PendingWrite | None]) -> None:
    _PENDING.reset(token)


async def record_in_write(writer: Any, changed: set[str], _facts: object = None) -> None:
    """An ``after_write`` hook: store the current request's announced write event in the write's own
    transaction (once), naming also the patients the write changed. Without an announced event (the CLI,
    the workers), nothing."""
    pending = _PENDING.get()
    if pending is None or pending.stored:
        return
    patients = tuple(sorted({*pending.record.patients, *changed}))[:_MAX_PATIENTS]
    record = replace(pending.record, patients=patients, recorded=now())
    await AuditTrail.record_in(writer, audit_event(record, pending.trail.issuer), record.recorded)
    pending.stored = True


def write_committed() -> None:
    """The write whose event :func:`record_in_write` stored in its transaction has committed: the event
    stands for the request, whatever it answers after (the pipeline calls this after its commit)."""
    pending = _PENDING.get()
    if pending is not None and pending.stored:
        pending.committed = True


def _agent_ids(event: dict[str, Any]) -> set[str]:
    return {
        str(agent.get("who", {}).get("identifier", {}).get("value"))
        for agent in event.get("agent", [])
        if isinstance(agent, dict)
    }


def now() -> datetime:
    return datetime.now(UTC)
