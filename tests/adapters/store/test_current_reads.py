"""PostgreSQL's reads of current versions by (type, id) probe the index once a pair, whatever the table's
statistics (issue 17): a plain join of the key arrays was planned as a scan of every stored resource while
a new store filled up before its first ANALYZE, and the first read of a Bundle grew with the table. (The
read riding in a batch of versions, ``version_rows._CURRENT``, is made of the same
``raw.CURRENT_BY_KEYS``.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from service.adapters.store import SqlStore
from service.adapters.store.first_read import _FIRST_READ
from service.adapters.store.repository import _CURRENT_POSTGRES
from service.adapters.store.writer import NewVersion
from tests.conftest import POSTGRES_URL, reset_postgres

pytestmark = pytest.mark.postgres


def _observation(n: int) -> NewVersion:
    content = {"resourceType": "Observation", "id": f"o{n}", "subject": {"reference": "Patient/p"}}
    return NewVersion(content, f"hash-{n}", "Patient/p", [])


async def _plan(store: SqlStore, statement: str, *parameters: object) -> str:
    async with store.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        rows = await raw.driver_connection.fetch(f"EXPLAIN {statement}", *parameters)  # type: ignore[union-attr]
    return "\n".join(row[0] for row in rows)


async def test_the_current_versions_are_read_by_index_on_a_table_never_analysed() -> None:
    await reset_postgres(POSTGRES_URL)
    store = SqlStore(POSTGRES_URL)
    try:
        await store.migrate()
        now = datetime.now(UTC)
        async with store.writing({"Patient/p"}) as writer:
            submission = str(uuid.uuid4())
            await writer.add_submission(submission, now, "bundle", "collection", "4.0", b"{}")
            await writer.write_versions([_observation(n) for n in range(3000)], submission, now)
        async with store.engine.connect() as conn:
            analysed = await conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'resources'"))
            assert analysed.scalar() == -1  # never analysed: the planner guesses its size
        types, ids = ["Observation"] * 2000, [f"o{n}" for n in range(0, 4000, 2)]
        plans = [
            await _plan(store, _CURRENT_POSTGRES, types, ids),
            await _plan(store, _FIRST_READ, types, ids, ["Patient/p"]),
        ]
    finally:
        await store.close()
    for plan in plans:
        assert "Index Scan using uq_resource_version on resources" in plan, plan
        assert "Seq Scan on resources" not in plan, plan
