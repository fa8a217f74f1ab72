"""A PostgreSQL write transaction's connection that owes its last batch of versions to its next statement
(issue 17): the batch goes in with that statement, in one round trip for both, when the statement can ride
in the batch's (the current versions read for the report after an ingest, the report versions recorded
before the report's resources are written); any other statement is preceded by the batch, as it would have
been. The database so runs the same writes in the same order, only later, and never a statement before a
write it follows.

A batch can also be sent ahead (:meth:`Owed.send_ahead`) when the caller has work of its own to do before its
next statement (the pipeline evaluating the patients the ingest changed): the database then stores the
batch on its own core while the service computes, and the next statement waits for the batch's answer
first, so the order is the same. Nothing then rides in that batch.

A batch that fails is failed for the rest of the transaction: every later statement raises its error (the
transaction is aborted anyway), so a caller that catches errors of its own (a failed evaluation is
recorded, not raised) cannot make the batch's error look like another.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Executable, Result
from sqlalchemy.engine import Dialect

from service.adapters.store import raw
from service.adapters.store.connection import Executes
from service.adapters.store.evaluation_jobs import RECORD_VERSIONS
from service.adapters.store.version_rows import columns, write_batch


class Owed:
    def __init__(self, conn: Executes) -> None:
        self.raw = conn
        self.batch: tuple[Any, ...] | None = None  # the parameters of ``WRITE_BATCH``
        self._written: frozenset[tuple[str, str]] = frozenset()  # the (type, id) of its versions
        self._recorded: dict[str, tuple[Any, ...]] = {}  # report versions, by patient: the last one wins
        self._failed: BaseException | None = None
        self._ahead: asyncio.Task[Sequence[Any] | None] | None = None  # a batch sent, its answer not read

    @property
    def dialect(self) -> Dialect:
        return self.raw.dialect

    async def execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        await self.settle()
        return await self.raw.execute(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Result[Any]:
        await self.settle()
        return await self.raw.exec_driver_sql(statement, parameters)

    async def owe_batch(self, parameters: tuple[Any, ...], written: frozenset[tuple[str, str]]) -> None:
        """``written``: the (type, id) of the batch's versions."""
        if self.batch is not None:  # an earlier batch first: one owed at a time
            await self.settle()
        self.batch, self._written = parameters, written  # the report versions owed go in with it

    def owe_report_versions(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """(patient, knowledge version, rules version, outcome, time) rows, sent with the next batch."""
        self._recorded.update((row[0], row) for row in rows)

    async def send_ahead(self) -> None:
        """Send the batch owed now, without waiting for its answer (which the next statement waits for)."""
        if self.batch is None and not self._recorded:
            return
        await self._answered()
        self._ahead = asyncio.ensure_future(self._send(*self._take(), None))
        await asyncio.sleep(0)  # the task writes the statement to the socket before the caller computes

    async def quiesce(self) -> None:
        """Wait for a batch sent ahead, its error kept for the next statement: before a rollback, which
        cannot run while the connection is busy with a statement."""
        with contextlib.suppress(BaseException):
            await self._answered()

    async def _answered(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            await ahead

    async def settle(self, read: tuple[list[str], list[str]] | None = None) -> Sequence[Any] | None:
        """Send what is owed, with ``read`` (the types and ids of current versions to read) riding in the
        batch; the read's rows, or None when there was no batch to ride in (then nothing was read)."""
        await self._answered()
        return await self._send(*self._take(), read)

    def _take(self) -> tuple[tuple[Any, ...] | None, list[tuple[Any, ...]]]:
        """What is owed, no longer owed."""
        batch, recorded = self.batch, sorted(self._recorded.values())
        self.batch, self._recorded = None, {}
        return batch, recorded

    async def _send(
        self,
        batch: tuple[Any, ...] | None,
        recorded: list[tuple[Any, ...]],
        read: tuple[list[str], list[str]] | None,
    ) -> Sequence[Any] | None:
        if self._failed is not None:
            raise self._failed
        try:
            if batch is None:
                await raw.execute_many(self.raw, RECORD_VERSIONS, recorded)
                return None
            parameters = [*batch, *(columns(recorded, 5) if recorded else ()), *self._split(read)]
            text = write_batch(bool(recorded), read is not None)
            result = await self.raw.exec_driver_sql(text, tuple(parameters))
            return result.all() if read is not None else None
        except BaseException as exc:
            self._failed = exc
            raise

    def _split(self, read: tuple[list[str], list[str]] | None) -> list[list[str]]:
        """The keys read as (types, ids) of those the batch does not write, then of those it writes."""
        if read is None:
            return []
        keys = list(zip(*read, strict=True))
        before, after = [k for k in keys if k not in self._written], [k for k in keys if k in self._written]
        return [*columns(before, 2), *columns(after, 2)]
