"""Reads of stored resources, their current versions, facts, submissions and history marks, on one
connection; ``writer.Writer`` adds the writes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Select, func, select

from service.adapters.store import raw
from service.adapters.store.connection import Executes, utc
from service.adapters.store.evaluation_jobs import EvaluationJobs
from service.adapters.store.tables import history_fetches, resource_identifiers, resources, submissions

# The values of the store port, defined with it (service/app/store_records.py) and re-exported here.
from service.app.store_records import CurrentVersion as CurrentVersion
from service.app.store_records import SearchPage as SearchPage
from service.app.store_records import SearchQuery as SearchQuery
from service.app.store_records import StoredFact as StoredFact
from service.app.store_records import StoredResource as StoredResource


def resource_columns() -> Select[Any]:
    r = resources.c
    return select(r.resource_type, r.resource_id, r.version_id, r.last_updated, r.content)


def stored(row: Any) -> StoredResource:
    return StoredResource(
        row.resource_type, row.resource_id, row.version_id, utc(row.last_updated), orjson.loads(row.content)
    )


class Reader:
    def __init__(self, conn: Executes) -> None:
        self.conn = conn

    @property
    def evaluation_jobs(self) -> EvaluationJobs:
        """The reports owed (issue 17): read here; requested, claimed and completed in a write transaction."""
        return EvaluationJobs(self.conn)

    async def current(self, resource_type: str, resource_id: str) -> StoredResource | None:
        r = resources.c
        query = resource_columns().where(
            r.resource_type == resource_type, r.resource_id == resource_id, r.is_current.is_(True)
        )
        row = (await self.conn.execute(query)).first()
        return stored(row) if row else None

    async def version(self, resource_type: str, resource_id: str, version_id: int) -> StoredResource | None:
        """One version, current or earlier (vread)."""
        r = resources.c
        query = resource_columns().where(
            r.resource_type == resource_type, r.resource_id == resource_id, r.version_id == version_id
        )
        row = (await self.conn.execute(query)).first()
        return stored(row) if row else None

    async def versions(self, resource_type: str, resource_id: str) -> list[StoredResource]:
        """Every stored version of one resource, newest first (the instance history)."""
        r = resources.c
        query = (
            resource_columns()
            .where(r.resource_type == resource_type, r.resource_id == resource_id)
            .order_by(r.version_id.desc())
        )
        return [stored(row) for row in await self.conn.execute(query)]

    async def current_versions(
        self, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], CurrentVersion]:
        """The current version of each (type, id) the store has, in one prepared query."""
        grouped = by_type(keys)
        if not grouped:
            return {}
        if raw.is_sqlite(self.conn):
            pairs = [(t, i) for t, ids in grouped.items() for i in ids]
            rows = await raw.fetch(self.conn, _CURRENT_SQLITE, orjson.dumps(pairs).decode())
        else:
            types = [t for t, ids in grouped.items() for _ in ids]
            ids = [i for group in grouped.values() for i in group]
            text = _CURRENT_POSTGRES if len(ids) > raw.FEW_KEYS else _CURRENT_POSTGRES_FEW
            rows = await raw.fetch(self.conn, text, types, ids)
        return {
            (row[1], row[2]): CurrentVersion(row[0], row[3], raw.py_time(row[4]), row[5], row[6])
            for row in rows
        }

    async def current_by_hash(self, resource_type: str, sha256: str) -> StoredResource | None:
        r = resources.c
        query = resource_columns().where(
            r.resource_type == resource_type, r.content_sha256 == sha256, r.is_current.is_(True)
        )
        row = (await self.conn.execute(query.limit(1))).first()
        return stored(row) if row else None

    async def search(self, q: SearchQuery) -> tuple[int, list[StoredResource]]:
        """The total number of matches, and the first ``count`` of them in the asked order."""
        page = await self.search_page(q)
        return page.total, page.found

    async def search_page(self, q: SearchQuery) -> SearchPage:
        """One page of matches, keyset-paged on (last_updated, id) (:mod:`.search`)."""
        from service.adapters.store.search import search_page  # it builds on this module's rows

        return await search_page(self.conn, q)

    async def current_of(self, references: Iterable[str]) -> list[StoredResource]:
        """The current version of each ``Type/id`` the store holds (``_include``, :mod:`.search_includes`)."""
        from service.adapters.store.search_includes import current_of  # it builds on this module's rows

        return await current_of(self, references)

    async def referencing(
        self, source_type: str, targets: Sequence[str], owners: set[str], limit: int
    ) -> list[StoredResource]:
        """Current resources of ``source_type`` that mention a target (``_revinclude``)."""
        from service.adapters.store.search_includes import referencing  # it builds on this module's rows

        return await referencing(self, source_type, targets, owners, limit)

    async def by_identifier(self, resource_type: str, system: str, value: str) -> StoredResource | None:
        i = resource_identifiers.c
        query = select(i.resource_id).where(
            i.resource_type == resource_type, i.system == system, i.value == value
        )
        resource_id = (await self.conn.execute(query.limit(1))).scalar_one_or_none()
        return await self.current(resource_type, resource_id) if resource_id else None

    async def patient_facts(self, patient_ref: str) -> list[StoredFact]:
        rows = await raw.fetch(self.conn, _PATIENT_FACTS, patient_ref)
        return [StoredFact(row[0], row[1], row[2], orjson.loads(row[3])) for row in rows]

    async def history_fetched(self, patient_ref: str) -> bool:
        """Whether the EHR's earlier history of this patient was fetched already (ONCO_FETCH_HISTORY)."""
        h = history_fetches.c
        return (
            await self.conn.execute(select(h.patient_ref).where(h.patient_ref == patient_ref))
        ).first() is not None

    async def submission_count(self) -> int:
        count: int = (await self.conn.execute(select(func.count()).select_from(submissions))).scalar_one()
        return count


# Prepared statements of the hot paths (issue 17, raw.py), in asyncpg's parameter style.
_CURRENT_SQLITE = (  # the keys a JSON array of [type, id] pairs, each looked up in uq_resource_version
    "SELECT pk, resource_type, resource_id, version_id, last_updated, content_sha256, sender_version_id"
    " FROM json_each($1) AS k JOIN resources ON resource_type = json_extract(k.value, '$[0]')"
    " AND resource_id = json_extract(k.value, '$[1]') WHERE is_current"
)
_CURRENT_TEXT = "SELECT {columns}{current}"
_CURRENT_POSTGRES, _CURRENT_POSTGRES_FEW = (
    _CURRENT_TEXT.format(columns=raw.CURRENT_COLUMNS, current=keys.format(types=1, ids=2))
    for keys in (raw.CURRENT_BY_KEYS, raw.CURRENT_BY_FEW_KEYS)
)
_PATIENT_FACTS = (
    "SELECT patient_ref, kind, source_ref, payload FROM facts"
    " WHERE patient_ref = $1 AND is_current ORDER BY pk"
)

_CHUNK = 500  # bound parameters per IN list, well under SQLite's and asyncpg's limits


def chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK))


def by_type(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """Ids grouped by type, each once, in first-seen order (a dict as an ordered set: a list's ``in`` made
    this quadratic, 0.26 s for a 6,300-resource Bundle)."""
    grouped: dict[str, dict[str, None]] = {}
    for resource_type, resource_id in keys:
        grouped.setdefault(resource_type, {})[resource_id] = None
    return {resource_type: list(ids) for resource_type, ids in grouped.items()}
