"""What the repositories need of a connection, and a synchronous SQLite connection that provides it.

Readers, writers and the outbox's in-transaction writes only ``await conn.execute(statement)`` and use the
buffered result, so they run unchanged on SQLAlchemy's ``AsyncConnection`` (PostgreSQL through asyncpg) and
on :class:`InLoop`, a plain ``sqlite3`` connection called directly in the event loop (see database.py for
why and when).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Executable, Result
from sqlalchemy.engine import Connection, Dialect


class Executes(Protocol):
    async def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]: ...

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Result[Any]:
        """Prepared SQL in the driver's own parameter style, no statement building (:mod:`.raw`)."""

    @property
    def dialect(self) -> Dialect: ...


class InLoop:
    """A synchronous SQLite connection behind the awaitable ``execute`` the repositories call."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        return self._conn.execute(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Result[Any]:
        return self._conn.exec_driver_sql(statement, parameters)

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect


def utc(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every stored time is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
