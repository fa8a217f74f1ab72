"""Writes of resources (as new versions), their identifiers and facts, submissions and history marks, in
the caller's transaction (``SqlStore.writing``)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence, Set
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy import delete, insert, update

from service.adapters.store import raw
from service.adapters.store import version_rows as rows_sql
from service.adapters.store.connection import Executes
from service.adapters.store.enqueue import Enqueue
from service.adapters.store.evaluation_jobs import EvaluationJobs
from service.adapters.store.first_read import first_read
from service.adapters.store.owed import Owed
from service.adapters.store.repository import CurrentVersion, Reader, StoredResource, by_type
from service.adapters.store.tables import history_fetches, resource_identifiers, resources
from service.adapters.store.version_rows import (
    columns,
    fact_rows,
    identifier_rows,
    resource_row,
    with_meta,
)

# The values of the store port, defined with it (service/app/store_records.py) and re-exported here.
from service.app.store_records import NewVersion as NewVersion


class Writer(Reader):
    def __init__(self, conn: Executes, patients: Collection[str] = ()) -> None:
        """``patients``: the ones whose write locks the transaction holds."""
        super().__init__(conn if raw.is_sqlite(conn) else Owed(conn))
        self._patients = frozenset(patients)
        self._submissions: list[tuple[Any, ...]] = []  # owed to the next write (add_submission)
        self._first_read = False
        self._fetched: set[str] | None = None  # of ``patients``, by the first read (PostgreSQL)
        self._facts: list[tuple[int, str, str, str]] | None = None  # theirs, by the first read
        self._retired: set[str] = set()  # the sources whose facts this transaction retired
        self._fact_sources: set[str] = set()  # and those it wrote facts of

    async def current_versions(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], CurrentVersion]:
        """On PostgreSQL the transaction's first such read also answers, in the same round trip, what the
        rest of it will ask of its patients (first_read.py)."""
        if raw.is_sqlite(self.conn):
            return await super().current_versions(keys)
        if self._first_read:
            return await self._after_batch(keys)
        self._first_read = True
        found = await first_read(self.conn, by_type(keys), sorted(self._patients))
        self.enqueue.know_live_topics(found.live_topics)
        self.evaluation_jobs.know_generations(self._patients, found.generations)
        self._fetched, self._facts = found.fetched, found.facts
        return found.current

    async def _after_batch(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], CurrentVersion]:
        """Read in the statement of the batch of versions still owed, if one is (owed.py)."""
        grouped = by_type(keys)
        owed = self.conn
        if not grouped or not isinstance(owed, Owed) or owed.batch is None:
            return await super().current_versions(keys)
        types = [t for t, ids in grouped.items() for _ in ids]
        rows = await owed.settle((types, [i for group in grouped.values() for i in group]))
        return {(r[1], r[2]): CurrentVersion(r[0], r[3], raw.py_time(r[4]), r[5], r[6]) for r in rows or ()}

    def facts_as_read(self, patients: Collection[str], skip: Set[str]) -> list[tuple[str, str]] | None:
        """(patient, payload) of the current facts of ``patients`` but those of the ``skip`` sources, in
        stored order, from the first read; None unless it can tell (a patient it did not read, or facts
        written in this transaction of a source not skipped)."""
        if self._facts is None or not self._patients.issuperset(patients):
            return None
        if not self._fact_sources.issubset(skip):
            return None
        wanted, gone = set(patients), self._retired | skip
        return [
            (patient, payload)
            for _, patient, source, payload in self._facts
            if patient in wanted and source not in gone
        ]

    @cached_property
    def evaluation_jobs(self) -> EvaluationJobs:
        """One for the transaction: it keeps what the first read answered until it writes a request."""
        return EvaluationJobs(self.conn)

    async def history_fetched(self, patient_ref: str) -> bool:
        if self._fetched is not None and patient_ref in self._patients:
            return patient_ref in self._fetched
        return await super().history_fetched(patient_ref)

    async def mark_history_fetched(self, patient_ref: str, resources: int, now: datetime) -> None:
        """Record the fetch; a replica that fetched the same patient meanwhile has recorded it already."""
        if not await self.history_fetched(patient_ref):
            await self.conn.execute(
                insert(history_fetches).values(patient_ref=patient_ref, fetched_at=now, resources=resources)
            )
            if self._fetched is not None:
                self._fetched.add(patient_ref)

    @cached_property
    def enqueue(self) -> Enqueue:
        """Subscriptions, events and outbox rows written in this same transaction (one for it: it keeps
        what it read of the subscriptions until it writes one)."""
        return Enqueue(self.conn)

    async def add_submission(
        self,
        submission_id: str,
        received_at: datetime,
        endpoint: str,
        bundle_type: str | None,
        fhir_version: str,
        content: bytes,
    ) -> None:
        """On PostgreSQL the row goes in with the transaction's next ``write_versions`` (one round trip for
        both), or at the latest before the commit (``flush``)."""
        row = (
            submission_id,
            raw.db_time(self.conn, received_at),
            endpoint,
            bundle_type,
            fhir_version,
            hashlib.sha256(content).hexdigest(),
            content,
        )
        self._submissions.append(row)
        if raw.is_sqlite(self.conn):
            await self.flush()

    async def flush(self) -> None:
        """The submissions not yet written (``add_submission``); called before the commit."""
        rows, self._submissions = self._submissions, []
        await raw.execute_many(self.conn, rows_sql.INSERT_SUBMISSION, rows)
        if isinstance(self.conn, Owed):
            await self.conn.settle()

    async def send_ahead(self) -> None:
        """PostgreSQL: the batch owed sent now, stored while the caller computes (owed.py)."""
        if isinstance(self.conn, Owed):
            await self.conn.send_ahead()

    async def quiesce(self) -> None:
        """Before a rollback: no statement still running on the connection."""
        if isinstance(self.conn, Owed):
            await self.conn.quiesce()

    async def retire(self, resource_type: str, resource_id: str) -> None:
        """A deleted resource: no current version any more (its versions and facts stay as history), and
        so, as ``write_versions`` relies on, no identifiers and no current facts either."""
        r, i = resources.c, resource_identifiers.c
        await self.conn.execute(
            update(resources)
            .where(r.resource_type == resource_type, r.resource_id == resource_id)
            .values(is_current=False)
        )
        await self.conn.execute(
            delete(resource_identifiers).where(i.resource_type == resource_type, i.resource_id == resource_id)
        )
        self._retired.add(f"{resource_type}/{resource_id}")
        await raw.execute_many(self.conn, rows_sql.RETIRE_FACTS, [(f"{resource_type}/{resource_id}",)])

    async def write_versions(
        self,
        versions: Sequence[NewVersion],
        submission_id: str,
        now: datetime,
        known: dict[tuple[str, str], CurrentVersion] | None = None,
    ) -> list[StoredResource]:
        """Store each as the next version of its resource, in a few statements for the whole batch.

        Earlier versions stay as history (``is_current`` false), and so do the facts read from them. A
        resource that appears twice in ``versions`` gets two versions; the later one is current. ``known``:
        what ``current_versions`` answered in this same transaction for (at least) these resources, so it is
        not asked twice. Only a resource with a current version can have identifiers and current facts
        (``retire`` removes both), so only those are unindexed and have their facts retired: a batch of
        new resources runs two statements fewer (two round trips on PostgreSQL).
        """
        keys = [v.key for v in versions]
        if known is None:
            current = await self.current_versions(keys)
        else:
            current = {key: known[key] for key in dict.fromkeys(keys) if key in known}
        next_version = {key: c.version_id + 1 for key, c in current.items()}
        last_index = {v.key: i for i, v in enumerate(versions)}
        stored, rows, at, now_text = [], [], raw.db_time(self.conn, now), now.isoformat()
        for i, version in enumerate(versions):
            number = next_version.get(version.key, 1)
            next_version[version.key] = number + 1
            s = with_meta(version.content, number, now, now_text)
            stored.append(s)
            rows.append(resource_row(version, s, last_index[version.key] == i, submission_id, at))
        identifiers = [
            row for key, index in last_index.items() for row in identifier_rows(key, versions[index].content)
        ]
        facts = fact_rows(versions, stored, last_index)
        self._retired.update(f"{t}/{i}" for t, i in current)
        self._fact_sources.update(row[2] for row in facts)
        if raw.is_sqlite(self.conn):
            await self._write_each(current, rows, identifiers, facts)
        else:
            await self._write_batch(current, rows, identifiers, facts)
        return stored

    async def _write_each(
        self,
        current: dict[tuple[str, str], CurrentVersion],
        rows: list[tuple[Any, ...]],
        identifiers: list[tuple[str, str, str, str]],
        facts: list[tuple[Any, ...]],
    ) -> None:
        """SQLite: a prepared statement per table (no round trips to save in process)."""
        await raw.execute_many(self.conn, rows_sql.RETIRE, [(c.pk,) for c in current.values()])
        await raw.execute_many(self.conn, rows_sql.INSERT_RESOURCE, rows)
        await raw.execute_many(self.conn, rows_sql.UNINDEX, list(current))
        await raw.execute_many(self.conn, rows_sql.INDEX, identifiers)
        await raw.execute_many(self.conn, rows_sql.RETIRE_FACTS, [(f"{t}/{i}",) for t, i in current])
        await raw.execute_many(self.conn, rows_sql.INSERT_FACT, facts)

    async def _write_batch(
        self,
        current: dict[tuple[str, str], CurrentVersion],
        rows: list[tuple[Any, ...]],
        identifiers: list[tuple[str, str, str, str]],
        facts: list[tuple[Any, ...]],
    ) -> None:
        """PostgreSQL: everything, with the submissions still owed, in one statement (version_rows.py), owed
        to the transaction's next statement (owed.py)."""
        submissions, self._submissions = self._submissions, []
        assert isinstance(self.conn, Owed)
        await self.conn.owe_batch(
            (
                *columns(submissions, 7),
                [c.pk for c in current.values()],
                *columns(rows, 10),
                *columns(list(current), 2),
                *columns(identifiers, 4),
                [f"{t}/{i}" for t, i in current],
                *columns(facts, 6),
            ),
            frozenset((row[0], row[1]) for row in rows),
        )
