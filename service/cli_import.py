"""``oncoresponse import PATH...`` (issue 17): Bundles, FHIR Bulk Data NDJSON and folders of either into the
store ``ONCO_DATABASE_URL`` names, through the API's ingest; see ``docs/import.md``.

Progress (files, resources, patients, rate, ETA) goes to stderr when it is a terminal; the summary table
goes to stderr always; the OperationOutcome of each refused resource or file goes to stdout (or
``--outcomes FILE``) as one JSON line, as Bulk Data's error files hold them. Exit status: 0; 1 when
anything was refused; 130 when interrupted (run the same command again to resume); 2 for a usage error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from service.app.bulk_import import BatchResult, Refusal
    from service.config import Settings


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


def import_command(
    paths: Annotated[
        list[Path], typer.Argument(help="Bundle (.json) and NDJSON (.ndjson) files, or folders")
    ],
    evaluate: Annotated[
        bool, typer.Option(help="Make the reports now; --no-evaluate leaves them to a running service")
    ] = True,
    batch_patients: Annotated[int, typer.Option(min=1, help="Most patients per NDJSON Bundle")] = 50,
    batch_resources: Annotated[
        int, typer.Option(min=1, help="Most resources per NDJSON Bundle (and ONCO_MAX_ENTRIES)")
    ] = 5000,
    outcomes: Annotated[
        Path | None, typer.Option(help="Write the refusals' OperationOutcomes here, not to stdout")
    ] = None,
) -> None:
    """Import Bundles and FHIR Bulk Data NDJSON into ONCO_DATABASE_URL's store, then evaluate the patients.
    Resumable: a re-run skips what is stored."""
    from rich.console import Console

    from service.cli import load_settings

    settings = load_settings()
    _quiet_logs(settings)
    console = Console(stderr=True)
    summary = ImportSummary()
    try:
        asyncio.run(run_import(paths, settings, summary, console, batch_patients, batch_resources, evaluate))
    except FileNotFoundError as exc:
        typer.echo(f"oncoresponse: no such file or folder: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        summary.interrupted = True
    _write_outcomes(summary.refusals, outcomes)
    print_summary(summary, console)
    raise typer.Exit(code=130 if summary.interrupted else 1 if summary.refused else 0)


async def run_import(
    paths: list[Path],
    settings: Settings,
    summary: ImportSummary,
    console: Console,
    batch_patients: int = 50,
    batch_resources: int = 5000,
    evaluate: bool = True,
) -> None:
    """Scan, then ingest batch by batch, then make the reports still owed; ``summary`` is kept up to date,
    so an interruption leaves it true to what was done."""
    from service.adapters.fhir_in.bulk_batches import batches
    from service.adapters.fhir_in.bulk_files import scan
    from service.app.bulk_import import BulkImport, Refusal
    from service.bootstrap import build

    with console.status("Reading the files…") if console.is_terminal else _nothing():
        found = scan(paths)
    summary.files, summary.resources, summary.files_done = found.files, found.resources, found.idle_files
    summary.refusals += [Refusal(u.source, 400, [u.issue]) for u in found.unreadable]
    summary.refused += len(found.unreadable)
    container = build(settings)
    try:
        await container.store.migrate()
        use = BulkImport(
            container.store, container.ingest, container.report_writer, container.history, evaluate
        )
        with _progress(console) as progress:
            task = progress.add_task(
                "Importing", total=found.resources or None, files="", patients=0, rate="0"
            )
            size = min(batch_resources, settings.max_entries)
            for batch in batches(found, batch_patients, size):
                summary.add(await use(batch), batch.files_done)
                _show(progress, task, summary)
            summary.reports += await use.finish(summary.patients)
        summary.owed = await use.owed(summary.patients)
    finally:
        await container.http.aclose()
        await container.store.close()


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


def _write_outcomes(refusals: list[Refusal], path: Path | None) -> None:
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
def _progress(console: Console) -> Iterator[Progress]:
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


def _show(progress: Progress, task: TaskID, summary: ImportSummary) -> None:
    rate = summary.handled / max(time.monotonic() - summary.started, 1e-9)
    progress.update(
        task,
        completed=summary.handled,
        files=f"{summary.files_done:,}/{summary.files:,}",
        patients=len(summary.patients),
        rate=f"{rate:,.0f}",
    )


def _quiet_logs(settings: Settings) -> None:
    """The service's log lines, but not its per-patient INFO events, which would bury the progress."""
    from service.log import configure_logging

    level = "WARNING" if settings.log_level == "INFO" else settings.log_level
    configure_logging(settings.model_copy(update={"log_level": level}))


@contextmanager
def _nothing() -> Iterator[None]:
    yield None
