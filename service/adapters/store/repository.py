"""Reads and writes of stored resources, facts and submissions, on one connection."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.adapters.store.tables import facts, resource_identifiers, resources, submissions


@dataclass(frozen=True, slots=True)
class StoredResource:
    resource_type: str
    resource_id: str
    version_id: int
    last_updated: datetime
    content: dict[str, Any]

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"


@dataclass(frozen=True, slots=True)
class StoredFact:
    patient_ref: str
    kind: str
    source_ref: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SearchQuery:
    resource_type: str
    patient_ref: str | None = None
    updated_after: datetime | None = None  # inclusive
    updated_before: datetime | None = None  # exclusive
    newest_first: bool = True
    count: int = 50


def _resource_columns() -> Select[Any]:
    r = resources.c
    return select(r.resource_type, r.resource_id, r.version_id, r.last_updated, r.content)


def _stored(row: Any) -> StoredResource:
    return StoredResource(
        row.resource_type, row.resource_id, row.version_id, row.last_updated, orjson.loads(row.content)
    )


class Reader:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def current(self, resource_type: str, resource_id: str) -> StoredResource | None:
        r = resources.c
        query = _resource_columns().where(
            r.resource_type == resource_type, r.resource_id == resource_id, r.is_current.is_(True)
        )
        row = (await self.conn.execute(query)).first()
        return _stored(row) if row else None

    async def sender_version(self, resource_type: str, resource_id: str) -> str | None:
        """The ``meta.versionId`` the sender gave the current version, if it gave one."""
        r = resources.c
        query = select(r.sender_version_id).where(
            r.resource_type == resource_type, r.resource_id == resource_id, r.is_current.is_(True)
        )
        return (await self.conn.execute(query)).scalar_one_or_none()

    async def current_hash(self, resource_type: str, resource_id: str) -> str | None:
        r = resources.c
        query = select(r.content_sha256).where(
            r.resource_type == resource_type, r.resource_id == resource_id, r.is_current.is_(True)
        )
        return (await self.conn.execute(query)).scalar_one_or_none()

    async def current_by_hash(self, resource_type: str, sha256: str) -> StoredResource | None:
        r = resources.c
        query = _resource_columns().where(
            r.resource_type == resource_type, r.content_sha256 == sha256, r.is_current.is_(True)
        )
        row = (await self.conn.execute(query.limit(1))).first()
        return _stored(row) if row else None

    async def search(self, q: SearchQuery) -> tuple[int, list[StoredResource]]:
        """The total number of matches, and the first ``count`` of them in the asked order."""
        r = resources.c
        where = [r.resource_type == q.resource_type, r.is_current.is_(True)]
        if q.patient_ref is not None:
            where.append(r.patient_ref == q.patient_ref)
        if q.updated_after is not None:
            where.append(r.last_updated >= q.updated_after)
        if q.updated_before is not None:
            where.append(r.last_updated < q.updated_before)
        total = (await self.conn.execute(select(func.count()).where(and_(*where)))).scalar_one()
        order = (r.last_updated.desc(), r.pk.desc()) if q.newest_first else (r.last_updated.asc(), r.pk.asc())
        rows = await self.conn.execute(_resource_columns().where(*where).order_by(*order).limit(q.count))
        return total, [_stored(row) for row in rows]

    async def by_identifier(self, resource_type: str, system: str, value: str) -> StoredResource | None:
        i = resource_identifiers.c
        query = select(i.resource_id).where(
            i.resource_type == resource_type, i.system == system, i.value == value
        )
        resource_id = (await self.conn.execute(query.limit(1))).scalar_one_or_none()
        return await self.current(resource_type, resource_id) if resource_id else None

    async def patient_facts(self, patient_ref: str) -> list[StoredFact]:
        f = facts.c
        query = (
            select(f.patient_ref, f.kind, f.source_ref, f.payload)
            .where(f.patient_ref == patient_ref, f.is_current.is_(True))
            .order_by(f.pk)
        )
        rows = await self.conn.execute(query)
        return [
            StoredFact(row.patient_ref, row.kind, row.source_ref, orjson.loads(row.payload)) for row in rows
        ]

    async def submission_count(self) -> int:
        return (await self.conn.execute(select(func.count()).select_from(submissions))).scalar_one()


class Writer(Reader):
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

    async def put_version(
        self,
        content: dict[str, Any],
        *,
        posted_hash: str,
        patient_ref: str | None,
        submission_id: str,
        last_updated: datetime,
    ) -> StoredResource:
        """Store ``content`` as the next version of its resource; the previous one stays as history.
        ``posted_hash`` identifies the content as the sender posted it, for recognising re-posts."""
        resource_type, resource_id = content["resourceType"], content["id"]
        previous = await self.current(resource_type, resource_id)
        version = previous.version_id + 1 if previous else 1
        stored = {
            **content,
            "meta": {
                **content.get("meta", {}),
                "versionId": str(version),
                "lastUpdated": last_updated.isoformat(),
            },
        }
        r = resources.c
        if previous:
            await self.conn.execute(
                update(resources)
                .where(r.resource_type == resource_type, r.resource_id == resource_id, r.is_current.is_(True))
                .values(is_current=False)
            )
        await self.conn.execute(
            insert(resources).values(
                resource_type=resource_type,
                resource_id=resource_id,
                version_id=version,
                is_current=True,
                patient_ref=patient_ref,
                content_sha256=posted_hash,
                sender_version_id=content.get("meta", {}).get("versionId"),
                content=orjson.dumps(stored).decode(),
                last_updated=last_updated,
                submission_id=submission_id,
            )
        )
        await self._index_identifiers(resource_type, resource_id, content)
        return StoredResource(resource_type, resource_id, version, last_updated, stored)

    async def _index_identifiers(self, resource_type: str, resource_id: str, content: dict[str, Any]) -> None:
        i = resource_identifiers.c
        await self.conn.execute(
            resource_identifiers.delete().where(
                i.resource_type == resource_type, i.resource_id == resource_id
            )
        )
        rows = [
            {
                "resource_type": resource_type,
                "resource_id": resource_id,
                "system": ident["system"],
                "value": ident["value"],
            }
            for ident in content.get("identifier", [])
            if isinstance(ident, dict)
            and isinstance(ident.get("system"), str)
            and isinstance(ident.get("value"), str)
        ]
        if rows:
            await self.conn.execute(insert(resource_identifiers), rows)

    async def replace_facts(
        self, source: StoredResource, new_facts: list[tuple[str, str, dict[str, Any]]]
    ) -> None:
        """The source's earlier facts stop being current; ``new_facts`` (patient, kind, payload) take over."""
        f = facts.c
        await self.conn.execute(
            update(facts)
            .where(f.source_ref == source.reference, f.is_current.is_(True))
            .values(is_current=False)
        )
        if new_facts:
            await self.conn.execute(
                insert(facts),
                [
                    {
                        "patient_ref": patient,
                        "kind": kind,
                        "source_ref": source.reference,
                        "source_version_id": source.version_id,
                        "is_current": True,
                        "payload": orjson.dumps(payload).decode(),
                    }
                    for patient, kind, payload in new_facts
                ],
            )
