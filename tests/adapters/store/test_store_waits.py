"""Store waits are bounded (issue 20): a write lock held elsewhere (a patient's on PostgreSQL, the
database's on SQLite) or an exhausted pool ends the wait with an error the API answers as a 503 overload,
never a wait without end or a 500."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from service.adapters.store import SqlStore, database
from service.api.backpressure import is_overload
from tests.conftest import POSTGRES_URL, require_postgres_or_skip


async def test_the_sqlite_write_lock_held_by_another_replica_is_an_overload_after_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer gives up waiting for the database's write lock after the store wait, as 'locked'."""
    monkeypatch.setattr(database, "_STORE_WAIT_S", 0.2)
    store = SqlStore(f"sqlite:///{tmp_path / 'onco.db'}")
    other = sqlite3.connect(tmp_path / "onco.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Exception) as raised:  # noqa: PT011  # the driver's error, classified below
            async with store.writing(set()):
                pytest.fail("the block must not run without the lock")
        assert is_overload(raised.value), raised.value
    finally:
        other.execute("ROLLBACK")
        other.close()
        await store.close()


async def short_wait_store(monkeypatch: pytest.MonkeyPatch) -> SqlStore:
    """The PostgreSQL test store, waiting 1 s for a patient's lock before answering an overload."""
    monkeypatch.setattr(database, "_STORE_WAIT_S", 1)
    store = SqlStore(POSTGRES_URL)
    try:
        await store.ping()
    except OSError as exc:
        await store.close()
        require_postgres_or_skip(str(exc))
    return store


@pytest.mark.postgres
async def test_a_patient_lock_held_elsewhere_is_an_overload_after_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second writer of the same patient gives up with lock_not_available rather than wait on."""
    store = await short_wait_store(monkeypatch)
    held, done = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with store.writing({"Patient/waits"}):
            held.set()
            await done.wait()

    task = asyncio.create_task(holder())
    try:
        await held.wait()
        with pytest.raises(Exception) as raised:  # noqa: PT011  # the driver's error, classified below
            async with store.writing({"Patient/waits"}):
                pass
        assert is_overload(raised.value), raised.value
        async with store.writing({"Patient/other"}):  # another patient's writes are not held up
            pass
    finally:
        done.set()
        await task
        await store.close()


@pytest.mark.postgres
async def test_an_exhausted_pool_is_an_overload_after_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every pooled connection (5 + 10 overflow) checked out, the next checkout gives up. A reader
    checks its connection out at its first statement."""
    store = await short_wait_store(monkeypatch)
    try:
        async with AsyncExitStack() as stack:
            for _ in range(15):
                await (await stack.enter_async_context(store.reading())).submission_count()
            async with store.reading():  # reads nothing: holds no connection
                pass
            with pytest.raises(Exception) as raised:  # noqa: PT011  # SQLAlchemy's TimeoutError
                async with store.reading() as reader:
                    await reader.submission_count()
            assert is_overload(raised.value), raised.value
    finally:
        await store.close()
