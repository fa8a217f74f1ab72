"""What ``oncoresponse import`` posts (issue 17): the scanned files (:mod:`.bulk_files`) as Bundles of bounded
size, each ingested like a batch so that a bad resource fails alone.

- A Bundle file is posted whole and kept verbatim as the submission: a ``transaction`` as a ``batch`` of the
  same requests (POST creates, PUT updates), a ``batch`` as itself, a ``collection``, ``document`` or
  ``searchset`` as ``POST /fhir/Bundle`` would store it, a ``message`` as ``$process-message`` would.
- Indexed resources (NDJSON lines, lone resources) become ``collection`` Bundles that keep the sender's ids,
  each holding whole patients (at most ``max_patients`` of them and ``max_resources`` resources; a patient
  with more resources than that is split over several Bundles, which its ``Type/id`` references allow).

Order: what belongs to no patient first (organisations, practitioners, medications), then the patients.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from service.adapters.fhir_in.bulk_files import BundleFile, LineRef, ResourcePool, ScanResult
from service.adapters.fhir_in.versions import FhirVersion, detect_version

# Bundle.type → the endpoint (service.app.ingest.Endpoint's values) and the type it is ingested as.
_ROUTES = {
    "transaction": ("root", "batch"),
    "batch": ("root", "batch"),
    "message": ("message", "message"),
}


@dataclass(frozen=True, slots=True)
class SourceBatch:
    bundle: dict[str, Any]
    raw: bytes  # kept verbatim as the submission
    endpoint: str  # "root", "bundle" or "message"
    version: FhirVersion
    sources: list[str]  # where each entry came from: the Bundle file, or "file:line" of an NDJSON line
    pooled: bool  # entries are resources of their own: outcomes name the resource, not Bundle.entry[n]
    patients: frozenset[str]  # the patients the source grouped (pooled resources)
    files_done: int  # how many files this batch finishes


def batches(scan: ScanResult, max_patients: int, max_resources: int) -> Iterator[SourceBatch]:
    shared = [b for b in scan.bundles if not b.has_patient]
    yield from (_bundle_batch(b) for b in shared)
    pool = _PoolReader(scan.pool)
    if None in scan.pool.groups:
        yield from pool.chunks([None], max_resources)
    yield from (_bundle_batch(b) for b in scan.bundles if b.has_patient)
    group: list[str | None] = []
    size = 0
    for patient in (p for p in scan.pool.groups if p is not None):
        count = scan.pool.count(patient)
        if group and (len(group) >= max_patients or size + count > max_resources):
            yield from pool.chunks(group, max_resources)
            group, size = [], 0
        group.append(patient)
        size += count
    if group:
        yield from pool.chunks(group, max_resources)


def _bundle_batch(file: BundleFile) -> SourceBatch:
    raw = file.path.read_bytes()
    try:
        content = orjson.loads(raw)
    except orjson.JSONDecodeError:
        content = None  # changed since the scan: the ingest refuses it as not a Bundle
    bundle: dict[str, Any] = content if isinstance(content, dict) else {}
    endpoint, as_type = _ROUTES.get(str(bundle.get("type")), ("bundle", bundle.get("type")))
    if bundle:
        bundle = {**bundle, "type": as_type}
    version = detect_version(bundle)
    return SourceBatch(bundle, raw, endpoint, version, [str(file.path)], False, frozenset(), 1)


class _PoolReader:
    """Reads indexed resources back, holding a file open only while some of its lines are still to come."""

    def __init__(self, pool: ResourcePool) -> None:
        self.pool = pool
        self.remaining = list(pool.lines_per_file)
        self.open: dict[int, IO[bytes]] = {}

    def chunks(self, patients: list[str | None], max_resources: int) -> Iterator[SourceBatch]:
        refs = [ref for patient in patients for ref in self.pool.refs(patient)]
        named = frozenset(p for p in patients if p is not None)
        for start in range(0, len(refs), max_resources):
            yield self._batch(refs[start : start + max_resources], named)

    def _batch(self, refs: list[LineRef], patients: frozenset[str]) -> SourceBatch:
        lines = [self._read(ref) for ref in refs]
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": orjson.loads(line)} for line in lines],
        }
        raw = b'{"resourceType":"Bundle","type":"collection","entry":[%s]}' % b",".join(
            b'{"resource":%s}' % line for line in lines
        )
        sources = [self.pool.label(ref) for ref in refs]
        done = self._release(refs)
        return SourceBatch(bundle, raw, "bundle", detect_version(bundle), sources, True, patients, done)

    def _read(self, ref: LineRef) -> bytes:
        handle = self.open.get(ref.file_no)
        if handle is None:
            path = Path(self.pool.files[ref.file_no])
            # Kept open across batches (closed by _release once its last line is read), so no with block.
            handle = self.open[ref.file_no] = path.open("rb")
        handle.seek(ref.offset)
        return handle.read(ref.length).strip()

    def _release(self, refs: list[LineRef]) -> int:
        """Count the lines read; close, and count as done, the files none of whose lines remain."""
        done = 0
        for ref in refs:
            self.remaining[ref.file_no] -= 1
            if self.remaining[ref.file_no] == 0:
                done += 1
                handle = self.open.pop(ref.file_no, None)
                if handle is not None:
                    handle.close()
        return done
