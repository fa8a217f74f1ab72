"""In-memory fakes of the ``Store`` and ``StoredFacts`` ports (``service/app/ports.py``), enough for the
ingest and evaluate use cases: resource versions, current versions, identifiers, submissions, evaluation
requests and each source's facts (domain objects, so there is nothing to encode), in dicts.

A write transaction works on a copy of the state and publishes it only when the block ends without an
exception, so a failing transaction leaves nothing behind, as the SQL store's rollback does. The rest of the
port (search, the outbox, subscriptions) is not needed by these use cases and raises if called.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Collection, Iterable, Sequence, Set
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from service.app.store_records import CurrentVersion, EvaluationJob, NewVersion, StoredResource


@dataclass
class _State:
    versions: dict[tuple[str, str], list[StoredResource]] = field(default_factory=dict)
    posted: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)  # hash, sender vid
    identifiers: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (type, system, value) → id
    retired: set[tuple[str, str]] = field(default_factory=set)
    submissions: list[tuple[str, str, str | None, bytes]] = field(default_factory=list)
    jobs: dict[str, EvaluationJob] = field(default_factory=dict)
    facts: dict[str, list[Any]] = field(default_factory=dict)  # by source reference, current version's


class FakeEvaluationJobs:
    def __init__(self, state: _State) -> None:
        self.state = state

    async def request(self, patients: set[str], now: datetime, grace: timedelta) -> None:
        for patient in patients:
            before = self.state.jobs.get(patient)
            generation = before.generation + 1 if before else 1
            self.state.jobs[patient] = EvaluationJob(patient, generation, now, now + grace, 0, None)

    async def job(self, patient: str) -> EvaluationJob | None:
        return self.state.jobs.get(patient)

    async def all(self) -> list[EvaluationJob]:
        return sorted(self.state.jobs.values(), key=lambda j: j.patient_ref)


class FakeReader:
    def __init__(self, state: _State) -> None:
        self.state = state

    @property
    def evaluation_jobs(self) -> FakeEvaluationJobs:
        return FakeEvaluationJobs(self.state)

    async def current(self, resource_type: str, resource_id: str) -> StoredResource | None:
        key = (resource_type, resource_id)
        found = self.state.versions.get(key)
        return found[-1] if found and key not in self.state.retired else None

    async def versions(self, resource_type: str, resource_id: str) -> list[StoredResource]:
        return list(reversed(self.state.versions.get((resource_type, resource_id), [])))

    async def current_versions(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], CurrentVersion]:
        found = {}
        for key in keys:
            now = await self.current(*key)
            if now is not None:
                posted_hash, sender_version = self.state.posted[key]
                found[key] = CurrentVersion(0, now.version_id, now.last_updated, posted_hash, sender_version)
        return found

    async def current_by_hash(self, resource_type: str, sha256: str) -> StoredResource | None:
        for (kind, resource_id), (posted_hash, _) in self.state.posted.items():
            if kind == resource_type and posted_hash == sha256:
                return await self.current(kind, resource_id)
        return None

    async def by_identifier(self, resource_type: str, system: str, value: str) -> StoredResource | None:
        resource_id = self.state.identifiers.get((resource_type, system, value))
        return await self.current(resource_type, resource_id) if resource_id else None

    async def history_fetched(self, patient_ref: str) -> bool:
        return False

    async def submission_count(self) -> int:
        return len(self.state.submissions)


class FakeWriter(FakeReader):
    async def add_submission(
        self,
        submission_id: str,
        received_at: datetime,
        endpoint: str,
        bundle_type: str | None,
        fhir_version: str,
        content: bytes,
    ) -> None:
        self.state.submissions.append((submission_id, endpoint, bundle_type, content))

    async def send_ahead(self) -> None:
        """Each write is made when asked."""

    async def write_versions(
        self,
        versions: Sequence[NewVersion],
        submission_id: str,
        now: datetime,
        known: dict[tuple[str, str], CurrentVersion] | None = None,
    ) -> list[StoredResource]:
        stored = []
        for version in versions:
            history = self.state.versions.setdefault(version.key, [])
            number = history[-1].version_id + 1 if history else 1
            meta = {
                **version.content.get("meta", {}),
                "versionId": str(number),
                "lastUpdated": now.isoformat(),
            }
            history.append(StoredResource(*version.key, number, now, {**version.content, "meta": meta}))
            stored.append(history[-1])
            sender_version = version.content.get("meta", {}).get("versionId")
            self.state.posted[version.key] = (version.posted_hash, sender_version)
            self.state.retired.discard(version.key)
            self.state.facts.pop(history[-1].reference, None)  # a new version's facts come last, as new rows
            self.state.facts[history[-1].reference] = list(version.facts)
            for ident in version.content.get("identifier", []):
                self.state.identifiers[(version.key[0], ident["system"], ident["value"])] = version.key[1]
        return stored


class FakeStore:
    """``Store`` in memory; ``state`` is what is committed."""

    backend = "memory"

    def __init__(self) -> None:
        self.state = _State()
        self.commits = 0

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[FakeReader]:
        yield FakeReader(self.state)

    @asynccontextmanager
    async def writing(self, patient_refs: set[str]) -> AsyncIterator[FakeWriter]:
        working = copy.deepcopy(self.state)
        yield FakeWriter(working)  # an exception here leaves self.state as it was: the rollback
        self.state = working
        self.commits += 1

    def stored(self, resource_type: str) -> list[StoredResource]:
        """The current versions of one type, in the order they were first stored."""
        return [
            found[-1]
            for (kind, _), found in self.state.versions.items()
            if kind == resource_type and (kind, found[-1].resource_id) not in self.state.retired
        ]


class FakeStoredFacts:
    """``StoredFacts`` on a ``FakeStore``: a patient's facts in stored order, read from the committed state or
    from the state of the transaction named ``within``. ``asked`` records each read's ``known`` sources, whose
    facts are returned all the same (the port allows it), so the caller's own dropping of them is tested."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.asked: list[Set[str]] = []

    async def __call__(
        self, patient: str, within: FakeReader | None = None, known: Set[str] = frozenset()
    ) -> list[Any]:
        self.asked.append(known)
        state = self.store.state if within is None else within.state
        return [fact for facts in state.facts.values() for fact in facts if fact.patient == patient]

    async def of_patients(
        self, patients: Collection[str], within: FakeReader | None = None, known: Set[str] = frozenset()
    ) -> dict[str, list[Any]]:
        return {patient: await self(patient, within, known) for patient in patients}
