"""``$evaluate``'s read of a patient's stored facts (issue 19): one prepared query and nothing around it.

Every ``$evaluate`` reads the stored facts of the patient it evaluates, and most name a patient the store
holds nothing of (the data is in the request). Through ``SqlStore.reading()`` that read took a pooled
SQLAlchemy connection, which begins and rolls back a transaction around the one statement: several times the
statement's own cost. On a SQLite file the read now runs on a plain ``sqlite3`` connection of its own, in
autocommit and read-only: each SELECT is its own read transaction, which in WAL mode sees every committed
write and never waits for a writer, so it is called directly in the event loop like the store's other
in-loop statements. On PostgreSQL (and on a store a test passes in) it is the store's own reader: one query.
The rows' JSON text goes to msgspec's decoder as it is, all rows in one call: no parse into dicts first.

The write path and the evaluation worker read several patients' facts at once (issue 17, ``facts_of``): one
query for a Bundle's 40 patients or a worker's batch, not one each; the rows of the sources the ingest has
just written (and hands over in memory) are left out by the query itself, so they are neither sent nor
decoded.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Collection, Sequence
from typing import Any

from service.adapters.store import raw
from service.adapters.store.connection import Executes
from service.adapters.store.database import SqlStore
from service.adapters.store.fact_codec import decode, decode_rows
from service.adapters.store.repository import Reader
from service.app.ports import Store
from service.domain.facts import Fact

# The same statement as ``Reader.patient_facts``, on the index ix_facts_patient (patient_ref, is_current).
_PATIENT_FACTS = "SELECT payload FROM facts WHERE patient_ref = ? AND is_current ORDER BY pk"
# Several patients' facts in one statement (issue 17), without the rows of sources the caller holds already:
# a hashed anti-join on PostgreSQL (``<> ALL($2)`` compares each row with every element under a generic plan,
# 17 ms for a 40-patient Bundle's 1,680 sources), an index of the list on SQLite.
_FACTS_OF_POSTGRES = (
    "SELECT patient_ref, payload FROM facts WHERE patient_ref = ANY($1::text[]) AND is_current"
    " AND source_ref NOT IN (SELECT unnest($2::text[])) ORDER BY pk"
)
_FACTS_OF_SQLITE = (
    "SELECT patient_ref, payload FROM facts WHERE patient_ref = ANY($1::text[]) AND is_current"
    " AND source_ref NOT IN (SELECT value FROM json_each($2)) ORDER BY pk"
)
# A read waits for the database only in rare moments (another connection recovering the WAL index); it never
# holds the loop longer than this, and then the store's own reader is used instead.
_BUSY_TIMEOUT_S = 0.5


class FactReads:
    """The stored facts of one patient, or of several in one query, in stored order."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._sqlite: sqlite3.Connection | None = None
        self._own = _sqlite_file(store)  # opened at the first read: the store has migrated the file by then

    async def facts(self, patient: str) -> list[Fact]:
        if self._own is not None:
            try:
                rows = self._connection(self._own).execute(_PATIENT_FACTS, (patient,)).fetchall()
            except sqlite3.OperationalError:  # busy, or the file went away: the store's reader decides
                pass
            else:
                return decode_rows([row[0] for row in rows])
        async with self.store.reading() as reader:
            return [decode(row.payload) for row in await reader.patient_facts(patient)]

    async def facts_of(
        self, patients: Collection[str], skip: Collection[str], conn: Executes | None = None
    ) -> dict[str, list[Fact]]:
        """The stored facts of each patient, in stored order, from one query on ``conn`` (the caller's
        transaction) or else on a reading connection of the store; facts of the ``skip`` sources left out."""
        if not patients:
            return {}
        if conn is None:
            async with self.store.reading() as reader:
                return await self.facts_of(patients, skip, connection_of(reader))
        args = raw.array(conn, sorted(patients)), raw.array(conn, sorted(skip))
        rows = await raw.fetch(conn, _FACTS_OF_SQLITE if raw.is_sqlite(conn) else _FACTS_OF_POSTGRES, *args)
        return grouped(patients, rows)

    def _connection(self, database: str) -> sqlite3.Connection:
        if self._sqlite is None:
            conn = sqlite3.connect(
                database, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA query_only = ON")
            weakref.finalize(self, conn.close)
            self._sqlite = conn
        return self._sqlite


def grouped(patients: Collection[str], rows: Sequence[Any]) -> dict[str, list[Fact]]:
    """Rows of (patient, payload) decoded in one pass, by patient (an empty list for one with none)."""
    found: dict[str, list[Fact]] = {patient: [] for patient in patients}
    for row, fact in zip(rows, decode_rows([row[1] for row in rows]), strict=True):
        found[row[0]].append(fact)
    return found


def connection_of(reader: object) -> Executes:
    """The connection of one of the SQL store's readers or writers (the port's Reader names none)."""
    if not isinstance(reader, Reader):
        raise TypeError(f"not a reader of the SQL store: {type(reader).__name__}")
    return reader.conn


def _sqlite_file(store: Store) -> str | None:
    """The store's SQLite file; None for PostgreSQL, an in-memory database (private to its own
    connections) or a store that is not the SQL store."""
    if not isinstance(store, SqlStore) or store.backend != "sqlite":
        return None
    database = store.engine.url.database
    return None if database in (None, "", ":memory:") else database
