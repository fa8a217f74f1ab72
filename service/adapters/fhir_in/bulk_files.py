"""The files ``oncoresponse import`` reads (issue 17): Bundles, NDJSON as FHIR Bulk Data ``$export`` writes it
(https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-request: one resource per line, one file
per type, references as ``Type/id``), and folders of either, walked recursively.

The scan reads every file once, before anything is stored, so the import knows how much there is (for its
ETA) and refuses what cannot be read at all. A Bundle file is kept as a path and posted whole later. Each
NDJSON line (and each JSON file holding one resource that is not a Bundle) is indexed by the patient it
belongs to, as its file, byte offset, length and line number packed into two integers, so that 10,000
patients' resources spread over one file per type cost megabytes, not the resources themselves.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from service.adapters.fhir_in.bundles import patient_reference
from service.errors import Issue

JSON_SUFFIXES = (".json",)
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_OFFSET_BITS = 40  # a byte offset below 1 TiB; the file's number above it
_LINE_BITS = 32  # a line number below 4 billion; the line's length above it


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A file or line that is not a FHIR resource or Bundle: refused before anything is stored."""

    source: str
    issue: Issue


@dataclass(frozen=True, slots=True)
class BundleFile:
    path: Path
    entries: int
    has_patient: bool  # shared resources (Synthea's hospital and practitioner files) are imported first


@dataclass(frozen=True, slots=True)
class LineRef:
    file_no: int
    offset: int
    length: int
    line: int  # 1-based; 0 for a JSON file holding one resource


@dataclass(slots=True)
class ResourcePool:
    """Indexed resources by patient reference (``None``: belongs to no patient), in order of first sight."""

    files: list[Path] = field(default_factory=list)
    lines_per_file: list[int] = field(default_factory=list)
    groups: dict[str | None, array[int]] = field(default_factory=dict)

    def add(self, file_no: int, offset: int, length: int, line: int, patient: str | None) -> None:
        packed = self.groups.setdefault(patient, array("Q"))
        packed.append(file_no << _OFFSET_BITS | offset)
        packed.append(length << _LINE_BITS | line)
        self.lines_per_file[file_no] += 1

    def refs(self, patient: str | None) -> Iterator[LineRef]:
        packed = self.groups[patient]
        mask_offset, mask_line = (1 << _OFFSET_BITS) - 1, (1 << _LINE_BITS) - 1
        for i in range(0, len(packed), 2):
            where, size = packed[i], packed[i + 1]
            yield LineRef(where >> _OFFSET_BITS, where & mask_offset, size >> _LINE_BITS, size & mask_line)

    def count(self, patient: str | None) -> int:
        return len(self.groups[patient]) // 2

    def label(self, ref: LineRef) -> str:
        path = str(self.files[ref.file_no])
        return f"{path}:{ref.line}" if ref.line else path


@dataclass(slots=True)
class ScanResult:
    bundles: list[BundleFile] = field(default_factory=list)
    pool: ResourcePool = field(default_factory=ResourcePool)
    unreadable: list[Unreadable] = field(default_factory=list)
    files: int = 0
    idle_files: int = 0  # files with nothing to import (empty, or refused whole)
    resources: int = 0  # Bundle entries and indexed resources


def find_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, and the ``.json`` / ``.ndjson`` files under the folders named, in a stable order;
    FileNotFoundError for a path that does not exist."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and _importable(p))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(str(path))
    return list(dict.fromkeys(found))  # a file named twice is read once


def scan(paths: Iterable[Path]) -> ScanResult:
    result = ScanResult()
    for path in find_files(paths):
        result.files += 1
        before = result.resources
        if path.suffix.lower() in NDJSON_SUFFIXES:
            _scan_ndjson(path, result)
        else:
            _scan_json(path, result)
        result.idle_files += result.resources == before
    result.bundles.sort(key=lambda b: b.has_patient)  # stable: shared first, else in file order
    return result


def _importable(path: Path) -> bool:
    return path.suffix.lower() in JSON_SUFFIXES + NDJSON_SUFFIXES and not path.name.startswith(".")


def _scan_json(path: Path, result: ScanResult) -> None:
    raw = path.read_bytes()
    content = _parse(raw, str(path), result)
    if content is None:
        return
    if content.get("resourceType") == "Bundle":
        entries = content.get("entry")
        entries = entries if isinstance(entries, list) else []
        has_patient = any(_resource_type(e) == "Patient" for e in entries)
        result.bundles.append(BundleFile(path, max(len(entries), 1), has_patient))
        result.resources += max(len(entries), 1)
        return
    file_no = _new_pool_file(path, result.pool)
    result.pool.add(file_no, 0, len(raw), 0, _patient_of(content))
    result.resources += 1


def _scan_ndjson(path: Path, result: ScanResult) -> None:
    file_no = _new_pool_file(path, result.pool)
    offset = 0
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                content = _parse(line, f"{path}:{number}", result)
                if content is not None:
                    result.pool.add(file_no, offset, len(line), number, _patient_of(content))
                    result.resources += 1
            offset += len(line)


def _new_pool_file(path: Path, pool: ResourcePool) -> int:
    pool.files.append(path)
    pool.lines_per_file.append(0)
    return len(pool.files) - 1


def _parse(raw: bytes, source: str, result: ScanResult) -> dict[str, Any] | None:
    try:
        content = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        result.unreadable.append(Unreadable(source, Issue(f"Not valid JSON: {exc}", "structure")))
        return None
    if not isinstance(content, dict) or not isinstance(content.get("resourceType"), str):
        issue = Issue("Not a FHIR resource: no resourceType", "structure", expression="resourceType")
        result.unreadable.append(Unreadable(source, issue))
        return None
    return content


def _resource_type(entry: Any) -> Any:
    resource = entry.get("resource") if isinstance(entry, dict) else None
    return resource.get("resourceType") if isinstance(resource, dict) else None


def _patient_of(resource: dict[str, Any]) -> str | None:
    if resource["resourceType"] == "Patient" and not isinstance(resource.get("id"), str):
        return None  # no id yet: the ingest gives it one (or the stored id of the same content)
    return patient_reference(resource)
