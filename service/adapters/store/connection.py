"""What the repositories need of a connection, and a synchronous SQLite connection that provides it.

Readers, writers and the outbox's in-transaction writes only ``await conn.execute(statement)`` and use the
buffered result, so they run unchanged on SQLAlchemy's ``AsyncConnection`` (PostgreSQL through asyncpg) and
on :class:`InLoop`, a plain ``sqlite3`` connection called directly in the event loop (see database.py for
why and when).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import Executable, Result
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")


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


class OnFirstUse:
    """A PostgreSQL reading connection checked out at its first statement, not before (issue 17): a reader
    that asks nothing (a Bundle with no create to match) costs no round trip. The pool does not ping a
    connection at checkout (three round trips with asyncpg: BEGIN, a query, ROLLBACK); a connection found
    dead by the first statement (the server restarted) is replaced once, which repeats nothing, as
    nothing ran on it before."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        if self._conn is not None:
            return await self._conn.execute(statement, parameters)
        return await self._first(lambda conn: conn.execute(statement, parameters))

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Result[Any]:
        if self._conn is not None:
            return await self._conn.exec_driver_sql(statement, parameters)
        return await self._first(lambda conn: conn.exec_driver_sql(statement, parameters))

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    async def _first(self, run: Callable[[AsyncConnection], Awaitable[Result[Any]]]) -> Result[Any]:
        self._conn = await self._engine.connect()
        return await first_statement(self._conn, run)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()


async def first_statement(conn: AsyncConnection, run: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """The first statement of a fresh checkout, run again on a new connection should the pooled one turn
    out dead (SQLAlchemy invalidates it and, after the rollback, reconnects)."""
    try:
        return await run(conn)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        await conn.rollback()
    return await run(conn)
