"""``$evaluate``'s read of a patient's stored facts (issue 19): one prepared query and nothing around it.

Every ``$evaluate`` reads the stored facts of the patient it evaluates, and most name a patient the store
holds nothing of (the data is in the request). Through ``SqlStore.reading()`` that read took a pooled
SQLAlchemy connection, which begins and rolls back a transaction around the one statement: several times the
statement's own cost. On a SQLite file the read now runs on a plain ``sqlite3`` connection of its own, in
autocommit and read-only: each SELECT is its own read transaction, which in WAL mode sees every committed
write and never waits for a writer, so it is called directly in the event loop like the store's other
in-loop statements. On PostgreSQL (and on a store a test passes in) it is the store's own reader: one query.
The rows' JSON text goes to msgspec's decoder as it is, all rows in one call: no parse into dicts first.
"""

from __future__ import annotations

import sqlite3
import weakref

from service.adapters.store.database import SqlStore
from service.adapters.store.fact_codec import decode, decode_rows
from service.app.ports import Store
from service.domain.facts import Fact

# The same statement as ``Reader.patient_facts``, on the index ix_facts_patient (patient_ref, is_current).
_PATIENT_FACTS = "SELECT payload FROM facts WHERE patient_ref = ? AND is_current ORDER BY pk"
# A read waits for the database only in rare moments (another connection recovering the WAL index); it never
# holds the loop longer than this, and then the store's own reader is used instead.
_BUSY_TIMEOUT_S = 0.5


class FactReads:
    """The stored facts of one patient, in stored order."""

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

    def _connection(self, database: str) -> sqlite3.Connection:
        if self._sqlite is None:
            conn = sqlite3.connect(
                database, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA query_only = ON")
            weakref.finalize(self, conn.close)
            self._sqlite = conn
        return self._sqlite


def _sqlite_file(store: Store) -> str | None:
    """The store's SQLite file; None for PostgreSQL, an in-memory database (private to its own
    connections) or a store that is not the SQL store."""
    if not isinstance(store, SqlStore) or store.backend != "sqlite":
        return None
    database = store.engine.url.database
    return None if database in (None, "", ":memory:") else database
