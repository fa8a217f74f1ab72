"""The Alembic migrations build exactly the tables ``tables.py`` declares, on SQLite and PostgreSQL."""

from __future__ import annotations

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
