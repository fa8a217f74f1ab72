"""The Alembic migrations build exactly the tables ``tables.py`` declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import cast

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from service.adapters.store import SqlStore
from service.adapters.store.tables import metadata


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_migrations_match_the_declared_tables(database_url: str) -> None:
    """After upgrading to head, autogenerate finds nothing to add, drop or change."""
    store = SqlStore(database_url)
    try:
        await store.migrate()
        await store.migrate()  # a second run (a second replica starting) is a no-op
        async with store.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await store.close()
    assert differences == []


async def test_postgresql_stores_the_posted_bundles_and_the_resources_compressed_with_lz4(
    database_url: str,
) -> None:
    """Migration 0007: lz4 where the server has it (this machine's PostgreSQL 15 does); SQLite is at the same
    revision, unchanged."""
    store = SqlStore(database_url)
    try:
        await store.migrate()
        async with store.engine.connect() as conn:
            revision = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).scalar()
            methods: dict[str, str] | None = None
            if store.backend == "postgresql":
                rows = await conn.exec_driver_sql(
                    "SELECT attrelid::regclass::text, attcompression::text FROM pg_attribute"
                    " WHERE attname = 'content'"
                    " AND attrelid IN ('submissions'::regclass, 'resources'::regclass)"
                )
                methods = dict(cast(list[tuple[str, str]], rows.all()))
    finally:
        await store.close()
    assert revision == "0008"
    assert methods in (None, {"submissions": "l", "resources": "l"})
    assert (methods is None) is (store.backend == "sqlite")
