"""The ``StoredFacts`` port (``service/app/ports.py``) on the SQL store: a patient's stored fact rows,
decoded into the domain's objects here, so that the use cases never see the store's encoding (issue 17)."""

from __future__ import annotations

from collections.abc import Collection, Set

from service.adapters.store.fact_codec import decode
from service.adapters.store.fact_reads import FactReads, connection_of, grouped
from service.adapters.store.writer import Writer
from service.app.ports import Reader, Store
from service.domain.facts import Fact


class SqlStoredFacts:
    def __init__(self, store: Store) -> None:
        self._reads = FactReads(store)

    async def __call__(
        self, patient: str, within: Reader | None = None, known: Set[str] = frozenset()
    ) -> list[Fact]:
        if within is not None:  # the rows of known sources are skipped before decoding
            rows = await within.patient_facts(patient)
            return [decode(row.payload) for row in rows if row.source_ref not in known]
        # issue 19: on SQLite one prepared query without a pooled connection, its rows decoded in one pass
        return await self._reads.facts(patient)

    async def of_patients(
        self, patients: Collection[str], within: Reader | None = None, known: Set[str] = frozenset()
    ) -> dict[str, list[Fact]]:
        # issue 17: one query for a Bundle's or a worker batch's patients, the known sources' rows left in SQL
        if isinstance(within, Writer) and (rows := within.facts_as_read(patients, known)) is not None:
            return grouped(patients, rows)  # read with the transaction's first read (first_read.py)
        conn = None if within is None else connection_of(within)
        return await self._reads.facts_of(patients, known, conn)
