"""The write path of a posted Bundle, as the README tells it (issue 17): accept → store → evaluate → report →
enqueue, in one transaction and one commit.

The ingest stores what the Bundle changes and requests each changed patient's evaluation; in the same
transaction each of those patients is evaluated on what the transaction sees and its report, the
notifications and the write-back are queued, meeting the request. Once the sender has its 2xx, everything the
Bundle implies is committed with it, or still requested (a failing evaluation, recorded; a crash cannot
happen between the two any more). A patient first seen while ``ONCO_FETCH_HISTORY`` is on is the exception:
its history must be fetched from the EHR first, which cannot happen inside a transaction, so its evaluation
follows the commit; its request, made in the ingest's transaction, covers a crash in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.adapters.fhir_in.versions import FhirVersion
from service.adapters.store import Writer
from service.app.history import HistoryFetch
from service.app.ingest import Endpoint, Ingest, IngestResult
from service.app.reports import Reported, ReportWriter
from service.errors import PayloadTooLarge


@dataclass(frozen=True)
class Pipeline:
    ingest: Ingest
    reports: ReportWriter
    history: HistoryFetch | None
    max_entries: int

    async def accept(
        self, bundle: dict[str, Any], raw: bytes, endpoint: Endpoint, version: FhirVersion
    ) -> IngestResult:
        entries = bundle.get("entry")
        if isinstance(entries, list) and len(entries) > self.max_entries:
            raise PayloadTooLarge(
                f"The Bundle has {len(entries)} entries; ONCO_MAX_ENTRIES is {self.max_entries}",
                expression="Bundle.entry",
            )
        reported, in_transaction = Reported(), set[str]()

        async def report(writer: Writer, patients: set[str]) -> None:
            ready = {p for p in patients if self.history is None or await writer.history_fetched(p)}
            in_transaction.update(ready)
            done = await self.reports.report_in(writer, ready)
            reported.reports, reported.shared = done.reports, done.shared

        result = await self.ingest(bundle, raw, endpoint, version, after_write=report)
        await self.reports.after_commit(reported)
        first_seen = result.patients - in_transaction
        if first_seen and self.history is not None:  # the EHR's earlier data, before the first evaluation
            await self.history(first_seen)
            await self.reports(first_seen)
        return result
