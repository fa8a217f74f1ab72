"""Writes of resources (as new versions), their identifiers and facts, submissions and history marks, in
the caller's transaction (``SqlStore.writing``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy import delete, insert, update

from service.adapters.store import raw
from service.adapters.store.enqueue import Enqueue
from service.adapters.store.fact_codec import encode
from service.adapters.store.repository import CurrentVersion, Reader, StoredResource
from service.adapters.store.tables import history_fetches, resource_identifiers, resources

# The values of the store port, defined with it (service/app/store_records.py) and re-exported here.
from service.app.store_records import NewVersion as NewVersion


class Writer(Reader):
    async def mark_history_fetched(self, patient_ref: str, resources: int, now: datetime) -> None:
        """Record the fetch; a replica that fetched the same patient meanwhile has recorded it already."""
        if not await self.history_fetched(patient_ref):
            await self.conn.execute(
                insert(history_fetches).values(patient_ref=patient_ref, fetched_at=now, resources=resources)
            )

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
        row = (
            submission_id,
            raw.db_time(self.conn, received_at),
            endpoint,
            bundle_type,
            fhir_version,
            hashlib.sha256(content).hexdigest(),
            content,
        )
        await raw.execute_many(self.conn, _INSERT_SUBMISSION, [row])

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
        await raw.execute_many(self.conn, _RETIRE_FACTS, [(f"{resource_type}/{resource_id}",)])

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
        stored, rows, at = [], [], raw.db_time(self.conn, now)
        for i, version in enumerate(versions):
            number = next_version.get(version.key, 1)
            next_version[version.key] = number + 1
            stored.append(_with_meta(version.content, number, now))
            rows.append(
                _resource_row(version, stored[-1], number, last_index[version.key] == i, submission_id, at)
            )
        await raw.execute_many(self.conn, _RETIRE, [(c.pk,) for c in current.values()])
        await raw.execute_many(self.conn, _INSERT_RESOURCE, rows)
        await raw.execute_many(self.conn, _UNINDEX, list(current))
        await self._index_identifiers(versions, last_index)
        await raw.execute_many(self.conn, _RETIRE_FACTS, [(f"{t}/{i}",) for t, i in current])
        await self._add_facts(versions, stored, last_index)
        return stored

    async def _index_identifiers(
        self, versions: Sequence[NewVersion], last_index: dict[tuple[str, str], int]
    ) -> None:
        rows = [
            row for key, index in last_index.items() for row in _identifier_rows(key, versions[index].content)
        ]
        await raw.execute_many(self.conn, _INDEX, rows)

    async def _add_facts(
        self,
        versions: Sequence[NewVersion],
        stored: list[StoredResource],
        last_index: dict[tuple[str, str], int],
    ) -> None:
        rows = [
            (
                fact.patient,
                payload["kind"],
                s.reference,
                s.version_id,
                last_index[v.key] == n,
                orjson.dumps(payload).decode(),
            )
            for n, (v, s) in enumerate(zip(versions, stored, strict=True))
            for fact in v.facts
            if (payload := encode(fact))
        ]
        await raw.execute_many(self.conn, _INSERT_FACT, rows)


# The statements of a write (issue 17: prepared, see raw.py), in asyncpg's parameter style.
_RETIRE = "UPDATE resources SET is_current = false WHERE pk = $1"
_INSERT_RESOURCE = (
    "INSERT INTO resources (resource_type, resource_id, version_id, is_current, patient_ref, content_sha256,"
    " sender_version_id, content, last_updated, submission_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)
_UNINDEX = "DELETE FROM resource_identifiers WHERE resource_type = $1 AND resource_id = $2"
_INDEX = (
    "INSERT INTO resource_identifiers (resource_type, resource_id, system, value) VALUES ($1, $2, $3, $4)"
)
_RETIRE_FACTS = "UPDATE facts SET is_current = false WHERE source_ref = $1 AND is_current"
_INSERT_FACT = (
    "INSERT INTO facts (patient_ref, kind, source_ref, source_version_id, is_current, payload)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
_INSERT_SUBMISSION = (
    "INSERT INTO submissions (id, received_at, endpoint, bundle_type, fhir_version, content_sha256, content)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)


def _with_meta(content: dict[str, Any], version: int, now: datetime) -> StoredResource:
    meta = {**content.get("meta", {}), "versionId": str(version), "lastUpdated": now.isoformat()}
    return StoredResource(content["resourceType"], content["id"], version, now, {**content, "meta": meta})


def _resource_row(
    version: NewVersion,
    stored: StoredResource,
    number: int,
    is_current: bool,
    submission_id: str,
    last_updated: Any,  # as the driver stores it (raw.db_time)
) -> tuple[Any, ...]:
    return (
        stored.resource_type,
        stored.resource_id,
        number,
        is_current,
        version.patient_ref,
        version.posted_hash,
        version.content.get("meta", {}).get("versionId"),
        orjson.dumps(stored.content).decode(),
        last_updated,
        submission_id,
    )


def _identifier_rows(key: tuple[str, str], content: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [
        (key[0], key[1], ident["system"], ident["value"])
        for ident in content.get("identifier", [])
        if isinstance(ident, dict)
        and isinstance(ident.get("system"), str)
        and isinstance(ident.get("value"), str)
    ]
