"""Fixtures the use-case tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.bootstrap import Container, build
from service.config import Settings


@pytest.fixture
async def container(database_url: str) -> AsyncIterator[Container]:
    """The service wired on a migrated store (SQLite, and PostgreSQL where the database_url fixture gives
    it), without the background workers."""
    built = build(Settings(database_url=database_url, delivery_worker=False))
    await built.store.migrate()
    yield built
    await built.http.aclose()
    await built.store.close()
