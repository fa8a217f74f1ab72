"""$evaluate's read of a patient's stored facts (issue 19): the store reader's payloads decoded, one query
on a connection of its own for a SQLite file, the store's reader for any other store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson

from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.store.fact_codec import decode
from service.adapters.store.fact_reads import FactReads
from service.app.ingest import Endpoint
from service.bootstrap import build
from service.config import Settings
from tests.conftest import SHARED

T790M = SHARED / "examples" / "seed-t790m-progression.json"


async def _ingest(container: Any, raw: bytes) -> None:
    await container.ingest(orjson.loads(raw), raw, Endpoint.BUNDLE, FhirVersion.R4)


async def test_sqlite_file_reads_what_the_store_reader_reads(tmp_path: Path) -> None:
    """On a SQLite file: the stored patient's facts are the store reader's payloads decoded, in order;
    nothing for a patient with no data; a write committed after the first read is seen by the next."""
    container = build(Settings(database_url=f"sqlite:///{tmp_path / 'onco.db'}"))
    await container.store.migrate()
    try:
        reads = FactReads(container.store)
        assert await reads.facts("Patient/p-e2") == []  # the first read opens the connection
        await _ingest(container, T790M.read_bytes())
        async with container.store.reading() as reader:
            expected = [row.payload for row in await reader.patient_facts("Patient/p-e2")]
        assert expected and await reads.facts("Patient/p-e2") == [decode(payload) for payload in expected]
        assert await reads.facts("Patient/nobody") == []
        assert reads._sqlite is not None  # its own connection, not the store's pool
    finally:
        await container.http.aclose()
        await container.store.close()


_TUMOUR_FRACTION = {"kind": "TumourFractionResult", "source": "Observation/tf", "fraction": "0.1",
                    "observed_on": "2026-01-05", "observed_at": None}  # fmt: skip


class _FakeReader:
    async def patient_facts(self, patient: str) -> list[Any]:
        return [type("Row", (), {"payload": {**_TUMOUR_FRACTION, "patient": patient}})()]


class _FakeStore:
    backend = "fake"

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[_FakeReader]:
        yield _FakeReader()


async def test_any_other_store_is_read_through_its_reader() -> None:
    """A store that is not a SQLite file (PostgreSQL, a test's fake) is read through its own reader."""
    reads = FactReads(_FakeStore())  # type: ignore[arg-type]
    fact = await reads.facts("Patient/a")
    assert fact == [decode({**_TUMOUR_FRACTION, "patient": "Patient/a"})] and fact[0].patient == "Patient/a"
    assert reads._sqlite is None


async def test_several_patients_facts_in_one_read_as_each_alone(database_url: str) -> None:
    """Issue 17: ``facts_of`` answers for each patient what the one-patient read answers, in stored order,
    an empty list for a patient with none, and leaves out exactly the rows of the ``skip`` sources, in a
    transaction (which sees its own writes) and outside one."""
    container = build(Settings(database_url=database_url))
    await container.store.migrate()
    try:
        reads = FactReads(container.store)
        await _ingest(container, T790M.read_bytes())
        patients = ["Patient/p-e2", "Patient/nobody"]
        async with container.store.reading() as reader:
            alone = {p: [decode(row.payload) for row in await reader.patient_facts(p)] for p in patients}
        assert alone["Patient/p-e2"] and alone["Patient/nobody"] == []
        assert await reads.facts_of(patients, ()) == alone
        sources = sorted({fact.source for fact in alone["Patient/p-e2"]})
        skip = set(sources[::2])
        kept = [fact for fact in alone["Patient/p-e2"] if fact.source not in skip]
        async with container.store.writing(set(patients)) as writer:
            within = await reads.facts_of(patients, skip, writer.conn)
        assert within == {"Patient/p-e2": kept, "Patient/nobody": []}
        assert kept != alone["Patient/p-e2"]
        assert await reads.facts_of([], skip) == {}
    finally:
        await container.http.aclose()
        await container.store.close()
