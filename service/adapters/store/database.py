"""The SQL store's connections: SQLite (embedded default) or PostgreSQL, from one URL.

Writes for one patient are serialised so two replicas cannot interleave a timeline: on PostgreSQL by a
transaction-scoped advisory lock per patient, on SQLite by taking the database's write lock at BEGIN
(``BEGIN IMMEDIATE``) on a separate writer engine, so readers in WAL mode are not blocked.

On SQLite the use cases' reads (``reading()``) and writes (``writing()``) run on plain ``sqlite3``
connections called directly in the event loop, not through aiosqlite, whose hop to its thread and back for
every statement cost more than the statements (an empty patient's facts: 1.1 ms through aiosqlite, 0.16 ms
in the loop). This is safe because nothing in them waits: in WAL mode a reader never waits for a writer,
and a writer takes the database's write lock with ``BEGIN IMMEDIATE`` under a zero busy timeout, sleeping
(``asyncio.sleep``, the loop stays free) and retrying while another connection or replica holds it, for
up to 10 s. Once it holds the lock its statements cannot be blocked. The delivery worker's outbox and the
migrations stay on aiosqlite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service.adapters.store.connection import InLoop, OnFirstUse, first_statement
from service.adapters.store.migrate import upgrade_to_head
from service.adapters.store.outbox import Outbox
from service.adapters.store.repository import Reader
from service.adapters.store.writer import Writer

# The async driver for each plain URL scheme a deployer may write.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}
_SQLITE_BUSY_TIMEOUT_S = 30
# The in-loop SQLite pool and the asyncio slots in front of it (issue 21): a checkout from a full pool would
# wait synchronously, freezing the loop, and the connections it waits for belong to coroutines that need
# the loop to give them back. So each use first takes an asyncio slot, awaited; the slots never outnumber
# the pool's connections. One slot for writers (SQLite has one write lock: the others wait here, holding
# no connection), the rest for readers, which a queue of writers can therefore never starve.
_IN_LOOP_POOL_SIZE, _IN_LOOP_OVERFLOW = 5, 10
_IN_LOOP_WRITERS = 1
# The longest wait for a pooled connection and a patient's write lock (PostgreSQL), or for the database's
# write lock (SQLite, in the loop) (issue 20); past it the store is busy, answered 503 with Retry-After
# (service/api/backpressure.py), well within a sender's timeout.
_STORE_WAIT_S = 10
# Each patient's transaction-scoped advisory lock, in the array's order (the lock function is volatile, so
# PostgreSQL calls it after any sort by position; a function scan yields an array in order anyway), under
# the transaction's lock_timeout ($2), set in the same round trip: ``set_config(..., true)`` is ``SET
# LOCAL``, and it runs in the materialised CTE, which the join has read before it emits the first row whose
# lock is taken.
_LOCK_PATIENTS = (
    "WITH timeout AS MATERIALIZED (SELECT set_config('lock_timeout', $2, true))"
    " SELECT pg_advisory_xact_lock(hashtextextended(k.ref, 0))"
    " FROM timeout, unnest($1::text[]) WITH ORDINALITY AS k(ref, n) ORDER BY k.n"
)


def async_url(url: str) -> str:
    """``postgresql://…`` → ``postgresql+asyncpg://…``; an explicit driver is kept as written."""
    scheme, sep, rest = url.partition("://")
    return f"{_ASYNC_DRIVERS.get(scheme, scheme)}{sep}{rest}"


class SqlStore:
    def __init__(self, database_url: str) -> None:
        url = make_url(async_url(database_url))
        if url.get_backend_name() == "sqlite":
            _make_parent_dir(url)
            self.engine = _sqlite_engine(url, immediate=False)
            self._writer = _sqlite_engine(url, immediate=True)
            self._in_loop: Engine | None = create_engine(
                url.set(drivername="sqlite"),
                connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S},
                **_in_loop_pool(url),
            )
            event.listen(self._in_loop, "connect", _sqlite_pragmas)
        else:
            # No ping at checkout: a dead connection is replaced at its first statement (OnFirstUse).
            self.engine = create_async_engine(url, pool_timeout=_STORE_WAIT_S)
            self._writer = self.engine
            self._in_loop = None
        self._write_slots = asyncio.Semaphore(_IN_LOOP_WRITERS)
        self._read_slots = asyncio.Semaphore(_IN_LOOP_POOL_SIZE + _IN_LOOP_OVERFLOW - _IN_LOOP_WRITERS)

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def migrate(self) -> None:
        await upgrade_to_head(self._writer)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Reader]:
        if self._in_loop is not None:
            async with self._read_slots, self._checkout() as conn:
                yield Reader(InLoop(conn))
            return
        lazy = OnFirstUse(self.engine)
        try:
            yield Reader(lazy)
        finally:
            await lazy.close()

    @asynccontextmanager
    async def writing(self, patient_refs: set[str]) -> AsyncIterator[Writer]:
        """One database transaction holding the write lock of each patient: all of it lands or none."""
        if self._in_loop is not None:
            async with self._write_slots, self._checkout() as conn:
                await _begin_immediate_without_blocking(conn)
                try:
                    writer = Writer(InLoop(conn))
                    yield writer
                    await writer.flush()
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            return
        async with self._writer.connect() as conn:
            await first_statement(conn, lambda c: self._lock_patients(c, patient_refs))
            writer = Writer(conn, patient_refs)
            try:
                yield writer
                await writer.flush()
            except BaseException:
                await writer.quiesce()  # a batch sent ahead answered, so leaving the block can roll back
                raise
            await conn.commit()  # on an exception, leaving the block rolls back

    @asynccontextmanager
    async def _checkout(self) -> AsyncIterator[Connection]:
        """An in-loop connection; the caller holds a slot, so the pool has one idle or room to open one."""
        assert self._in_loop is not None
        with self._in_loop.connect() as conn:
            yield conn

    def outbox(self) -> Outbox:
        """The delivery worker's view of the outbox, on the same engines."""
        return Outbox(self.engine, self._writer)

    async def _lock_patients(self, conn: AsyncConnection, patient_refs: set[str]) -> None:
        """PostgreSQL only: on SQLite, BEGIN IMMEDIATE already holds the database's single write lock. The
        transaction's first statement, also with no patient (it sets the lock timeout), so a dead pooled
        connection is found and replaced here, before anything ran on it (``first_statement``)."""
        # One order everywhere, so two writers cannot deadlock: the refs sorted here and taken in that order
        # by one statement (issue 17: one round trip for a Bundle's 40 patients, not 41). A lock wait past
        # the bound is SQLSTATE 55P03, an overload.
        await conn.exec_driver_sql(_LOCK_PATIENTS, (sorted(patient_refs), f"{_STORE_WAIT_S}s"))

    async def close(self) -> None:
        if self._in_loop is not None:
            self._in_loop.dispose()
        await self.engine.dispose()
        if self._writer is not self.engine:
            await self._writer.dispose()


async def _begin_immediate_without_blocking(conn: Connection) -> None:
    """``BEGIN IMMEDIATE`` without a busy wait in the loop: while the lock is held elsewhere, sleep and retry
    (1 ms doubling to 8 ms: a try costs microseconds, and a longer sleep would idle past another process's
    commit, such as ``oncoresponse worker``'s) for up to the store wait (or a shorter busy timeout); then
    give up with SQLite's own error (an overload: 503)."""
    conn.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        delay, waited = 0.001, 0.0
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                conn.rollback()
                if "locked" not in str(exc.orig) or waited >= min(_SQLITE_BUSY_TIMEOUT_S, _STORE_WAIT_S):
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.008)
    finally:  # also when giving up or cancelled: the pooled connection goes back to readers with it
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(_SQLITE_BUSY_TIMEOUT_S * 1000)}")


def _in_loop_pool(url: URL) -> dict[str, int]:
    """A file's pool, sized to the slots; ``:memory:`` keeps SQLAlchemy's one connection per thread."""
    if url.database in (None, "", ":memory:"):
        return {}
    return {"pool_size": _IN_LOOP_POOL_SIZE, "max_overflow": _IN_LOOP_OVERFLOW}


def _make_parent_dir(url: URL) -> None:
    if url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: URL, *, immediate: bool) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S})
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    if immediate:
        event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # Let SQLAlchemy, not the driver, issue BEGIN, so the writer can make it IMMEDIATE (SQLAlchemy docs,
    # "Serializable isolation / Savepoints / Transactional DDL" for pysqlite and aiosqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers go on while one writer writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")
