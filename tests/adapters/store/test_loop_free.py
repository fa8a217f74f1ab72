"""The SQLite store never waits synchronously in the event loop (issue 21): a checkout from its in-loop
pool is preceded by an awaited asyncio slot, so 30 writers queued behind another replica's write lock hold
no connections a reader needs, and the loop goes on running."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from service.adapters.store import SqlStore

WRITERS = 30


async def test_thirty_writers_behind_another_replicas_lock_leave_the_loop_and_readers_free(
    tmp_path: Path,
) -> None:
    """While another replica holds the write lock, 30 writers wait, a ticker ticks and a reader reads; once
    the lock is free every writer gets its transaction."""
    store = SqlStore(f"sqlite:///{tmp_path / 'onco.db'}")
    await store.migrate()
    replica = sqlite3.connect(tmp_path / "onco.db", isolation_level=None)
    replica.execute("BEGIN IMMEDIATE")
    entered: list[int] = []

    async def write(n: int) -> None:
        async with store.writing(set()):
            entered.append(n)

    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    writers = [asyncio.create_task(write(n)) for n in range(WRITERS)]
    try:
        await asyncio.sleep(0.3)
        async with store.reading() as reader:  # old code: a synchronous wait for the pool, loop frozen
            assert reader is not None
        assert ticks > 0 and entered == []
        replica.rollback()
        await asyncio.gather(*writers)
        assert sorted(entered) == list(range(WRITERS))
    finally:
        ticker.cancel()
        replica.close()
        await store.close()
