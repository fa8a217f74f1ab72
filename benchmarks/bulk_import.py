"""Bulk import cost (issue 17): ``oncoresponse import`` of N synthetic patients written as FHIR Bulk Data
NDJSON (one file per resource type), into a fresh SQLite file, with every patient's report; then the same
import again, which finds everything stored and writes nothing (the resume path).

Measured in process through :func:`service.cli_import.run_import`, what the command runs after reading its
settings. ``report()`` returns Markdown lines like the other benchmark modules; the lead wires it into
``benchmarks/__main__.py``.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from benchmarks.synthetic import collection
from service.cli_import import read_files, run_import
from service.cli_import_view import ImportSummary
from service.config import Settings

TIME_POINTS = 6  # 63 resources per patient


def write_ndjson(folder: Path, patients: int, time_points: int = TIME_POINTS, prefix: str = "bench") -> int:
    """``patients`` synthetic patients as ``Type.ndjson`` files in ``folder``, as ``$export`` writes them;
    the number of resources. Made a thousand patients at a time, so memory stays bounded."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    count = 0
    try:
        for start in range(0, patients, 1000):
            by_type: dict[str, list[bytes]] = defaultdict(list)
            for entry in collection(min(1000, patients - start), time_points)["entry"]:
                raw = orjson.dumps(entry["resource"]).replace(b"bench-", f"{prefix}{start}-".encode())
                by_type[entry["resource"]["resourceType"]].append(raw)
            for kind, lines in by_type.items():
                if kind not in files:
                    files[kind] = (folder / f"{kind}.ndjson").open("wb")
                files[kind].write(b"\n".join(lines) + b"\n")
                count += len(lines)
    finally:
        for file in files.values():
            file.close()
    return count


@dataclass(frozen=True)
class ImportRun:
    seconds: float
    summary: ImportSummary

    @property
    def rate(self) -> float:
        return self.summary.handled / self.seconds


def import_once(folder: Path, database_url: str, evaluate: bool = True) -> ImportRun:
    settings = Settings(database_url=database_url, delivery_worker=False)
    summary = ImportSummary()
    quiet = Console(file=io.StringIO(), force_terminal=False)
    started = time.perf_counter()
    found = read_files([folder], summary, quiet)
    asyncio.run(run_import(found, settings, summary, quiet, evaluate=evaluate))
    return ImportRun(time.perf_counter() - started, summary)


def measure(patients: int = 10_000) -> tuple[int, ImportRun, ImportRun]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        resources = write_ndjson(folder, patients)
        url = f"sqlite:///{tmp}/import.db"
        first = import_once(folder, url)
        again = import_once(folder, url)
    return resources, first, again


def report(patients: int = 10_000) -> list[str]:
    resources, first, again = measure(patients)
    return [
        "## Bulk import (issue 17)",
        "",
        f"`oncoresponse import` of {patients:,} synthetic patients ({resources:,} resources) written as",
        "Bulk Data NDJSON (one file per type), into a fresh SQLite file, in Bundles of 50 patients, each",
        "patient evaluated and its report stored; then the same command again, which finds everything",
        "stored.",
        "",
        "| run | seconds | resources/s | stored | unchanged | refused | patients | reports |",
        "|---|---|---|---|---|---|---|---|",
        _row("first import", first),
        _row("re-run (resume)", again),
    ]


def _row(name: str, run: ImportRun) -> str:
    s = run.summary
    return (
        f"| {name} | {run.seconds:.1f} | {run.rate:,.0f} | {s.stored:,} | {s.unchanged:,} | {s.refused:,} "
        f"| {len(s.patients):,} | {s.reports:,} |"
    )
