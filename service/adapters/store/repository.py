"""Reads and writes of stored resources, facts and submissions, on one connection."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, and_, delete, func, insert, select, update

from service.adapters.store.connection import Executes
from service.adapters.store.outbox import Enqueue
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
class CurrentVersion:
    """What the store knows of a resource's current version, enough to decide whether a post changes it."""

    pk: int
    version_id: int
    last_updated: datetime
    posted_hash: str
    sender_version_id: str | None


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
    def __init__(self, conn: Executes) -> None:
        self.conn = conn

    async def current(self, resource_type: str, resource_id: str) -> StoredResource | None:
        r = resources.c
        query = _resource_columns().where(
            r.resource_type == resource_type, r.resource_id == resource_id, r.is_current.is_(True)
        )
        row = (await self.conn.execute(query)).first()
        return _stored(row) if row else None

    async def current_versions(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], CurrentVersion]:
        """The current version of each (type, id) the store has, in one query per type and chunk."""
        r = resources.c
        found: dict[tuple[str, str], CurrentVersion] = {}
        for resource_type, ids in _by_type(keys).items():
            for chunk in _chunks(ids):
                query = select(
                    r.pk, r.resource_id, r.version_id, r.last_updated, r.content_sha256, r.sender_version_id
                ).where(r.resource_type == resource_type, r.resource_id.in_(chunk), r.is_current.is_(True))
                for row in await self.conn.execute(query):
                    found[(resource_type, row.resource_id)] = CurrentVersion(
                        row.pk, row.version_id, row.last_updated, row.content_sha256, row.sender_version_id
                    )
        return found

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
        count: int = (await self.conn.execute(select(func.count()).select_from(submissions))).scalar_one()
        return count


class Writer(Reader):
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
        for chunk in _chunks(values):
            await self.conn.execute(update(table).where(column.in_(chunk)).values(is_current=False))

    async def _reindex_identifiers(
        self, versions: Sequence[NewVersion], last_index: dict[tuple[str, str], int]
    ) -> None:
        i = resource_identifiers.c
        for resource_type, ids in _by_type(last_index).items():
            for chunk in _chunks(ids):
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


_CHUNK = 500  # bound parameters per IN list, well under SQLite's and asyncpg's limits


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK))


def _by_type(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Ids grouped by type, each once, in first-seen order (a dict as an ordered set: a list's ``in`` made
    this quadratic, 0.26 s for a 6,300-resource Bundle)."""
    grouped: dict[str, dict[str, None]] = {}
    for resource_type, resource_id in keys:
        grouped.setdefault(resource_type, {})[resource_id] = None
    return {resource_type: list(ids) for resource_type, ids in grouped.items()}


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
