"""``oncoresponse evaluations`` and ``oncoresponse reevaluate`` (issue 17): the operator's view of the reports
owed, and a way to owe them again.

A request stays until its report is stored, so a failing evaluation is listed here (with its attempts and
the error's class, never a message: it may hold patient data) until the cause is fixed; the workers of every
running replica retry it. ``reevaluate`` requests the evaluation of the patients named, of every patient
(``--all``), or of those last evaluated with another knowledge-base or rules version than the mappings hold
now (``--stale``, what every replica also requests when its worker starts); the workers evaluate them in
batches, each patient once, and only a report whose result changed is amended. ``--here`` evaluates them in
this process as well (beside any running replica), ``--wait`` follows the replicas; both show the progress
(rich, on stderr) and end with a summary. Exit status 1 when some evaluations are failing at the end.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from service import collector
from service.cli_outbox import tsv_row

if TYPE_CHECKING:
    from rich.console import Console

    from service.app.ports import Store
    from service.app.report_versions import Versions
    from service.config import Settings

_FOLLOW_POLL_SECONDS = 1.0


async def list_evaluations(database_url: str) -> list[str]:
    from service.adapters.store import SqlStore

    store = SqlStore(database_url)
    try:
        async with store.reading() as reader:
            jobs = await reader.evaluation_jobs.all()
    finally:
        await store.close()
    header = "patient\tgeneration\trequested_at\tdue_at\tattempts\tlast_error\treason"
    return [header] + [
        tsv_row(
            j.patient_ref,
            j.generation,
            j.requested_at.isoformat(),
            j.due_at.isoformat(),
            j.attempts,
            j.last_error,
            j.reason,
        )
        for j in jobs
    ]


async def request_evaluations(database_url: str, patients: Sequence[str]) -> int:
    """Owe a report for each patient named, or for every patient with stored facts when none is named."""
    from service.adapters.store import SqlStore

    store = SqlStore(database_url)
    try:
        await store.migrate()
        return len(await _request(store, list(patients), stale=None))
    finally:
        await store.close()


def reevaluate_command(
    patients: Annotated[list[str] | None, typer.Argument(help="Patient references (Patient/x)")] = None,
    everyone: Annotated[
        bool, typer.Option("--all", help="Every stored patient (also: no patient named)")
    ] = False,
    stale: Annotated[
        bool, typer.Option("--stale", help="The patients last evaluated with another knowledge-base version")
    ] = False,
    here: Annotated[
        bool, typer.Option("--here", help="Evaluate them in this process too, until done")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the running replicas until they are done")
    ] = False,
) -> None:
    """Request the evaluation of these patients (or all, or the stale ones); the running workers (and, with
    --here, this process) make the reports, amending only those whose result changed."""
    from rich.console import Console

    from service.cli import load_settings

    if sum((bool(patients), everyone, stale)) > 1:
        raise typer.BadParameter("name patients, or --all, or --stale: one of them")
    console = Console(stderr=True)
    failing = asyncio.run(_reevaluate(load_settings(), patients or [], stale, here, wait, console))
    raise typer.Exit(1 if failing else 0)


async def _reevaluate(
    settings: Settings, patients: list[str], stale: bool, here: bool, wait: bool, console: Console
) -> int:
    """Request, then (``here`` / ``wait``) follow until nothing requested is owed but what is failing."""
    from service.bootstrap import build

    container = build(settings)
    store = container.store
    try:
        await store.migrate()
        collector.settle()  # a long run: the collector tuned as in the served app
        versions = container.report_writer.versions if stale else None
        started = time.monotonic()
        wanted = await _request(store, patients, stale=versions)
        console.print(f"{len(wanted)} patients queued for evaluation")
        if not (here or wait) or not wanted:
            return 0
        failing = await _follow(
            container.store, wanted, container.evaluations.tick if here else None, console
        )
        elapsed = time.monotonic() - started
        console.print(
            f"{len(wanted) - failing} evaluated in {elapsed:.1f} s ({len(wanted) / elapsed:.0f} patients/s); "
            f"{failing} failing (see `oncoresponse evaluations`)"
        )
        return failing
    finally:
        await container.http.aclose()
        await store.close()


async def _request(store: Store, patients: list[str], stale: Versions | None) -> set[str]:
    """The patients requested: named ones get a new request due now (a failing one is retried at once);
    all (none named) or the stale ones get one each that has none (a pending request covers the rest)."""
    from service.app.reevaluation import request_patients, stale_patients

    now = datetime.now(UTC)
    if patients:
        async with store.writing(set(patients)) as writer:
            await writer.evaluation_jobs.request(set(patients), now, timedelta(0))
        return set(patients)
    if stale is not None:
        found = await stale_patients(store, stale)
    else:
        async with store.reading() as reader:
            found = await reader.evaluation_jobs.known_patients()
    await request_patients(store, found, now)
    return set(found)


async def _follow(
    store: Store, wanted: set[str], tick: Callable[[], Awaitable[int]] | None, console: Console
) -> int:
    """A progress bar of the requested patients whose report is no longer owed; ``tick`` (the worker's)
    evaluates a batch here, else the replicas are polled. Returns how many are failing at the end."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("evaluating", total=len(wanted))
        while True:
            async with store.reading() as reader:
                pending, failing = await reader.evaluation_jobs.owed(wanted)
            progress.update(task, completed=len(wanted) - pending)
            if pending == failing:
                return failing
            if tick is None or not await tick():
                await asyncio.sleep(_FOLLOW_POLL_SECONDS)
