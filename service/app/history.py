"""Fetch, once per patient, the history the service lacks from the EHR's FHIR server (issue 7).

A patient first seen in a post may have earlier scans, markers and medications in the EHR. Before the
first evaluation the service searches the same server the write-back goes to (by patient and code, the
searches in ``fhir_client/history.py``) and ingests what it finds as a ``collection``, stored verbatim like
any post. The fetch is recorded so it happens once; a failed fetch is logged and tried again with the
patient's next post that stores something new, and never fails the post itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import structlog

from service.adapters.fhir_in.versions import FhirVersion
from service.app.delivery_records import DeliveryError
from service.app.ingest import Endpoint, Ingest
from service.app.ports import Store

log = structlog.get_logger("service.history")


class FhirSearch(Protocol):
    async def search(self, resource_type: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every resource the search finds, across pages."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class HistoryFetch:
    store: Store
    server: FhirSearch
    ingest: Ingest
    searches: Sequence[tuple[str, dict[str, str]]]
    clock: Callable[[], datetime] = _now

    async def __call__(self, patients: Iterable[str]) -> int:
        """Fetch each patient not fetched before; the number of resources ingested."""
        total = 0
        for patient in sorted(patients):
            async with self.store.reading() as reader:
                if await reader.history_fetched(patient):
                    continue
            try:
                found = await self._search(patient)
            except DeliveryError as exc:
                log.warning("history_fetch_failed", status=exc.result.status, detail=exc.result.detail)
                continue
            except Exception:  # whatever goes wrong, the post that is being stored must not fail
                log.exception("history_fetch_crashed")
                continue
            if found:
                bundle = {
                    "resourceType": "Bundle",
                    "type": "collection",
                    "entry": [{"resource": r} for r in found],
                }
                await self.ingest(bundle, orjson.dumps(bundle), Endpoint.BUNDLE, FhirVersion.R4)
            async with self.store.writing({patient}) as writer:
                await writer.mark_history_fetched(patient, len(found), self.clock())
            log.info("history_fetched", resources=len(found))
            total += len(found)
        return total

    async def _search(self, patient: str) -> list[dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for resource_type, params in self.searches:
            for resource in await self.server.search(resource_type, {**params, "patient": patient}):
                found[(resource.get("resourceType", ""), resource.get("id", ""))] = resource
        return list(found.values())
