"""PostgreSQL: a write transaction holds the advisory lock of each of its patients (issue 17: taken by one
statement in sorted order, not one statement per patient), until it ends."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from service.adapters.store import SqlStore
from service.api.backpressure import is_overload
from tests.adapters.store.test_store_waits import short_wait_store

_PATIENTS = {"Patient/locks-c", "Patient/locks-a", "Patient/locks-b"}
_HELD = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = :pid"
    " AND ((classid::bigint << 32) | objid::bigint) = ANY("
    "   SELECT hashtextextended(ref, 0) FROM unnest(CAST(:refs AS text[])) AS ref)"
)


async def _held(store: SqlStore, pid: int) -> int:
    async with store.engine.connect() as conn:
        refs = sorted(_PATIENTS)
        return int((await conn.execute(_HELD, {"pid": pid, "refs": refs})).scalar_one())


@pytest.mark.postgres
async def test_a_write_holds_every_patients_lock_until_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    store = await short_wait_store(monkeypatch)
    try:
        async with store.writing(set(_PATIENTS)) as writer:
            pid = int((await writer.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
            assert await _held(store, pid) == len(_PATIENTS)
        assert await _held(store, pid) == 0
    finally:
        await store.close()


@pytest.mark.postgres
async def test_each_patient_of_a_batch_is_locked_not_only_the_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer of the last patient in sorted order waits for the batch's transaction (and gives up as an
    overload after the bound); a patient outside the batch does not wait."""
    store = await short_wait_store(monkeypatch)
    held, done = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with store.writing(set(_PATIENTS)):
            held.set()
            await done.wait()

    task = asyncio.create_task(holder())
    try:
        await held.wait()
        with pytest.raises(Exception) as raised:  # noqa: PT011  # the driver's error, classified below
            async with store.writing({max(_PATIENTS), "Patient/locks-0"}):
                pass
        assert is_overload(raised.value), raised.value
        async with store.writing({"Patient/locks-0"}):
            pass
    finally:
        done.set()
        await task
        await store.close()
