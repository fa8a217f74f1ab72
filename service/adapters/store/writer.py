"""Writes of resources (as new versions), their identifiers and facts, submissions and history marks, in
the caller's transaction (``SqlStore.writing``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, insert, update

from service.adapters.store.enqueue import Enqueue
from service.adapters.store.repository import CurrentVersion, Reader, StoredResource, by_type, chunks
from service.adapters.store.tables import facts, history_fetches, resource_identifiers, resources, submissions


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A resource to store as its next version, with the facts read from it as (patient, kind, payload)."""

    content: dict[str, Any]
    posted_hash: str
    patient_ref: str | None
    facts: list[tuple[str, str, dict[str, Any]]]

    @property
    def key(self) -> tuple[str, str]:
        return self.content["resourceType"], self.content["id"]


class Writer(Reader):
    async def mark_history_fetched(self, patient_ref: str, resources: int, now: datetime) -> None:
        """Record the fetch; a replica that fetched the same patient meanwhile has recorded it already."""
        if not await self.history_fetched(patient_ref):
            await self.conn.execute(
                insert(history_fetches).values(patient_ref=patient_ref, fetched_at=now, resources=resources)
            )

    @property
    def enqueue(self) -> Enqueue:
        """Subscriptions, events and outbox rows written in this same transaction."""
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
        await self.conn.execute(
            insert(submissions).values(
                id=submission_id,
                received_at=received_at,
                endpoint=endpoint,
                bundle_type=bundle_type,
                fhir_version=fhir_version,
                content_sha256=hashlib.sha256(content).hexdigest(),
                content=content,
            )
        )

    async def retire(self, resource_type: str, resource_id: str) -> None:
        """A deleted resource: no current version any more (its versions stay as history)."""
        r, i = resources.c, resource_identifiers.c
        await self.conn.execute(
            update(resources)
            .where(r.resource_type == resource_type, r.resource_id == resource_id)
            .values(is_current=False)
        )
        await self.conn.execute(
            delete(resource_identifiers).where(i.resource_type == resource_type, i.resource_id == resource_id)
        )

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
        not asked twice.
        """
        keys = [v.key for v in versions]
        if known is None:
            current = await self.current_versions(keys)
        else:
            current = {key: known[key] for key in dict.fromkeys(keys) if key in known}
        next_version = {key: c.version_id + 1 for key, c in current.items()}
        last_index = {v.key: i for i, v in enumerate(versions)}
        stored, rows = [], []
        for i, version in enumerate(versions):
            number = next_version.get(version.key, 1)
            next_version[version.key] = number + 1
            stored.append(_with_meta(version.content, number, now))
            rows.append(
                _resource_row(version, stored[-1], number, last_index[version.key] == i, submission_id)
            )
        await self._retire(resources, resources.c.pk, [c.pk for c in current.values()])
        if rows:
            await self.conn.execute(insert(resources), rows)
        await self._reindex_identifiers(versions, last_index)
        await self._replace_facts(versions, stored, last_index)
        return stored

    async def _retire(self, table: Any, column: Any, values: list[Any]) -> None:
        for chunk in chunks(values):
            await self.conn.execute(update(table).where(column.in_(chunk)).values(is_current=False))

    async def _reindex_identifiers(
        self, versions: Sequence[NewVersion], last_index: dict[tuple[str, str], int]
    ) -> None:
        i = resource_identifiers.c
        for resource_type, ids in by_type(last_index).items():
            for chunk in chunks(ids):
                await self.conn.execute(
                    delete(resource_identifiers).where(
                        i.resource_type == resource_type, i.resource_id.in_(chunk)
                    )
                )
        rows = [
            row for key, index in last_index.items() for row in _identifier_rows(key, versions[index].content)
        ]
        if rows:
            await self.conn.execute(insert(resource_identifiers), rows)

    async def _replace_facts(
        self,
        versions: Sequence[NewVersion],
        stored: list[StoredResource],
        last_index: dict[tuple[str, str], int],
    ) -> None:
        await self._retire(facts, facts.c.source_ref, [f"{t}/{i}" for t, i in last_index])
        rows = [
            {
                "patient_ref": patient,
                "kind": kind,
                "source_ref": s.reference,
                "source_version_id": s.version_id,
                "is_current": last_index[v.key] == n,
                "payload": orjson.dumps(payload).decode(),
            }
            for n, (v, s) in enumerate(zip(versions, stored, strict=True))
            for patient, kind, payload in v.facts
        ]
        if rows:
            await self.conn.execute(insert(facts), rows)


def _with_meta(content: dict[str, Any], version: int, now: datetime) -> StoredResource:
    meta = {**content.get("meta", {}), "versionId": str(version), "lastUpdated": now.isoformat()}
    return StoredResource(content["resourceType"], content["id"], version, now, {**content, "meta": meta})


def _resource_row(
    version: NewVersion, stored: StoredResource, number: int, is_current: bool, submission_id: str
) -> dict[str, Any]:
    return {
        "resource_type": stored.resource_type,
        "resource_id": stored.resource_id,
        "version_id": number,
        "is_current": is_current,
        "patient_ref": version.patient_ref,
        "content_sha256": version.posted_hash,
        "sender_version_id": version.content.get("meta", {}).get("versionId"),
        "content": orjson.dumps(stored.content).decode(),
        "last_updated": stored.last_updated,
        "submission_id": submission_id,
    }


def _identifier_rows(key: tuple[str, str], content: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"resource_type": key[0], "resource_id": key[1], "system": ident["system"], "value": ident["value"]}
        for ident in content.get("identifier", [])
        if isinstance(ident, dict)
        and isinstance(ident.get("system"), str)
        and isinstance(ident.get("value"), str)
    ]
