"""The store connects to SQLite and to the real PostgreSQL from the same code."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.adapters.store import SqlStore, async_url
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
