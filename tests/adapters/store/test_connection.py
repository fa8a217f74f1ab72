"""The store connects to SQLite and to the real PostgreSQL from the same code."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.adapters.store import SqlStore, async_url, database
from tests.conftest import POSTGRES_URL, require_postgres_or_skip


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:///./var/x.db", "sqlite+aiosqlite:///./var/x.db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_async_url_picks_the_async_driver(plain: str, expected: str) -> None:
    """Deployers may write plain URLs; the async driver is filled in."""
    assert async_url(plain) == expected


async def test_sqlite_ping_and_wal(tmp_path: Path) -> None:
    """SQLite answers and runs in WAL mode (readers do not block the writer)."""
    store = SqlStore(f"sqlite:///{tmp_path / 'onco.db'}")
    try:
        await store.ping()
        async with store.engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
        assert mode == "wal"
        assert store.backend == "sqlite"
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_ping() -> None:
    """The real PostgreSQL answers through the same adapter."""
    store = SqlStore(POSTGRES_URL)
    try:
        await store.ping()
    except OSError as exc:
        require_postgres_or_skip(str(exc))
    finally:
        await store.close()
    assert store.backend == "postgresql"


async def _migrated(tmp_path: Path) -> SqlStore:
    store = SqlStore(f"sqlite:///{tmp_path / 'onco.db'}")
    await store.migrate()
    return store


async def test_sqlite_writer_waits_for_the_lock_without_stalling_the_loop(tmp_path: Path) -> None:
    """Another connection (another replica) holds the write lock: the writer sleeps and retries, other
    tasks run meanwhile, and the write lands once the lock is released."""
    store = await _migrated(tmp_path)
    other = sqlite3.connect(tmp_path / "onco.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def write() -> None:
        async with store.writing({"Patient/p"}) as writer:
            await writer.add_submission("s1", datetime.now(UTC), "bundle", "collection", "4.0", b"{}")

    ticking = asyncio.create_task(ticker())
    try:
        writing = asyncio.create_task(write())
        await asyncio.sleep(0.2)
        assert not writing.done(), "the writer must wait while another connection holds the lock"
        assert ticks >= 10, "the event loop must stay free while the writer waits"
        other.execute("ROLLBACK")
        await asyncio.wait_for(writing, 5)
        async with store.reading() as reader:
            assert await reader.submission_count() == 1
    finally:
        ticking.cancel()
        other.close()
        await store.close()


async def test_sqlite_writer_gives_up_after_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock held for longer than the busy timeout ends in SQLite's own 'database is locked' error."""
    monkeypatch.setattr(database, "_SQLITE_BUSY_TIMEOUT_S", 0.05)
    store = await _migrated(tmp_path)
    other = sqlite3.connect(tmp_path / "onco.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"):
            async with store.writing(set()):
                pytest.fail("the block must not run without the lock")
        async with store.reading() as reader:  # the connection went back to the pool with its busy timeout
            timeout = (await reader.conn.execute(text("PRAGMA busy_timeout"))).scalar()
        assert timeout == 50
    finally:
        other.execute("ROLLBACK")
        other.close()
        await store.close()


async def _submit_then_fail(store: SqlStore) -> None:
    async with store.writing(set()) as writer:
        await writer.add_submission("s1", datetime.now(UTC), "bundle", "collection", "4.0", b"{}")
        raise RuntimeError("boom")


async def test_sqlite_writer_rolls_back_on_error(tmp_path: Path) -> None:
    """An exception inside the block stores nothing and releases the lock for the next writer."""
    store = await _migrated(tmp_path)
    try:
        with pytest.raises(RuntimeError):
            await _submit_then_fail(store)
        async with store.writing(set()) as writer:
            await writer.add_submission("s2", datetime.now(UTC), "bundle", "collection", "4.0", b"{}")
        async with store.reading() as reader:
            assert await reader.submission_count() == 1
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_connections_ended_by_the_server_are_replaced_at_their_first_statement() -> None:
    """No ping at checkout: a reader's and a writer's first statement on a connection the server ended
    (a restart) runs again on a new one, and the transaction goes on as if nothing happened."""
    store, admin = SqlStore(POSTGRES_URL), SqlStore(POSTGRES_URL)
    try:
        try:
            await store.migrate()
        except OSError as exc:
            require_postgres_or_skip(str(exc))
        async with store.reading() as reader, store.writing({"Patient/a"}):  # two pooled connections
            await reader.submission_count()
        async with admin.engine.connect() as conn:
            ended = await conn.execute(text(_END_OTHER_BACKENDS))
            assert sum(1 for row in ended if row[0]) >= 2
        await asyncio.sleep(0.2)
        async with store.writing({"Patient/a"}) as writer:
            await writer.add_submission("dead-1", datetime.now(UTC), "test", None, "4.0", b"{}")
        async with store.reading() as reader:
            assert await reader.submission_count() >= 1
    finally:
        await store.close()
        await admin.close()


_END_OTHER_BACKENDS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
)
