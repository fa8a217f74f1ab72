"""Bring the schema to the latest migration. Run at start-up; safe to run from several replicas at once
on PostgreSQL (an advisory lock makes them take turns)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any fixed number: the key of the PostgreSQL advisory lock held while migrating.
_MIGRATION_LOCK_KEY = 0x0C0_2E5


async def upgrade_to_head(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if engine.url.get_backend_name() == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        await conn.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    # Alembic (and Mako under it) takes about a second to import here; only migrating needs it.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
