"""What ``oncoresponse import`` shows (issue 17): the progress on a terminal, the summary table, and each
refusal as an OperationOutcome on one line. The import itself is :mod:`service.cli_import`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from service.app.bulk_import import BatchResult, Refusal


@dataclass(slots=True)
class ImportSummary:
    files: int = 0
    files_done: int = 0
    resources: int = 0  # found by the scan
    stored: int = 0
    unchanged: int = 0
    refused: int = 0
    reports: int = 0
    owed: int = 0  # reports still owed at the end (failing evaluations, or left to the workers)
    patients: set[str] = field(default_factory=set)
    refusals: list[Refusal] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    interrupted: bool = False

    def add(self, result: BatchResult, files_done: int) -> None:
        self.stored += result.stored
        self.unchanged += result.unchanged
        self.refused += len(result.refusals)
        self.reports += result.reports
        self.patients |= result.patients
        self.refusals += result.refusals
        self.files_done += files_done

    @property
    def handled(self) -> int:
        return self.stored + self.unchanged + self.refused


def print_summary(summary: ImportSummary, console: Console) -> None:
    from rich.table import Table

    seconds = time.monotonic() - summary.started
    table = Table(
        title="oncoresponse import" + (" (interrupted)" if summary.interrupted else ""), show_header=False
    )
    table.add_column("")
    table.add_column("", justify="right")
    rows = {
        "files": f"{summary.files_done:,} of {summary.files:,}",
        "resources stored": f"{summary.stored:,}",
        "resources unchanged": f"{summary.unchanged:,}",
        "refused": f"{summary.refused:,}",
        "patients": f"{len(summary.patients):,}",
        "reports written": f"{summary.reports:,}",
        "seconds": f"{seconds:,.1f}",
        "resources/s": f"{summary.handled / seconds:,.0f}" if seconds > 0 else "-",
    }
    for name, value in rows.items():
        table.add_row(name, value)
    console.print(table)
    if summary.interrupted:
        console.print("Interrupted: run the same command again to resume (what is stored is skipped).")
    if summary.owed:
        console.print(f"{summary.owed:,} reports still owed: see `oncoresponse evaluations`.")


def write_outcomes(refusals: list[Refusal], path: Path | None) -> None:
    if not refusals:
        return
    import sys

    lines = b"".join(outcome_line(refusal) + b"\n" for refusal in refusals)
    if path is None:
        sys.stdout.buffer.write(lines)
        sys.stdout.buffer.flush()
    else:
        path.write_bytes(lines)


def outcome_line(refusal: Refusal) -> bytes:
    """One refusal as an OperationOutcome on one line; each issue's diagnostics name the file (and line)."""
    import dataclasses

    import orjson

    from service.adapters.fhir_out.outcome import operation_outcome

    issues = [
        dataclasses.replace(i, diagnostics=f"{refusal.source}: {i.diagnostics}") for i in refusal.issues
    ]
    return orjson.dumps(operation_outcome(issues))


@contextmanager
def progress_bar(console: Console) -> Iterator[Progress]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} resources"),
        TextColumn("{task.fields[files]} files"),
        TextColumn("{task.fields[patients]:,} patients"),
        TextColumn("{task.fields[rate]}/s"),
        TimeRemainingColumn(),
    )
    progress = Progress(*columns, console=console, disable=not console.is_terminal, transient=False)
    with progress:
        yield progress


def show(progress: Progress, task: TaskID, summary: ImportSummary) -> None:
    rate = summary.handled / max(time.monotonic() - summary.started, 1e-9)
    progress.update(
        task,
        completed=summary.handled,
        files=f"{summary.files_done:,}/{summary.files:,}",
        patients=len(summary.patients),
        rate=f"{rate:,.0f}",
    )


@contextmanager
def nothing() -> Iterator[None]:
    yield None
