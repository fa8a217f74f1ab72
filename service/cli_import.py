"""``oncoresponse import PATH...`` (issue 17): Bundles, FHIR Bulk Data NDJSON and folders of either into the
store ``ONCO_DATABASE_URL`` names, through the API's ingest; see ``docs/import.md``.

Progress (files, resources, patients, rate, ETA) goes to stderr when it is a terminal; the summary table
goes to stderr always; the OperationOutcome of each refused resource or file goes to stdout (or
``--outcomes FILE``) as one JSON line, as Bulk Data's error files hold them. Exit status: 0; 1 when
anything was refused; 130 when interrupted (run the same command again to resume); 2 for a usage error.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service import collector
from service.cli_import_view import (
    ImportSummary,
    nothing,
    print_summary,
    progress_bar,
    show,
    write_outcomes,
)

if TYPE_CHECKING:
    from rich.console import Console

    from service.adapters.fhir_in.bulk_files import ScanResult
    from service.config import Settings


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
        found = read_files(paths, summary, console)
        asyncio.run(run_import(found, settings, summary, console, batch_patients, batch_resources, evaluate))
    except FileNotFoundError as exc:
        typer.echo(f"oncoresponse: no such file or folder: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:
        summary.interrupted = True
    write_outcomes(summary.refusals, outcomes)
    print_summary(summary, console)
    raise typer.Exit(code=130 if summary.interrupted else 1 if summary.refused else 0)


def read_files(paths: list[Path], summary: ImportSummary, console: Console) -> ScanResult:
    """The scan, before the event loop starts, so that Ctrl-C stops it at once."""
    from service.adapters.fhir_in.bulk_files import scan
    from service.app.bulk_import import Refusal

    with console.status("Reading the files…") if console.is_terminal else nothing():
        found = scan(paths)
    summary.files, summary.resources, summary.files_done = found.files, found.resources, found.idle_files
    summary.refusals += [Refusal(u.source, 400, [u.issue]) for u in found.unreadable]
    summary.refused += len(found.unreadable)
    return found


async def run_import(
    found: ScanResult,
    settings: Settings,
    summary: ImportSummary,
    console: Console,
    batch_patients: int = 50,
    batch_resources: int = 5000,
    evaluate: bool = True,
) -> None:
    """Ingest batch by batch, then make the reports still owed; ``summary`` is kept up to date, so an
    interruption leaves it true to what was done. The first Ctrl-C (or SIGTERM) stops after the Bundle
    being stored; a second one stops at once (its transaction rolled back)."""
    from service.adapters.fhir_in.bulk_batches import batches
    from service.app.bulk_import import BulkImport
    from service.bootstrap import build

    container = build(settings)
    try:
        await container.store.migrate()
        collector.settle()  # a long run: the collector tuned as in the served app
        use = BulkImport(
            container.store,
            container.ingest,
            container.report_writer,
            container.history,
            evaluate,
            container.pipeline,
        )
        with progress_bar(console) as progress, stop_on_signal(console) as stop:
            task = progress.add_task("Importing", total=found.resources or None)
            show(progress, task, summary)
            size = min(batch_resources, settings.max_entries)
            for batch in batches(found, batch_patients, size):
                if stop.is_set():
                    break
                summary.add(await use(batch), batch.files_done)
                show(progress, task, summary)
            summary.interrupted = stop.is_set()
            if not summary.interrupted:
                summary.reports += await use.finish(summary.patients)
        summary.owed = await use.owed(summary.patients)
    finally:
        await container.http.aclose()
        await container.store.close()


@contextmanager
def stop_on_signal(console: Console) -> Iterator[threading.Event]:
    """Set on the first SIGINT or SIGTERM, then the defaults are back (a second one stops at once). A
    Python-level handler, not the event loop's: the SQLite store seldom yields to the loop."""
    stop = threading.Event()
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def first(signum: int, frame: object) -> None:
        stop.set()
        console.print("Stopping after the Bundle being stored (Ctrl-C again: at once)…")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    try:
        for signum in previous:
            with contextlib.suppress(ValueError):  # not the main thread (a test runner): no handler
                signal.signal(signum, first)
        yield stop
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)


def _quiet_logs(settings: Settings) -> None:
    """The service's log lines, but not its per-patient INFO events, which would bury the progress."""
    from service.log import configure_logging

    level = "WARNING" if settings.log_level == "INFO" else settings.log_level
    configure_logging(settings.model_copy(update={"log_level": level}))
